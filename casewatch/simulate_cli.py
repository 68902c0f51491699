"""`casewatch simulate`: the simulator's events written in any source format casewatch reads.

So every adapter can be tried at size: `--format cin-census` writes a census return,
`agreements-csv` the agreements extract, `jsonl` native events.
"""

import argparse
import io
import sys
from datetime import timedelta
from typing import BinaryIO

from casewatch.settings import Settings
from schemas.events import CaseEvent
from streams.jsonl import write_jsonl
from streams.simulate import SimulationSpec, simulate
from streams.sources.agreements_csv import write_agreements_csv
from streams.sources.cin_census_writer import write_cin_census

FORMATS = ("jsonl", "cin-census", "agreements-csv")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="jsonl",
                        help="jsonl (native events, default), cin-census (XML return), agreements-csv")  # fmt: skip
    parser.add_argument("--lea", default="999", help="LA code in a cin-census header (default 999)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    spec = SimulationSpec(children=args.children, seed=args.seed, start=args.start, months=args.months)
    events = simulate(spec)
    if args.output is None:
        write(args.format, spec, events, sys.stdout.buffer, lea=args.lea)
        sys.stdout.buffer.flush()
        return 0
    with open(args.output, "wb") as out:
        count, unit = write(args.format, spec, events, out, lea=args.lea)
    print(f"wrote {count:,} {unit} for {args.children:,} children to {args.output}", file=sys.stderr)
    return 0


def write(format: str, spec: SimulationSpec, events: list[CaseEvent], out: BinaryIO, *, lea: str) -> tuple[int, str]:
    """Write `events` in `format`; returns how many records of what were written."""
    if format == "cin-census":
        # Everything the simulator makes happens before spec.end: the census is taken the day before.
        return write_cin_census(events, out, reference_date=spec.end - timedelta(days=1), lea=lea), "episodes"
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        if format == "agreements-csv":
            return write_agreements_csv(events, text), "agreements"
        return write_jsonl(events, text), "events"
    finally:
        text.flush()
        text.detach()  # the caller owns `out`
