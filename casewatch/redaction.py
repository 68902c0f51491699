"""Secrets never reach a log line or a message: each is registered when it is read, and
every line (its message and any traceback) is scrubbed of them before it is written.

The secrets are the values the configuration names by environment variable (SMTP
passwords, webhook keys, Teams URLs, which are credentials), the API tokens and the
database password. Masking at the source stays the first defence (messages name the
variable, not its value); this filter catches what a library's exception text repeats.
"""

import logging
import threading
from typing import Any

REDACTED = "[redacted]"
# Shorter values would scrub ordinary words out of every line; real secrets are longer.
MIN_SECRET_CHARS = 6

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # a secret inside another: the longer first
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def mask_database_url(url: str) -> str:
    """The URL with its password shown as ***, for anything printed or logged."""
    parsed = _parse_url(url)
    return "(an unreadable database URL)" if parsed is None else str(parsed.render_as_string(hide_password=True))


def database_password(url: str) -> str | None:
    parsed = _parse_url(url)
    return None if parsed is None or parsed.password is None else str(parsed.password)


def _parse_url(url: str) -> Any:
    from sqlalchemy.engine import make_url  # here, so `casewatch --help` does not load SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:
        return None


class RedactingFilter(logging.Filter):
    """Scrubs a record's message and traceback; installed on every handler of the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # formatted and scrubbed above: never formatted again raw
        return True


def install_log_redaction() -> None:
    """Add the filter to the root logger's handlers (call after logging.basicConfig)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
