"""A batch of live events, as the HTTP endpoint receives it: split, validated one by one.

Pure: bytes in, one verdict per event out. Each event goes through the same codec as a
Kafka message or a line of a file (streams.codec), so a batch accepts and refuses exactly
what the rest of casewatch does. Publishing the verdicts is the caller's business.
"""

import json
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from schemas.events import CaseEvent, EventId
from streams.codec import JSONValue, Rejection, parse_json, validate_event

JSON_ARRAY = "application/json"
NDJSON = "application/x-ndjson"
MEDIA_TYPES = (JSON_ARRAY, NDJSON)

Status = Literal["accepted", "rejected", "duplicate"]

# One event is a few hundred bytes: anything near this cap is not an event, and is refused
# without reading it further (its dead-letter record has no digest of it).
MAX_EVENT_BYTES = 512 * 1024

_event_id: TypeAdapter[str] = TypeAdapter(EventId)
_JSON_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}  # fmt: skip


class BatchError(ValueError):
    """The body is not a batch at all (the endpoint answers 400); the message never echoes it."""


@dataclass(frozen=True)
class Verdict:
    """What became of the event at `index` (0-based, in the order sent; blank NDJSON lines don't count)."""

    index: int
    raw: bytes | None  # None when too large to read further
    result: CaseEvent | Rejection
    # Only when it is shaped like an id: a rejected event's id is echoed back, never prose.
    event_id: str | None
    # The index of the accepted event with the same event_id earlier in the batch.
    duplicate_of: int | None = None

    @property
    def status(self) -> Status:
        if self.duplicate_of is not None:
            return "duplicate"
        return "rejected" if isinstance(self.result, Rejection) else "accepted"


def read_batch(body: bytes, media_type: str) -> list[Verdict]:
    """One verdict per event of a JSON array or NDJSON body; BatchError when it is neither."""
    if media_type == JSON_ARRAY:
        verdicts = _json_array(body)
    elif media_type == NDJSON:
        verdicts = _ndjson(body)
    else:
        raise ValueError(f"not a batch media type: {media_type!r}")
    if not verdicts:
        raise BatchError("the batch holds no events")
    return _mark_duplicates(verdicts)


def _json_array(body: bytes) -> list[Verdict]:
    document = parse_json(body)
    if isinstance(document, Rejection):
        raise BatchError(f"the body is {document.reason}")
    if not isinstance(document, list):
        raise BatchError(
            f"a {JSON_ARRAY} batch is a JSON array of events, not {_JSON_KINDS[type(document)]}; "
            "wrap a single event in [ ]"
        )
    # The dead-letter record has a digest of each element's own bytes, re-encoded from what was parsed.
    return [_verdict(i, json.dumps(element).encode(), element) for i, element in enumerate(document)]


def _ndjson(body: bytes) -> list[Verdict]:
    lines = (line.strip() for line in body.split(b"\n"))
    verdicts = []
    for index, line in enumerate(line for line in lines if line):
        document = parse_json(line)  # a bad line is that event's rejection, not the batch's
        verdicts.append(_verdict(index, line, document))
    return verdicts


def _verdict(index: int, raw: bytes, document: JSONValue | Rejection) -> Verdict:
    if len(raw) > MAX_EVENT_BYTES:
        too_large = Rejection("too_large", f"the event is {len(raw)} bytes; at most {MAX_EVENT_BYTES} are accepted")
        return Verdict(index, None, too_large, None)
    if isinstance(document, Rejection):
        return Verdict(index, raw, document, None)
    result = validate_event(document)
    event_id = result.event_id if not isinstance(result, Rejection) else _readable_event_id(document)
    return Verdict(index, raw, result, event_id)


def _readable_event_id(document: JSONValue) -> str | None:
    if not isinstance(document, dict):
        return None
    try:
        return _event_id.validate_python(document.get("event_id"), strict=True)
    except ValidationError:
        return None


def _mark_duplicates(verdicts: list[Verdict]) -> list[Verdict]:
    """A second accepted event with an event_id already accepted in this batch is a duplicate.

    Across batches nothing is remembered here: ids are stable and the engine is idempotent,
    so a redelivered event changes nothing downstream.
    """
    first: dict[str, int] = {}
    marked = []
    for verdict in verdicts:
        event_id = verdict.event_id
        if verdict.status == "accepted" and event_id is not None:
            if event_id in first:
                verdict = replace(verdict, duplicate_of=first[event_id])
            else:
                first[event_id] = verdict.index
        marked.append(verdict)
    return marked
