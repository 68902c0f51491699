"""JSON-lines files of native events: one event per line, validated like a live message."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from schemas.events import CaseEvent
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.codec import Rejection, decode_event


@dataclass(frozen=True)
class Line:
    """One line of a file: its number, raw bytes, and what it decoded to."""

    number: int
    raw: bytes
    result: CaseEvent | Rejection


def read_jsonl(path: Path, *, policy: InputPolicy = DEFAULT_POLICY) -> Iterator[Line]:
    """Stream a file line by line (large files are never loaded whole); blank lines are skipped."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.strip()
            if raw:
                yield Line(number, raw, decode_event(raw, policy=policy))


def write_jsonl(events: Iterable[CaseEvent], out: TextIO) -> int:
    """Write events one per line, in the same JSON the topics carry; returns the count."""
    count = 0
    for event in events:
        out.write(event.model_dump_json())
        out.write("\n")
        count += 1
    return count
