"""`casewatch what-if`: replay JSON-lines event files with and without changed rule settings.

Thin: it reads the files (streams.jsonl), loads the rules configuration as the worker
does (casewatch.config_file), and prints what agents.whatif finds.
"""

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from agents.rules import RulesConfigError
from agents.whatif import parse_overrides, what_if
from casewatch.config_file import load_rules
from casewatch.settings import Settings, SettingsError
from schemas.events import CaseEvent
from streams.codec import Rejection
from streams.jsonl import read_jsonl


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="JSON-lines event files")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        required=True,
        metavar="KEY=VALUE",
        help="a rules setting to change, e.g. agreement_review_overdue.grace_days=14 (repeatable)",
    )
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        metavar="DATE",
        help="leave out events after this day and stop the clock there (default: the last event)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    config = load_rules(settings)
    try:
        overrides = parse_overrides(args.overrides)
    except RulesConfigError as error:
        raise SettingsError(f"--set {error}") from None
    events: list[CaseEvent] = []
    rejected = 0
    for path in args.paths:
        if not path.is_file():
            raise SettingsError(f"no such file: {path}")
        for line in read_jsonl(path):
            if isinstance(line.result, Rejection):
                rejected += 1
                print(f"{path}:{line.number}: rejected ({line.result.code}): {line.result.reason}", file=sys.stderr)
            else:
                events.append(line.result)
    try:
        report = what_if(events, config, overrides, as_of=args.as_of)
    except RulesConfigError as error:
        raise SettingsError(f"--set {error}") from None
    if args.format == "json":
        json.dump({"events": report.events, "rejected": rejected, "overrides": report.overrides,
                   "rules": [asdict(c) for c in report.changes]}, sys.stdout, indent=2)  # fmt: skip
        print()
        return 0
    settings_text = ", ".join(f"{k}={v}" for k, v in report.overrides.items())
    print(f"what if {settings_text}  ({report.events:,} events, {rejected:,} rejected)")
    print(f"{'rule':<38} {'before':>7} {'after':>7} {'added':>7} {'removed':>8} {'changed':>8}")
    for change in report.changes:
        print(f"{change.rule:<38} {change.before:>7} {change.after:>7} {change.added:>7} {change.removed:>8} "
              f"{change.changed:>8}")  # fmt: skip
    return 0
