"""Written-agreement extracts (CSV) -> WrittenAgreement events, and the writer for simulations.

Agreements are not in any statutory return: a case system exports them. One row is one
agreement, with its whole history (see docs/formats.md for the columns):

    agreement_id,child_id,team,made_date,review_due_date,reviewed_dates,breach_dates,end_date,accompanies_closure
    wa-1,C1001,CIN East,2024-01-10,2024-02-10,2024-02-12,2024-03-01;2024-04-02,,yes

A minimal extract has only agreement_id, child_id, team and made_date; every other column
is optional. A fuller one may add agreement_type, context, review_outcome, owner_team and
owner_worker_id (an opaque id, never a name). Only these columns are read; any other
column (a name, a note) is never looked at.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import TextIO, get_args

from schemas.events import AgreementContext, AgreementType, CaseEvent, ReviewOutcome, WrittenAgreement
from streams.sources.records import (
    Invalid,
    Item,
    SourceOptions,
    SourceRejection,
    build,
    child_id,
    event_id,
    guarded,
    in_order,
    moment,
    not_after,
    parse_date,
    record_id,
    team,
    yes_no,
)

SOURCE = "agreements-csv"
COLUMNS = (
    "agreement_id", "child_id", "team", "made_date", "review_due_date",
    "reviewed_dates", "breach_dates", "end_date", "accompanies_closure",
    "agreement_type", "context", "review_outcome", "owner_team", "owner_worker_id",
)  # fmt: skip
REQUIRED = ("agreement_id", "child_id", "made_date")
# The words an extract may use for each value, beside the value itself ("Working agreement", "not kept").
_SYNONYMS = {"at_closure": "closure", "section_47": "s47", "partly_kept": "partly"}


def read_agreements_csv(path: Path, options: SourceOptions) -> Iterator[Item]:
    name = path.name
    row_number = 1
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = [h.strip().lower() for h in next(rows, [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                yield SourceRejection(
                    name,
                    "row 1",
                    None,
                    "missing_column",
                    f"the header lacks the column(s) {', '.join(missing)}: nothing was read",
                )
                return
            index = {column: header.index(column) for column in COLUMNS if column in header}
            for row_number, cells in enumerate(rows, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                values = {column: cells[i].strip() if i < len(cells) else "" for column, i in index.items()}
                yield from guarded(
                    name, f"row {row_number}", partial(_agreement, values, options), policy=options.policy
                )
    except (UnicodeDecodeError, csv.Error) as error:
        what = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else "is not valid CSV"
        yield SourceRejection(
            name,
            f"row {row_number + 1}",
            None,
            "unreadable",
            f"the file {what} from here on: nothing after this point was read",
        )
    except OSError as error:
        yield SourceRejection(name, "/", None, "unreadable", f"cannot read the file ({type(error).__name__})")


def _agreement(values: dict[str, str], options: SourceOptions) -> Iterator[CaseEvent]:
    agreement = record_id(values.get("agreement_id"), "agreement_id")
    child = child_id(values.get("child_id"), "child_id")
    responsible = team(values["team"], "team") if values.get("team") else options.team_for(options.authority)
    made = parse_date(values.get("made_date"), "made_date")
    assert made is not None
    not_after(made, options.today, "made_date", "today")
    review_due = parse_date(values.get("review_due_date"), "review_due_date", required=False)
    in_order(made, review_due, "review_due_date", "made_date")
    text = values.get("accompanies_closure", "")
    closure = bool(yes_no(text, "accompanies_closure")) if text else False
    kind = _choice(values.get("agreement_type"), "agreement_type", get_args(AgreementType))
    context = _choice(values.get("context"), "context", get_args(AgreementContext))
    owner_team = team(values["owner_team"], "owner_team") if values.get("owner_team") else None
    worker = record_id(values["owner_worker_id"], "owner_worker_id") if values.get("owner_worker_id") else None
    steps: list[tuple[str, date]] = [("made", made)]
    for field, action in (("reviewed_dates", "reviewed"), ("breach_dates", "breached"), ("end_date", "ended")):
        for text in values.get(field, "").split(";") if field != "end_date" else [values.get(field, "")]:
            day = parse_date(text, field, required=False)
            in_order(made, day, field, "made_date")
            not_after(day, options.today, field, "today")
            if day is not None:
                steps.append((action, day))
    outcomes = _outcomes(values.get("review_outcome", ""), [day for action, day in steps if action == "reviewed"])
    authority = options.authority or "LA"
    for action, day in dict.fromkeys(steps):
        made_only = {"review_due": review_due, "agreement_type": kind, "context": context,
                     "owner_worker_id": worker} if action == "made" else {}  # fmt: skip
        yield build(
            WrittenAgreement,
            event_id=event_id(authority, child, agreement, f"agreement-{action}", day),
            child_id=child, occurred_at=moment(day), recorded_at=moment(day), team=responsible, source=SOURCE,
            agreement_id=agreement, action=action, accompanies_closure=closure, owner_team=owner_team,
            review_outcome=outcomes.get(day) if action == "reviewed" else None, **made_only,
        )  # fmt: skip


def _choice(text: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, written as is or in words ("Safety plan", "PLO schedule", "not kept")."""
    words = "_".join((text or "").strip().lower().replace("-", " ").split())
    if not words:
        return None
    value = _SYNONYMS.get(words, words)
    if value not in allowed:
        raise Invalid(field, "invalid_value", f"is not one of {', '.join(allowed)}")
    return value


def _outcomes(text: str, reviews: list[date]) -> dict[date, str | None]:
    """Review outcomes, one per review date in the same order, or one alone for the latest review."""
    given = [_choice(part, "review_outcome", get_args(ReviewOutcome)) for part in text.split(";")] if text else []
    if not given:
        return {}
    if not reviews:
        raise Invalid("review_outcome", "invalid_value", "is given but the row has no reviewed_dates")
    if len(given) == 1:
        return {reviews[-1]: given[0]}
    if len(given) != len(reviews):
        raise Invalid("review_outcome", "invalid_value", "needs one outcome per reviewed date, or one alone")
    return dict(zip(reviews, given, strict=True))


def write_agreements_csv(events: Iterable[CaseEvent], out: TextIO) -> int:
    """One row per agreement from its events (the simulator's, or any); returns the rows written."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    outcomes: dict[tuple[str, str], list[str]] = {}
    for event in events:
        if not isinstance(event, WrittenAgreement):
            continue
        key = (event.child_id, event.agreement_id)
        row = rows.setdefault(key, dict.fromkeys(COLUMNS, ""))
        if event.owner_team:
            row["owner_team"] = event.owner_team
        row.update(agreement_id=event.agreement_id, child_id=event.child_id)
        day = event.day.isoformat()
        if event.action == "made":
            row.update(team=event.team, made_date=day, review_due_date=_iso(event.review_due),
                       agreement_type=event.agreement_type or "", context=event.context or "",
                       owner_worker_id=event.owner_worker_id or "")  # fmt: skip
        elif event.action == "reviewed":
            row["reviewed_dates"] = ";".join(filter(None, (row["reviewed_dates"], day)))
            outcomes.setdefault(key, []).append(event.review_outcome or "")
        elif event.action == "breached":
            row["breach_dates"] = ";".join(filter(None, (row["breach_dates"], day)))
        else:
            row["end_date"] = day
        if event.accompanies_closure:
            row["accompanies_closure"] = "yes"
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    written = [(key, row) for key, row in rows.items() if row["made_date"]]
    for key, row in written:
        row["accompanies_closure"] = row["accompanies_closure"] or "no"
        given = outcomes.get(key, [])
        row["review_outcome"] = ";".join(given) if all(given) else ""
        writer.writerow(row)
    return len(written)


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""
