"""Hashed passwords for the page's local sign-in (demo, tests, a council without single sign-on).

A password file holds one line per person, `name:scrypt$n$r$p$salt$hash` (hex), made with
`casewatch password NAME`; roles and teams are the configuration's (`access.users`). Only
the hash is kept, scrypt's: slow to guess by design. Checking takes the same time whether
or not the name is known.
"""

import hashlib
import hmac
import secrets

N, R, P, LENGTH = 2**14, 8, 1, 32


class PasswordFileError(ValueError):
    """A line of the password file cannot be read; the message gives its number, never its text."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=LENGTH)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(encoded: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(bytes.fromhex(digest)))  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(found, bytes.fromhex(digest))


# Checked against when the name is unknown, so that an unknown name takes as long as a known one.
_DECOY = hash_password(secrets.token_hex(16))


def check(passwords: dict[str, str], name: str, password: str) -> bool:
    return verify_password(passwords.get(name, _DECOY), password) and name in passwords


def parse_password_file(text: str) -> dict[str, str]:
    """name -> encoded hash; blank lines and # comments are skipped."""
    found = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, encoded = line.partition(":")
        if not encoded.startswith("scrypt$") or encoded.count("$") != 5:
            raise PasswordFileError(f"line {number} is not name:scrypt$... (make one with `casewatch password NAME`)")
        found[name] = encoded
    return found
