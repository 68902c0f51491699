"""JSON-lines files of native events: one event per line, validated like a live message."""

import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from schemas.events import CaseEvent
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.batch import MAX_EVENT_BYTES
from streams.codec import Rejection, decode_event


@dataclass(frozen=True)
class Line:
    """One line of a file: its number, raw bytes, and what it decoded to."""

    number: int
    raw: bytes
    result: CaseEvent | Rejection


def read_jsonl(path: Path, *, policy: InputPolicy = DEFAULT_POLICY) -> Iterator[Line]:
    """Stream a file line by line (large files are never loaded whole); blank lines are skipped.

    A line over MAX_EVENT_BYTES is never held whole: it is refused (with no bytes kept, so its
    dead-letter record stays small) and the lines after it are read as usual."""
    with open(path, "rb") as handle:
        number = 0
        while True:
            chunk, number = _decode_chunk(handle, number, policy)
            if not chunk:
                return
            yield from chunk


# Lines decoded between two yields. Each event is a dozen new objects the caller usually
# keeps (replay holds them all), so the cyclic collector, left on, rescans the growing heap
# again and again: a quarter of the parsing time. It is paused while a chunk is decoded and
# restored before the lines are handed over, so the caller's own code runs as it would.
CHUNK_LINES = 1000


def _decode_chunk(handle: BinaryIO, number: int, policy: InputPolicy) -> tuple[list[Line], int]:
    """Up to CHUNK_LINES non-blank lines after line `number`, and the number of the last one read."""
    chunk: list[Line] = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        while len(chunk) < CHUNK_LINES and (raw := handle.readline(MAX_EVENT_BYTES + 1)):
            number += 1
            if len(raw) > MAX_EVENT_BYTES and not raw.endswith(b"\n"):
                while (rest := handle.readline(MAX_EVENT_BYTES)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of the line, a bounded piece at a time
                chunk.append(Line(number, b"", TOO_LARGE))
                continue
            raw = raw.strip()
            if raw:
                chunk.append(Line(number, raw, decode_event(raw, policy=policy)))
    finally:
        if collecting:
            gc.enable()
    return chunk, number


TOO_LARGE = Rejection("too_large", f"the line is over {MAX_EVENT_BYTES} bytes, more than any event: it was not read")


def write_jsonl(events: Iterable[CaseEvent], out: TextIO) -> int:
    """Write events one per line, in the same JSON the topics carry; returns the count."""
    count = 0
    for event in events:
        out.write(event.model_dump_json())
        out.write("\n")
        count += 1
    return count
