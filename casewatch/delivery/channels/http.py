"""POST a JSON body and classify the answer (shared by the Teams and webhook channels).

2xx is delivered; 408, 425, 429 and 5xx, timeouts and refused connections are worth
retrying (with the receiver's Retry-After, when it gives one); any other answer,
a redirect included, is not: a retry would be refused the same way.
"""

import http.client
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from casewatch import __version__
from casewatch.delivery.channels.base import SendResult

RETRYABLE_STATUS = frozenset({408, 425, 429})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a webhook that moved must be reconfigured, not followed with our payload


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: timedelta) -> SendResult:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", f"casewatch/{__version__}")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with _opener.open(request, timeout=timeout.total_seconds()) as response:
            response.read(65_536)
        return SendResult.sent()
    except urllib.error.HTTPError as error:
        retryable = error.code in RETRYABLE_STATUS or error.code >= 500
        retry_after = parse_retry_after(error.headers.get("Retry-After"), datetime.now(UTC))
        return SendResult.failed(f"HTTP {error.code}", retryable=retryable, retry_after=retry_after)
    except urllib.error.URLError as error:
        return SendResult.failed(f"cannot reach the receiver: {error.reason}", retryable=True)
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        return SendResult.failed(f"{type(error).__name__} talking to the receiver", retryable=True)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - now)
