"""`casewatch ingest`: files of events into the topics, with a report of what was refused."""

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from streams.codec import Rejection
from streams.jsonl import read_jsonl
from streams.publish import Publisher


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.accepted / self.seconds if self.seconds > 0 else 0.0
        lines = [f"accepted {self.accepted} events, rejected {sum(self.rejected.values())} ({rate:,.0f} events/s)"]
        lines += [f"  rejected {n}: {code}" for code, n in self.rejected.most_common()]
        return "\n".join(lines)


def ingest_files(
    paths: list[Path], publisher: Publisher | None, *, out: TextIO = sys.stderr, progress_every: int = 50_000
) -> IngestReport:
    """Validate every line; publish the good ones (and dead-letter the rest) unless dry-run."""
    report = IngestReport()
    started = time.monotonic()
    for path in paths:
        for line in read_jsonl(path):
            if isinstance(line.result, Rejection):
                report.rejected[line.result.code] += 1
                print(f"{path}:{line.number}: rejected ({line.result.code}): {line.result.reason}", file=out)
                if publisher is not None:
                    publisher.rejection(line.raw, line.result, origin=f"{path.name}:{line.number}")
                continue
            report.accepted += 1
            if publisher is not None:
                publisher.event(line.result)
            if report.accepted % progress_every == 0:
                print(f"... {report.accepted:,} events from {path}", file=out, flush=True)
    if publisher is not None:
        publisher.flush()
    report.seconds = time.monotonic() - started
    return report
