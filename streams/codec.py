"""Bytes on a topic <-> records, and the reason when they don't fit.

A rejection never carries the offending value, only where and why: values may be
personal data sent by mistake, and reasons travel into logs and metrics.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.alerts import Alert
from schemas.events import EVENT_TYPE_NAMES, EVENT_TYPES, CaseEvent, PlanOutcome, parse_event
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.rejection import Rejection as Rejection  # re-exported: every door imports it from here
from streams.topics import Topics

JSONValue = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None


def decode_event(
    raw: bytes | None,
    *,
    key: bytes | None = None,
    topic: str | None = None,
    partition: int | None = None,
    topics: Topics | None = None,
    policy: InputPolicy = DEFAULT_POLICY,
) -> CaseEvent | Rejection:
    """Validate one message; its key, topic and partition are checked when given."""
    if raw is None:
        return Rejection("empty", "the message has no value")
    try:  # the common case, valid bytes, parsed in one pass (about three times faster than loads + validate)
        parsed = parse_event(raw)
    except (ValidationError, RecursionError, ValueError, OverflowError):
        pass  # the slow path below gives the same rejection, with its reason, as before
    else:
        return _placed(parsed, key=key, topic=topic, partition=partition, topics=topics, policy=policy)
    document = parse_json(raw)
    if isinstance(document, Rejection):
        return document
    return validate_event(document, key=key, topic=topic, partition=partition, topics=topics, policy=policy)


# The header of an event a worker forwarded to its child's partition: where it first arrived,
# "topic:partition:offset". An event that carries it is never forwarded twice.
FORWARDED_FROM = "casewatch-forwarded-from"

Headers = Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None


@dataclass(frozen=True)
class Forward:
    """A valid event on another partition than its child's: the worker produces it unchanged
    to `partition`, the one its child_id hashes to, on the same topic. The rules do not
    depend on arrival order, so the alerts are those of an event published there."""

    event: CaseEvent
    partition: int


def decode_message(
    raw: bytes | None,
    *,
    key: bytes | None,
    topic: str,
    partition: int,
    topics: Topics,
    policy: InputPolicy = DEFAULT_POLICY,
    headers: Headers = None,
) -> CaseEvent | Forward | Rejection:
    """Validate a message read from an input topic, and say what to do with it.

    Its key must be the child ID: a message without one would be placed and stored under no
    child (or a made-up one), so it is refused. A valid event on the wrong partition (a
    producer with another partitioner) is to be forwarded, unless it was forwarded already:
    then the workers disagree on the partition count, and forwarding it again would loop."""
    if key is None:
        return Rejection("missing_key", "the message has no key: publish each event keyed by its child_id")
    event = decode_event(raw, key=key, topic=topic, topics=topics, policy=policy)
    if isinstance(event, Rejection):
        return event
    home = topics.partition_for(event.child_id)
    if partition == home:
        return event
    if was_forwarded(headers):
        return _wrong_partition(
            partition,
            home,
            "it was forwarded here already (header casewatch-forwarded-from), so the partition counts disagree: "
            "check every worker's CASEWATCH_PARTITIONS against the topic's partitions",
        )
    return Forward(event, home)


def forwarded_from(topic: str, partition: int, offset: int) -> tuple[str, bytes]:
    """The header a forwarded event carries."""
    return FORWARDED_FROM, f"{topic}:{partition}:{offset}".encode()


def forwarded_headers(headers: Headers, *, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    """The headers of the forwarded copy: the message's own, unchanged, and where it came from."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
    return [*pairs, forwarded_from(topic, partition, offset)]


def was_forwarded(headers: Headers) -> bool:
    """Whether a message's headers (Kafka clients give pairs; some a mapping) mark it forwarded."""
    if not headers:
        return False
    names = headers.keys() if isinstance(headers, Mapping) else (name for name, _ in headers)
    return FORWARDED_FROM in names


def _wrong_partition(partition: int, home: int, advice: str) -> Rejection:
    return Rejection("wrong_partition", f"on partition {partition}, but its child_id belongs on {home}: {advice}")


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
    policy: InputPolicy = DEFAULT_POLICY,
) -> CaseEvent | Rejection:
    """Validate one already-parsed JSON value, such as an element of an HTTP batch.

    The contract first (schemas.events), then the council's admission policy (future
    dates, child ID pattern, teams), then where the message was found."""
    if not isinstance(document, dict):
        return Rejection("invalid_json", "not a JSON object")
    kind = document.get("event_type")
    if kind not in EVENT_TYPE_NAMES:
        return Rejection("unknown_event_type", f"event_type: {_kind_problem(kind)}")
    try:
        parsed = parse_event(document)
    except (ValidationError, RecursionError) as error:
        return Rejection("schema", describe_validation_error(error))
    except (ValueError, OverflowError):  # pydantic's own datetime arithmetic, e.g. 9999-12-31T23:59:59-14:00
        return Rejection("schema", "a date or time is outside the range casewatch can read")
    return _placed(parsed, key=key, topic=topic, partition=partition, topics=topics, policy=policy)


def _placed(
    parsed: CaseEvent,
    *,
    key: bytes | None,
    topic: str | None,
    partition: int | None,
    topics: Topics | None,
    policy: InputPolicy,
) -> CaseEvent | Rejection:
    """A valid event through the admission policy, then checked against where it was found."""
    admitted = policy.admit(parsed)
    if isinstance(admitted, Rejection):
        return admitted
    event = admitted
    if topic is not None and topics is not None and not topics.carries(topic, event.event_type):
        return Rejection("wrong_topic", f"a {event.event_type} event does not belong on {topic}")
    if key is not None and key != event.child_id.encode():
        return Rejection("key_mismatch", "the message key is not the event's child_id")
    if partition is not None and topics is not None and partition != topics.partition_for(event.child_id):
        return _wrong_partition(
            partition,
            topics.partition_for(event.child_id),
            "publish with the murmur2 partitioner (the Java client's default)",
        )
    return event


def describe_validation_error(error: ValidationError | RecursionError) -> str:
    """'field: message' for each problem, naming only fields the contract knows.

    An unknown key is itself data someone typed (a name, a note), so it is never echoed:
    it is counted as "an unknown field". Nor is a message that quotes the input.
    """
    if isinstance(error, RecursionError):
        return "event: nested too deeply"
    parts: list[str] = []
    unknown = 0
    for item in error.errors(include_url=False):
        if item["type"] == "extra_forbidden":
            unknown += 1
            continue
        where = ".".join(_location(p) for p in item["loc"] if p not in _UNION_TAGS) or "event"
        parts.append(f"{where}: {_message(item)}")
    if unknown:
        fields = "an unknown field" if unknown == 1 else f"{unknown} unknown fields"
        parts.append(f"event: has {fields}, which is refused (its name is not shown: it may be personal data)")
    return "; ".join(dict.fromkeys(parts))


_UNION_TAGS = EVENT_TYPE_NAMES
_MODELS: tuple[type[BaseModel], ...] = (*EVENT_TYPES, PlanOutcome)
_KNOWN_FIELDS: frozenset[str] = frozenset(name for model in _MODELS for name in model.model_fields)


def _location(part: str | int) -> str:
    return str(part) if isinstance(part, int) or part in _KNOWN_FIELDS else "(unknown field)"


def _message(item: Any) -> str:
    """Pydantic's message, unless it quotes what was sent (a union tag, an enum value...)."""
    message = str(item["msg"])
    given = item.get("input")
    if isinstance(given, str) and len(given) >= 2 and given in message:
        return f"is not valid ({item['type']})"
    unknown_keys = (
        (k for k in given if isinstance(k, str) and k not in _KNOWN_FIELDS) if isinstance(given, dict) else ()
    )
    if any(len(k) >= 2 and k in message for k in unknown_keys):
        return f"is not valid ({item['type']})"
    return message


def _json_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return "a number too long to read"


def _kind_problem(value: Any) -> str:
    """What is wrong with event_type, never the value itself: a short word may still be a name."""
    expected = ", ".join(sorted(EVENT_TYPE_NAMES))
    if value is None:
        return f"is missing (one of {expected})"
    return f"is not a known event type (one of {expected})"


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
