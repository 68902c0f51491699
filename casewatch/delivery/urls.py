"""Where a receiver may point: checked when the configuration is loaded or a channel is built.

An alert leaves casewatch only over https to a named host. Plain http is for a receiver on
this machine (loopback), and only when the configuration says so. Link-local addresses and
the cloud metadata services are refused: a receiver URL pointed at one would hand alerts,
and the signature, to whatever answers there. The messages never repeat the URL itself,
which for Teams is a credential.

The check reads the URL as written; a host name is not resolved here (a name that later
resolves into a refused range is outside what this check can see: docs/security.md).
"""

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.azure.internal", "instance-data"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


class ReceiverUrlError(ValueError):
    """A receiver URL that casewatch will not send to; the message says why, without the URL."""


def check_receiver_url(url: str, *, allow_plain_http: bool = False) -> str:
    """`url` when alerts may be sent there, else ReceiverUrlError."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  # raises ValueError on a port that is not a number
    except ValueError:
        raise ReceiverUrlError("is not a URL casewatch can read") from None
    if parts.scheme not in ("https", "http"):
        raise ReceiverUrlError("must start with https:// (no other scheme is sent to)")
    if not host:
        raise ReceiverUrlError("has no host")
    if parts.username is not None or parts.password is not None:
        raise ReceiverUrlError("must not carry a user name or password before the host")
    address = _address(host)
    if host in METADATA_NAMES or address in METADATA_ADDRESSES:
        raise ReceiverUrlError("points at a cloud metadata service")
    if address is not None and (address.is_link_local or address.is_unspecified or address.is_multicast):
        raise ReceiverUrlError("points at a link-local, unspecified or multicast address")
    if parts.scheme == "http":
        loopback = host in LOOPBACK_NAMES or (address is not None and address.is_loopback)
        if not loopback:
            raise ReceiverUrlError("must use https:// (plain http is allowed only to this machine, 127.0.0.1)")
        if not allow_plain_http:
            raise ReceiverUrlError("uses plain http: set allow_plain_http: true to allow it to this machine")
    return url.strip()


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:169.254.169.254 is the metadata service too
    return address
