"""Sign-in on the page: a signed session cookie, and the CSRF token of every form.

The cookie holds a name, a random nonce and an expiry, signed with HMAC-SHA256 under the
server's session key (CASEWATCH_SESSION_KEY, or a random key per process: then a restart
signs everyone out). It never holds a token or a password; the name is looked up in the
configuration on every request, so an identity removed from it is signed out at once.
Signing out records the nonce until the expiry (casewatch/http/signed_out.py), so a copy of
the cookie stops working then too.
A form's CSRF token is an HMAC of the session's nonce: another site can neither read it
nor make it, and the cookie is SameSite=Strict besides.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "casewatch_session"
PRE_COOKIE = "casewatch_signin"  # the sign-in form's own CSRF seed, before there is a session


@dataclass(frozen=True)
class Session:
    name: str
    nonce: str
    expires: int  # seconds since the epoch


class Sessions:
    def __init__(self, key: bytes, *, hours: int) -> None:
        self.key = key
        self.seconds = hours * 3600

    def issue(self, name: str, *, now: float | None = None) -> str:
        claims = {"n": name, "k": secrets.token_hex(16), "e": int((now or time.time()) + self.seconds)}
        body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str, *, now: float | None = None) -> Session | None:
        """The session of a cookie this server signed and that has not expired, else None."""
        body, _, signature = cookie.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(body))
            name, nonce, expires = str(claims["n"]), str(claims["k"]), int(claims["e"])
        except (ValueError, KeyError, TypeError):
            return None
        return Session(name, nonce, expires) if (now or time.time()) < expires else None

    def csrf(self, seed: str) -> str:
        return self._sign("csrf:" + seed)

    def csrf_matches(self, seed: str | None, presented: str) -> bool:
        return seed is not None and hmac.compare_digest(presented.encode(), self.csrf(seed).encode())

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()
