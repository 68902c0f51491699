"""`casewatch replay`: the rules over source files, offline, with the DfE re-referral figures.

It reads and validates exactly as `casewatch ingest` does (`casewatch.ingest.read_events`)
and runs `agents.replay.replay`, the driver over the very `engine.apply` the Faust agent
calls: what it prints is what the live worker would raise from the same files.
"""

import argparse
import json
import sys
from datetime import date
from typing import Any

from agents.replay import replay
from agents.stats import referral_stats
from casewatch.ingest import IngestReport, add_source_arguments, missing_file, read_events, source_options
from casewatch.settings import Settings
from schemas.alerts import Alert


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="DATE",
                        help="ignore events after this day (ISO date), to see what was known then")  # fmt: skip
    parser.add_argument("--format", choices=("json", "table"), default="table",
                        help="json: one document on standard output (default: table)")  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if missing_file(args.paths):
        return 2
    report = IngestReport()
    events = list(read_events(args.paths, source_options(args), report))
    if args.as_of is not None:
        events = [e for e in events if e.day <= args.as_of]
    result = replay(events, settings.rules)
    alerts = sorted(result.alerts.values(), key=lambda a: (a.occurred_at, a.alert_id))
    document = {
        "events": result.events,
        "rejected": report.rejected_total,
        "alerts": [a.model_dump(mode="json") for a in alerts],
        "stats": referral_stats(events).to_dict(),
    }
    if args.format == "json":
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _table(document, alerts)
    return 0


def _table(document: dict[str, Any], alerts: list[Alert]) -> None:
    stats = document["stats"]
    print(f"events {document['events']:,}  rejected {document['rejected']:,}")
    print(f"children {stats['children']:,}  referrals {stats['referrals']:,}  re-referrals {stats['re_referrals']:,} "
          f"({stats['re_referral_rate']:.1%}; DfE definition, 12 calendar months)")  # fmt: skip
    print(f"alerts {len(alerts):,}")
    if alerts:
        print(f"{'occurred':<11} {'severity':<8} {'rule':<28} {'child':<14} {'team':<22} facts")
    for alert in alerts:
        facts = ", ".join(f"{k}={v}" for k, v in alert.facts.items() if k.endswith(("_id", "_made", "_date")))
        print(f"{alert.occurred_at.date().isoformat():<11} {alert.severity:<8} {alert.rule:<28} "
              f"{alert.child_id:<14} {alert.team:<22} {facts}")  # fmt: skip
