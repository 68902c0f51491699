"""Bytes on a topic <-> records, and the reason when they don't fit.

A rejection never carries the offending value, only where and why: values may be
personal data sent by mistake, and reasons travel into logs and metrics.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.alerts import Alert
from schemas.events import EVENT_TYPE_NAMES, CaseEvent, parse_event
from streams.topics import Topics

JSONValue = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused. `code` is a short label, safe as a metric label."""

    code: str
    reason: str


def decode_event(
    raw: bytes | None,
    *,
    key: bytes | None = None,
    topic: str | None = None,
    partition: int | None = None,
    topics: Topics | None = None,
) -> CaseEvent | Rejection:
    """Validate one message; its key, topic and partition are checked when given."""
    if raw is None:
        return Rejection("empty", "the message has no value")
    document = parse_json(raw)
    if isinstance(document, Rejection):
        return document
    return validate_event(document, key=key, topic=topic, partition=partition, topics=topics)


def decode_message(
    raw: bytes | None, *, key: bytes | None, topic: str, partition: int, topics: Topics
) -> CaseEvent | Rejection:
    """Validate a message read from an input topic. Its key must be the child ID: a message
    without one would be placed and stored under no child (or a made-up one), so it is refused."""
    if key is None:
        return Rejection("missing_key", "the message has no key: publish each event keyed by its child_id")
    return decode_event(raw, key=key, topic=topic, partition=partition, topics=topics)


def parse_json(raw: bytes) -> JSONValue | Rejection:
    """Any JSON value, or why the bytes are not JSON; never raises, whatever the bytes."""
    try:
        document: JSONValue = json.loads(raw)
    except (ValueError, RecursionError) as error:  # ValueError covers bad UTF-8 and over-long integers
        return Rejection("invalid_json", f"not valid JSON: {_json_error(error)}")
    return document


def validate_event(
    document: JSONValue,
    *,
    key: bytes | None = None,
    topic: str | None = None,
    partition: int | None = None,
    topics: Topics | None = None,
) -> CaseEvent | Rejection:
    """Validate one already-parsed JSON value, such as an element of an HTTP batch."""
    if not isinstance(document, dict):
        return Rejection("invalid_json", "not a JSON object")
    kind = document.get("event_type")
    if kind not in EVENT_TYPE_NAMES:
        return Rejection("unknown_event_type", f"unknown event_type {_code_or_type(kind)}")
    try:
        event = parse_event(document)
    except ValidationError as error:
        return Rejection("schema", describe_validation_error(error))
    if topic is not None and topics is not None and not topics.carries(topic, event.event_type):
        return Rejection("wrong_topic", f"a {event.event_type} event does not belong on {topic}")
    if key is not None and key != event.child_id.encode():
        return Rejection("key_mismatch", "the message key is not the event's child_id")
    if partition is not None and topics is not None and partition != topics.partition_for(event.child_id):
        return Rejection(
            "wrong_partition",
            f"on partition {partition}, but its child_id belongs on {topics.partition_for(event.child_id)}: "
            "publish with the murmur2 partitioner (the Java client's default)",
        )
    return event


def describe_validation_error(error: ValidationError) -> str:
    """'field: message' for each problem, without the input values."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in item["loc"] if p not in _UNION_TAGS) or "event"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


_UNION_TAGS = EVENT_TYPE_NAMES


def _json_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return "a number too long to read"


def _code_or_type(value: Any) -> str:
    """Show a short code-like value; anything else only by its type."""
    if isinstance(value, str) and value.isascii() and value.replace("_", "").isalnum() and len(value) <= 32:
        return repr(value)
    return f"(a {type(value).__name__})" if value is not None else "(missing)"


def encode(record: BaseModel) -> bytes:
    return record.model_dump_json().encode()


def decode_alert(raw: bytes) -> Alert:
    return Alert.model_validate_json(raw)


# A dead-letter record is small whatever it describes: the reason and origin are cut to
# these lengths, so the record always fits a Kafka message (default 1,000,000 bytes).
MAX_REASON_CHARS = 1000
MAX_ORIGIN_CHARS = 300


def dead_letter(
    raw: bytes | None,
    rejection: Rejection,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> bytes:
    """The dead-letter record: the reason, where the message came from, and a digest of it.

    Never the original bytes: a refused message may hold personal data sent by mistake
    (a name, a UPN, a note), and the dead-letter topic has no access control of its own.
    Its SHA-256 and size let the data team find the message at source and tell two apart.
    At most a few kilobytes, whatever the input.
    """
    record = {
        "code": rejection.code[:64],
        "reason": _cut(rejection.reason, MAX_REASON_CHARS),
        "topic": _cut(topic, MAX_ORIGIN_CHARS) if topic is not None else None,
        "partition": partition,
        "offset": offset,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "original_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "original_size": len(raw) if raw is not None else None,
    }
    return json.dumps(record).encode()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
