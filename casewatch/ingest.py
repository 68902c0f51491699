"""`casewatch ingest`: source files into the topics, with a report of what was refused.

The reading loop (`read_events`) is shared with `casewatch replay`, so both see the same
events and the same rejections from the same files.
"""

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agents.readiness import Readiness, table_lines
from casewatch import errors
from casewatch.config_file import load_input_policy
from casewatch.output import add_format, print_json
from casewatch.progress import Progress
from casewatch.settings import Settings, SettingsError
from schemas.events import CaseEvent
from streams.sources import FORMATS, SourceOptions, SourceRejection, read_source

if TYPE_CHECKING:  # kafka is imported only when publishing: every other command starts faster
    from streams.publish import Publisher

# Each rejection is printed up to this many; the rest are counted in the summary (and,
# when publishing, every one is on the dead-letter topic).
SHOWN_REJECTIONS = 100


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, object]:
        return {"accepted": self.accepted, "rejected": self.rejected_total, "rejected_by_reason": dict(self.rejected),
                "seconds": round(self.seconds, 3)}  # fmt: skip

    @property
    def exit_code(self) -> int:
        """3 when any record was refused (the good ones were still read): a script must notice a partial file."""
        return errors.REJECTED if self.rejected_total else errors.OK

    def summary(self) -> str:
        rate = self.accepted / self.seconds if self.seconds > 0 else 0.0
        lines = [f"accepted {self.accepted} events, rejected {self.rejected_total} ({rate:,.0f} events/s)"]
        lines += [
            f"  rejected {n}: {reason}" for reason, n in sorted(self.rejected.items(), key=lambda i: (-i[1], i[0]))
        ]
        return "\n".join(lines)


def read_events(
    paths: list[Path],
    options: SourceOptions,
    report: IngestReport,
    *,
    publisher: "Publisher | None" = None,
    out: TextIO = sys.stderr,
) -> Iterator[CaseEvent]:
    """The valid events of every file; each rejection is counted, shown and dead-lettered if publishing.

    On a terminal, a progress line is drawn on `out` meanwhile (casewatch.progress).
    """
    started = time.monotonic()
    progress = Progress(out)
    for path in paths:
        for item in read_source(path, options):
            if isinstance(item, SourceRejection):
                report.rejected[item.key] += 1
                progress.close()
                if report.rejected_total <= SHOWN_REJECTIONS:
                    print(item.describe(), file=out)
                elif report.rejected_total == SHOWN_REJECTIONS + 1:
                    print(f"... further rejections are only counted (first {SHOWN_REJECTIONS} shown)", file=out)
                if publisher is not None:
                    publisher.rejection(item.raw, item.as_rejection(), origin=f"{item.file}:{item.position}")
                continue
            report.accepted += 1
            progress.update(report.accepted, f"reading {path.name}")
            yield item
    progress.close()
    report.seconds = time.monotonic() - started


def ingest_files(
    paths: list[Path],
    publisher: "Publisher | None",
    *,
    options: SourceOptions | None = None,
    out: TextIO = sys.stderr,
    readiness: Readiness | None = None,
) -> IngestReport:
    """Validate every record; publish the good ones (and dead-letter the rest) unless dry-run.

    With `readiness`, every good event is also shown to it, for the per-rule data-readiness report.
    """
    report = IngestReport()
    events = read_events(paths, options or SourceOptions(), report, publisher=publisher, out=out)
    for event in events:
        if readiness is not None:
            readiness.see(event)
        if publisher is not None:
            publisher.event(event)
    if publisher is not None:
        publisher.flush()
    return report


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Files to read, and what they may not say about themselves (shared by ingest and replay)."""
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="FILE",
        help=f"files to read; the format ({', '.join(FORMATS)}) is detected from each",
    )
    add_source_options(parser)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """What files may not say about themselves (also for `dead-letters redrive --file`)."""
    parser.add_argument("--authority", help="authority code for event ids when the file names none (CIN: header LEA)")
    parser.add_argument("--team", help="team for records without one (default: 'LA <LEA code>', or 'LA')")


def source_options(args: argparse.Namespace, settings: Settings) -> SourceOptions:
    """The command line's options, and the configuration file's admission policy (`teams:`, `input:`)."""
    return SourceOptions(
        authority=args.authority, team=args.team, today=date.today(), policy=load_input_policy(settings)
    )


def missing_file(paths: list[Path]) -> bool:
    """Say so and return True when a path is not a file: a typo should stop the run before it starts."""
    for path in paths:
        if not path.is_file():
            print(f"casewatch: no such file: {path}", file=sys.stderr)
            return True
    return False


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and report, publish nothing; ends with which rules can run on these files "
                             "and what each silent one lacks")  # fmt: skip
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 3 when any record was refused (IngestReport.exit_code), 0 when every one was accepted."""
    if missing_file(args.paths):
        return errors.USAGE
    if args.dry_run:
        readiness = Readiness()
        report = ingest_files(args.paths, None, options=source_options(args, settings), readiness=readiness)
        if args.format == "json":
            print_json(report.to_dict() | {"rules": {r: ready.to_dict() for r, ready in readiness.report().items()}})
        else:
            print(report.summary())
            print("\n".join(table_lines(readiness.report())))
        return report.exit_code
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set (try --dry-run to validate only)")
    report = publish_files(args.paths, args, settings.bootstrap_servers, settings)
    print_json(report.to_dict()) if args.format == "json" else print(report.summary())
    return report.exit_code


def publish_files(paths: list[Path], args: argparse.Namespace, bootstrap: str, settings: Settings) -> IngestReport:
    """Validate and publish files' events, dead-lettering the rest (ingest; `dead-letters redrive --file`)."""
    from streams.publish import Publisher

    with Publisher(bootstrap, settings.topics, security=settings.kafka_security) as publisher:
        return ingest_files(paths, publisher, options=source_options(args, settings))
