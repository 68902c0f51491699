"""`casewatch report`: the QA report from the same sources as `casewatch replay`.

Reads and validates the files as ingest and replay do (`casewatch.ingest.read_events`),
replays the rules for the alerts (`agents.replay`) unless `--database-url` names a
deployment's database to take them (and what managers did with them) from, computes the
figures (`agents.report_figures`, pure) and writes them as one HTML page or one JSON
document; `--audit-sample N` writes the seeded audit sample as CSV as well.
"""

import argparse
import csv
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from agents.replay import replay
from agents.report_figures import (
    AUDIT_COLUMNS,
    ENGLAND,
    Comparator,
    ReportError,
    TrackedAlert,
    audit_candidates,
    audit_sample,
    periods,
    report_figures,
    report_window,
)
from casewatch.config_file import ConfigFileError, load_rules, read_config_file
from casewatch.ingest import IngestReport, add_source_arguments, missing_file, read_events, source_options
from casewatch.report.html import render
from casewatch.settings import Settings, SettingsError
from schemas.events import CaseEvent


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--year", metavar="YYYY-YY",
                        help="the DfE reporting year (1 April to 31 March), e.g. 2024-25 (default: the year holding "
                             "the as-of day)")  # fmt: skip
    parser.add_argument("--months", type=int, default=12, metavar="N",
                        help="the rolling period: the N months to the as-of day (default 12)")  # fmt: skip
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="DATE",
                        help="ignore events after this day (ISO date) and report as of it (default: the day of the "
                             "last event)")  # fmt: skip
    parser.add_argument("--format", choices=("html", "json"), default="html",
                        help="html: one self-contained page (default); json: the same figures as one "
                             "document")  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="file to write (default: report.html for html, standard output for json)")  # fmt: skip
    parser.add_argument("--database-url", metavar="URL",
                        help="take the alerts, what managers did with them (open, acknowledged, resolved) and the "
                             "team rule's monthly judgements from this deployment's database (SQLAlchemy URL) "
                             "instead of replaying the rules")  # fmt: skip
    parser.add_argument("--audit-sample", type=int, metavar="N",
                        help="also write a seeded sample of N cases for case-file audit, spread over the strata "
                             "(re-referred after an agreement, closed with an agreement, sexual abuse not in the "
                             "factors, assessment without the child's views): child ID, stratum, team, dates, "
                             "reason")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="the audit sample's seed: the same seed, the same sample "
                        "(default 1)")  # fmt: skip
    parser.add_argument("--audit-output", type=Path, default=Path("audit-sample.csv"), metavar="FILE",
                        help="where the audit sample goes (default audit-sample.csv)")  # fmt: skip
    parser.set_defaults(run=run)


def comparators(settings: Settings) -> list[Comparator]:
    """England's published rate, then the configuration file's `report.comparators` (one named England replaces it)."""
    if settings.config_path is None:
        return [ENGLAND]
    section = read_config_file(settings.config_path).get("report") or {}
    where = f"{settings.config_path}: report.comparators"
    if not isinstance(section, dict):
        raise ConfigFileError(f"{settings.config_path}: report: must be a mapping")
    raw = section.get("comparators") or []
    if not isinstance(raw, list):
        raise ConfigFileError(f"{where}: must be a list of {{name, rate, period}}")
    found = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"name", "rate", "period"}:
            raise ConfigFileError(f"{where}[{index}]: must be a mapping with name, rate and optionally period")
        name, rate, period = item.get("name"), item.get("rate"), item.get("period")
        if not isinstance(name, str) or not name.strip():
            raise ConfigFileError(f"{where}[{index}].name: must be a name such as 'Statistical neighbours'")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigFileError(f"{where}[{index}].rate: must be a share from 0 to 1 (0.226 = 22.6%)")
        found.append(Comparator(name.strip(), float(rate), None if period is None else str(period)))
    if not any(c.name == ENGLAND.name for c in found):
        found.insert(0, ENGLAND)
    return found


def run(args: argparse.Namespace, settings: Settings) -> int:
    rules = load_rules(settings)
    compared = comparators(settings)
    if missing_file(args.paths):
        return 2
    report = IngestReport()
    events = list(read_events(args.paths, source_options(args, settings), report))
    try:
        alerts = _alerts(events, args, rules)
        document = report_figures(events, alerts, as_of=args.as_of, year=args.year, months=args.months,
                                  comparators=compared, from_database=args.database_url is not None)  # fmt: skip
        sample = _sample(events, alerts, args, document) if args.audit_sample is not None else None
    except ReportError as error:
        raise SettingsError(str(error)) from None
    document["rejected"] = report.rejected_total
    text = json.dumps(document, indent=2) + "\n" if args.format == "json" else render(document)
    output = args.output if args.output is not None or args.format == "json" else Path("report.html")
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, lambda out: out.write(text))
        print(f"wrote the {args.format} report to {output}", file=sys.stderr)
    if sample is not None:

        def write_sample(out: TextIO) -> None:
            writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS)
            writer.writeheader()
            writer.writerows(sample)

        _write(args.audit_output, write_sample)
        print(f"wrote {len(sample)} audit cases (seed {args.seed}) to {args.audit_output}", file=sys.stderr)
    return 0


def _write(path: Path, fill: Callable[[TextIO], object]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            fill(out)
    except OSError as error:
        raise SettingsError(f"cannot write {path}: {error.strerror or 'failed'}") from None


def _alerts(events: list[CaseEvent], args: argparse.Namespace, rules: Any) -> list[TrackedAlert]:
    if args.database_url is None:
        return [TrackedAlert(alert) for alert in replay(events, rules, as_of=args.as_of).alerts.values()]
    from casewatch.report.database import stored_alerts
    from casewatch.storage import MissingDatabaseError, StorageError, connect

    try:
        engine = connect(args.database_url, create=False)
    except MissingDatabaseError:
        raise  # exit 1, as for every command that only reads
    except StorageError as error:
        raise SettingsError(f"--database-url: {error}") from None
    try:
        return stored_alerts(engine)
    finally:
        engine.dispose()


def _sample(events: list[CaseEvent], alerts: list[TrackedAlert], args: argparse.Namespace,
            document: dict[str, Any]) -> list[dict[str, str]]:  # fmt: skip
    as_of = date.fromisoformat(document["as_of"])
    window = report_window(*periods(as_of, args.year, args.months))
    known = [e for e in events if e.day <= as_of]
    return audit_sample(audit_candidates(known, alerts, window, as_of), args.audit_sample, args.seed)
