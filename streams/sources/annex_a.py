"""Ofsted Annex A workbook (xlsx) -> case events, from lists 1, 3, 4, 5, 6 and 7.

- List 1 (contacts): Date of Contact -> contact
- List 3 (referrals): Date of Referral, Referral Source, and where given Referral NFA? and
  Number of Referrals in Last 12 Months -> referral
- List 4 (assessments): Continuous Assessment Start Date, Date of Authorisation, and where
  given Child Seen During Continuous Assessment -> assessment, once authorised
- List 5 (section 47): the strategy discussion's date, Date of ICPC -> strategy discussion, section 47
- List 6 (children in need): CIN Start Date, Primary Need Code, CIN Closure Date, Reason for Closure -> referral,
  closure
- List 7 (child protection): plan start, categories of abuse, latest review, end, and where
  given Number of Previous Child Protection Plans -> plan (cp). Its "Was the Child Seen
  Alone?" is about the last statutory visit, not an assessment, and no event carries it yet.

Every list also gives "Child Unique ID" and, where there is one, "Allocated Team". The
other columns (gender, ethnicity, birth date, age, allocated worker...) are never read.
Dates may be real dates, ISO or dd/mm/yyyy text, or Excel serial numbers. The workbook is
opened read-only, so rows stream; openpyxl parses its XML with defusedxml.
"""

import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from schemas.codes import ABUSE_CATEGORIES, CLOSURE_REASONS, PRIMARY_NEED_CODES, REFERRAL_SOURCES
from schemas.events import (
    Assessment,
    CaseClosure,
    CaseEvent,
    Contact,
    Plan,
    Referral,
    Section47Enquiry,
    StrategyDiscussion,
)
from streams.sources.records import (
    Invalid,
    Item,
    SourceOptions,
    SourceRejection,
    build,
    child_id,
    code,
    count,
    event_id,
    guarded,
    in_order,
    moment,
    not_after,
    parse_date,
    team,
    yes_no,
)

SOURCE = "annex-a"
CHILD = "child unique id"
TEAM = "allocated team"
# The columns each list needs, by their (normalised) header.
COLUMNS: dict[int, tuple[str, ...]] = {
    1: ("date of contact",),
    3: ("date of referral", "referral source"),
    4: ("continuous assessment start date", "continuous assessment date of authorisation"),
    5: ("strategy discussion initiating section 47 enquiry start date", "date of initial child protection conference"),
    6: ("cin start date", "primary need code", "cin closure date", "reason for closure"),
    7: ("child protection plan start date", "initial category of abuse", "latest category of abuse",
        "date of latest review conference", "child protection plan end date"),
}  # fmt: skip
CATEGORY_WORDS = {"neglect": "NEG", "physical abuse": "PHY", "sexual abuse": "SAB", "emotional abuse": "EMO",
                  "multiple": "MUL", "multiple/not recommended": "MUL"}  # fmt: skip
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 once Excel's phantom 29 Feb 1900 is skipped
_LIST = re.compile(r"^\s*list\s*(\d+)\b", re.IGNORECASE)
# "q) 6: Police", "b) 1B: Individual", "N1 - Abuse or Neglect", "RC8": the code is the first word.
_LEADING_CODE = re.compile(r"^(?:[a-z]{1,2}\)\s*)?([A-Za-z0-9]+)\s*(?:[:\-–]|$)")
_MISSING = frozenset({"", "#n/a", "n/a", "none"})

Row = dict[str, Any]


def read_annex_a(path: Path, options: SourceOptions) -> Iterator[Item]:
    from openpyxl import load_workbook  # here, not at the top: it is slow to import and only xlsx needs it

    name = path.name
    if (too_large := _oversized(path)) is not None:
        yield SourceRejection(name, "/", None, "too_large", too_large)
        return
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged or foreign file
        yield SourceRejection(name, "/", None, "unreadable", f"not a readable xlsx workbook ({type(error).__name__})")
        return
    try:
        for sheet in workbook.worksheets:
            match = _LIST.match(sheet.title)
            if match and int(match.group(1)) in COLUMNS:
                sheet.reset_dimensions()  # a stale <dimension> must not hide rows: read them all
                yield from _sheet(
                    _Sheet(name, f"List {int(match.group(1))}", options), sheet.iter_rows(values_only=True)
                )
    finally:
        workbook.close()


# An Annex A return unpacks to a few tens of megabytes; a zip bomb unpacks to gigabytes from a
# small file. Both are checked from the zip's directory, before anything is decompressed.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # spreadsheet XML compresses 10-30 times; far more is a bomb
RATIO_FROM_BYTES = 1024 * 1024  # small parts may compress as they like


def _oversized(path: Path) -> str | None:
    """Why the workbook is too large to open, or None. A file that is not a zip is openpyxl's to refuse."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    total = sum(p.file_size for p in parts)
    if total > MAX_UNPACKED_BYTES:
        return f"the workbook unpacks to over {MAX_UNPACKED_BYTES} bytes: it was not read"
    for part in parts:
        if part.file_size > RATIO_FROM_BYTES and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            return f"a part of the workbook unpacks to over {MAX_RATIO} times its size (a zip bomb): it was not read"
    return None


class _Sheet:
    """One list: where its rows are, and how each becomes events."""

    def __init__(self, file: str, title: str, options: SourceOptions) -> None:
        self.file, self.title, self.options = file, title, options
        self.number = int(title.split()[1])
        self.authority = options.authority or "LA"


def _sheet(sheet: _Sheet, rows: Iterator[tuple[Any, ...]]) -> Iterator[Item]:
    header: list[str] | None = None
    row_number = 0
    while True:
        try:
            cells = next(rows, None)
        except Exception as error:  # a damaged sheet: report it, keep the rows already read
            yield SourceRejection(
                sheet.file,
                f"{sheet.title} row {row_number + 1}",
                None,
                "unreadable",
                f"the sheet cannot be read from here on ({type(error).__name__})",
            )
            return
        if cells is None:
            break
        row_number += 1
        if header is None:
            names = [_normal(c) for c in cells]
            if CHILD in names:
                header = names
                missing = [c for c in COLUMNS[sheet.number] if c not in names]
                if missing:
                    yield SourceRejection(
                        sheet.file,
                        f"{sheet.title} row {row_number}",
                        None,
                        "missing_column",
                        f"the list lacks the column(s) {', '.join(missing)}: it was not read",
                    )
                    return
            elif row_number >= 10:
                yield SourceRejection(
                    sheet.file,
                    sheet.title,
                    None,
                    "missing_column",
                    "no header row with 'Child Unique ID' in the first 10 rows: the list was not read",
                )
                return
            continue
        if all(_blank(c) for c in cells):
            continue
        row = {name: cells[i] for i, name in enumerate(header) if name and i < len(cells)}
        yield from guarded(
            sheet.file,
            f"{sheet.title} row {row_number}",
            partial(_READERS[sheet.number], sheet, row),
            policy=sheet.options.policy,
        )


def _normal(cell: object) -> str:
    return " ".join(str(cell).split()).lower() if cell is not None else ""


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _day(row: Row, column: str, *, required: bool = False) -> date | None:
    value = row.get(column)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2_958_466:  # Excel's own range: 1900-01-01 to 9999-12-31
            raise Invalid(column, "invalid_date", "is a number outside Excel's date range")
        return EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, str) and value.strip().lower() in _MISSING:
        value = None
    return parse_date(value, column, required=required)


def _code_in(row: Row, column: str, allowed: frozenset[str] | dict[str, str], label: str) -> str | None:
    value = row.get(column)
    text = str(value).strip() if value is not None else ""
    if text.lower() in _MISSING:
        return None
    match = _LEADING_CODE.match(text)
    return code(match.group(1).upper() if match else text, allowed, column, label)


class _Record:
    """What every row has: the child, the team, and the bound on its dates."""

    def __init__(self, sheet: _Sheet, row: Row) -> None:
        self.sheet = sheet
        value = row.get(CHILD)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        self.child = child_id(value, "Child Unique ID")
        raw_team = row.get(TEAM)
        text = str(raw_team).strip() if raw_team is not None else ""
        self.team = (
            team(text, "Allocated Team")
            if text.lower() not in _MISSING
            else sheet.options.team_for(sheet.options.authority)
        )

    def day(
        self, row: Row, column: str, *, required: bool = False, after: tuple[date | None, str] = (None, "")
    ) -> date | None:
        value = _day(row, column, required=required)
        not_after(value, self.sheet.options.today, column, "today")
        in_order(after[0], value, column, after[1])
        return value

    def base(self, kind: str, day: date, episode: str = "", *extra: str) -> dict[str, object]:
        return {"event_id": event_id(self.sheet.authority, self.child, episode, kind, day, *extra),
                "child_id": self.child, "occurred_at": moment(day), "recorded_at": moment(day),
                "team": self.team, "source": SOURCE}  # fmt: skip


def _contact(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    day = record.day(row, "date of contact", required=True)
    assert day is not None
    yield build(Contact, **record.base("contact", day))


def _referral(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    day = record.day(row, "date of referral", required=True)
    assert day is not None
    source = _code_in(row, "referral source", REFERRAL_SOURCES, "referral source")
    nfa = yes_no(row.get("referral nfa?"), "Referral NFA?")
    earlier = count(
        row.get("number of referrals in last 12 months"), "Number of Referrals in Last 12 Months", maximum=999
    )
    # The episode is the referral date, as in the CIN census: the same referral in both has one id.
    yield build(Referral, **record.base("referral", day, day.isoformat()), referral_source=source, nfa=nfa,
                referrals_last_12_months=earlier)  # fmt: skip


def _assessment(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    start = record.day(row, "continuous assessment start date", required=True)
    authorised = record.day(row, "continuous assessment date of authorisation", after=(start, "the start date"))
    if authorised is None or start is None:
        return  # still in progress
    seen = yes_no(row.get("child seen during continuous assessment"), "Child Seen During Continuous Assessment")
    yield build(Assessment, **record.base("assessment", authorised, "", start.isoformat()),
                assessment_id=event_id(sheet.authority, record.child, "", "assessment", start),
                started_on=start, child_seen=seen)  # fmt: skip


def _section47(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    start = record.day(row, "strategy discussion initiating section 47 enquiry start date", required=True)
    icpc = record.day(row, "date of initial child protection conference", after=(start, "the enquiry start date"))
    assert start is not None
    yield build(StrategyDiscussion, **record.base("strategy-discussion", start))
    yield build(Section47Enquiry, **record.base("section47", start),
                enquiry_id=event_id(sheet.authority, record.child, "", "s47", start), icpc_date=icpc)  # fmt: skip


def _child_in_need(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    start = record.day(row, "cin start date", required=True)
    assert start is not None
    closure = record.day(row, "cin closure date", after=(start, "the CIN start date"))
    need = _code_in(row, "primary need code", PRIMARY_NEED_CODES, "primary need")
    reason = _code_in(row, "reason for closure", CLOSURE_REASONS, "reason for closure")
    episode = start.isoformat()
    yield build(Referral, **record.base("referral", start, episode), primary_need=need)
    if closure is not None:
        if reason is None:
            raise Invalid("reason for closure", "missing", "is required when there is a CIN closure date")
        yield build(CaseClosure, **record.base("closure", closure, episode), reason=reason)


def _protection_plan(sheet: _Sheet, row: Row) -> Iterator[CaseEvent]:
    record = _Record(sheet, row)
    start = record.day(row, "child protection plan start date", required=True)
    assert start is not None
    after_start = (start, "the plan start date")
    review = record.day(row, "date of latest review conference", after=after_start)
    end = record.day(row, "child protection plan end date", after=after_start)
    categories = sorted({_category(row, c) for c in ("initial category of abuse", "latest category of abuse")} - {""})
    plan_id = event_id(sheet.authority, record.child, "", "plan-cp", start)
    steps = [("started", start), *([("reviewed", review)] if review else []), *([("ended", end)] if end else [])]
    previous = count(row.get("number of previous child protection plans"), "Number of Previous Child Protection Plans",
                     maximum=99)  # fmt: skip
    for action, day in dict.fromkeys(steps):
        yield build(Plan, **record.base(f"plan-cp-{action}", day, "", start.isoformat()), plan_id=plan_id,
                    plan_type="cp", action=action, categories=categories, previous_plans=previous)  # fmt: skip


def _category(row: Row, column: str) -> str:
    value = row.get(column)
    text = " ".join(str(value).split()).lower() if value is not None else ""
    if text in _MISSING:
        return ""
    found = CATEGORY_WORDS.get(text) or (text.upper() if text.upper() in ABUSE_CATEGORIES else None)
    if found is None:
        raise Invalid(column, "unknown_code", "is not a category of abuse (NEG, PHY, SAB, EMO, MUL or its words)")
    return found


_READERS: dict[int, Callable[[_Sheet, Row], Iterator[CaseEvent]]] = {
    1: _contact,
    3: _referral,
    4: _assessment,
    5: _section47,
    6: _child_in_need,
    7: _protection_plan,
}
