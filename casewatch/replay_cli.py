"""`casewatch replay`: the rules over source files, offline, with the DfE re-referral figures.

It reads and validates exactly as `casewatch ingest` does (`casewatch.ingest.read_events`),
loads the rules configuration as the worker does (`casewatch.config_file`), and runs
`agents.replay.replay`, the driver over the very engine the Faust agents call: what it
prints is what the live worker would raise from the same files. With `--what-if`, it
replays twice (`agents.whatif`) and prints, per rule, what the change adds and removes.
"""

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

from agents.episodes import referrals_in_open_episode
from agents.readiness import Readiness, table_lines
from agents.replay import replay
from agents.rules import RulesConfig, RulesConfigError
from agents.stats import referral_stats
from agents.whatif import WhatIf, parse_overrides, what_if
from agents.worklist import weekly_volume
from casewatch.config_file import load_rules
from casewatch.delivery.config import RoutingConfig, load_routing
from casewatch.ingest import IngestReport, add_source_arguments, missing_file, read_events, source_options
from casewatch.output import add_format
from casewatch.settings import Settings, SettingsError
from schemas.alerts import Alert
from schemas.events import CaseEvent


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="DATE",
                        help="ignore events after this day (ISO date) and stop the rules' clock there, to see "
                             "what was known then (default: the day of the last event)")  # fmt: skip
    parser.add_argument("--what-if", action="append", metavar="KEY=VALUE",
                        help="replay again with this rules setting changed (repeatable), e.g. "
                             "agreement_review_overdue.grace_days=14, and print per rule the alerts the change "
                             "adds and removes")  # fmt: skip
    add_format(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    rules = load_rules(settings)  # a bad configuration file stops here, before any file is read
    routing = load_routing(settings.config_path)  # for the volume: what is sent, listed, only reported
    overrides = _overrides(args.what_if) if args.what_if else None
    if missing_file(args.paths):
        return 2
    report = IngestReport()
    events = list(read_events(args.paths, source_options(args, settings), report))
    readiness = Readiness()
    for event in events:
        readiness.see(event)
    if overrides is not None:
        return _what_if(events, rules, overrides, args, report)
    result = replay(events, rules, as_of=args.as_of)
    alerts = sorted(result.alerts.values(), key=lambda a: (a.occurred_at, a.alert_id))
    known = [e for e in events if args.as_of is None or e.day <= args.as_of]
    in_open = referrals_in_open_episode(result.states)
    rules_ready = readiness.report()
    document = {
        "events": result.events,
        "rejected": report.rejected_total,
        "alerts": [a.model_dump(mode="json") for a in alerts],
        "stats": referral_stats(known, as_of=args.as_of).to_dict(),
        "volume": _volume(alerts, routing, min((e.day for e in known), default=None), result.now),
        "rules": {rule: ready.to_dict() for rule, ready in rules_ready.items()},
        "data_quality": {
            "referrals_in_open_episode": len(in_open),
            "examples": [{"child_id": c, "referral_date": d.isoformat()} for c, d in in_open[:SHOWN_EXAMPLES]],
        },
    }
    if args.format == "json":
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _table(document, alerts)
        print("\n".join(table_lines(rules_ready)))
    return 0


SHOWN_EXAMPLES = 20  # data-quality examples in the JSON document


def _volume(
    alerts: list[Alert], routing: RoutingConfig, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """Per team and ISO week: own messages, worklist lines, report-only findings (agents.worklist)."""
    found = weekly_volume(
        alerts,
        policy=routing.worklist_policy(),
        notify_classes=frozenset(routing.notify_classes),
        teams=routing.worklist_settings().teams,
        since=since,
        until=until,
    )
    return [week.to_dict() for week in found]


def _overrides(items: list[str]) -> dict[str, Any]:
    try:
        return parse_overrides(items)
    except RulesConfigError as error:
        raise SettingsError(f"--what-if {error}") from None


def _what_if(
    events: list[CaseEvent], rules: RulesConfig, overrides: dict[str, Any], args: argparse.Namespace, report: Any
) -> int:
    try:
        found: WhatIf = what_if(events, rules, overrides, as_of=args.as_of)
    except RulesConfigError as error:
        raise SettingsError(f"--what-if {error}") from None
    if args.format == "json":
        document = {"events": found.events, "rejected": report.rejected_total, "what_if": found.overrides,
                    "rules": [asdict(change) for change in found.changes]}  # fmt: skip
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    changed = ", ".join(f"{key}={value}" for key, value in found.overrides.items())
    print(f"what if {changed}  ({found.events:,} events, {report.rejected_total:,} rejected)")
    print(f"{'rule':<38} {'before':>7} {'after':>7} {'added':>7} {'removed':>8} {'changed':>8}")
    for c in found.changes:
        print(f"{c.rule:<38} {c.before:>7} {c.after:>7} {c.added:>7} {c.removed:>8} {c.changed:>8}")
    return 0


def _period_line(period: dict[str, Any]) -> None:
    """One period's figures, saying what it covers and what the data lacks."""
    label = f"year {period['period']}" if period["kind"] == "reporting_year" else period["period"]
    notes = [f"{period['first']} to {period['last']}"]
    if not period["complete"]:
        notes.append("to date")
    if not period["lookback_complete"]:
        notes.append("no data for the 12 months before: undercounted")
    by_nfa = period["by_nfa"]
    shown = [("nfa", "NFA"), ("not_nfa", "not NFA")] + (
        [("not_given", "NFA not given")] if by_nfa["not_given"]["referrals"] else []
    )
    split = "; " + ", ".join(f"{label} {by_nfa[k]['re_referrals']}/{by_nfa[k]['referrals']}" for k, label in shown)
    history = period["re_referrals_from_source_history"]
    known = f"; {history} known from the source's referrals in the last 12 months" if history else ""
    print(f"  {label}: referrals {period['referrals']:,}  re-referrals {period['re_referrals']:,} "
          f"({period['re_referral_rate']:.1%}){split}{known}  [{', '.join(notes)}]")  # fmt: skip


def _table(document: dict[str, Any], alerts: list[Alert]) -> None:
    stats = document["stats"]
    print(f"events {document['events']:,}  rejected {document['rejected']:,}")
    print(f"children {stats['children']:,}  referrals {stats['referrals']:,}  re-referrals {stats['re_referrals']:,} "
          f"({stats['re_referral_rate']:.1%}; DfE definition, 12 calendar months; all dates together)")  # fmt: skip
    for period in stats["periods"]:
        _period_line(period)
    quality = document["data_quality"]
    if quality["referrals_in_open_episode"]:
        print(f"referrals in an open episode {quality['referrals_in_open_episode']:,} (not counted as referrals: "
              "DfE rules 8815/8816/8820)")  # fmt: skip
    print(f"alerts {len(alerts):,}")
    if alerts:
        print(f"{'occurred':<11} {'severity':<8} {'rule':<36} {'child':<14} {'team':<22} facts")
    for alert in alerts:
        shown = ("_id", "_made", "_date", "month")
        facts = ", ".join(f"{k}={v}" for k, v in alert.facts.items() if k.endswith(shown) and v not in (None, ""))
        print(f"{alert.occurred_at.date().isoformat():<11} {alert.severity:<8} {alert.rule:<36} "
              f"{alert.child_id or '(team)':<14} {alert.team:<22} {facts}")  # fmt: skip
