"""DfE Children in Need census XML (schema years 2017-2026) -> case events.

Each `CINdetails` episode becomes a referral (with `ReferralNFA`), its closure with the
reason, its authorised assessments with their factor codes and actual start date, its
section 47 enquiries, its child protection plans (started, reviewed, ended, with their
categories and `NumberOfPreviousCPP`) and its CIN plans. The three fields read here have
the same names in every schema year 2017-2024. Nothing else of the
child leaves the file: the UPN, birth and death dates, gender or sex, ethnicity and
disabilities are never read into an event.

The file is read safely and in a stream: defusedxml refuses any DTD (so no entity
expansion, no external entity), and each `Child` is dropped from memory once its events
are out, so a census of any size runs in constant memory. Elements casewatch does not use
(the 2026 pre-proceedings block, `Sex` in place of `GenderCurrent`...) are ignored.
"""

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from schemas.codes import (
    ABUSE_CATEGORIES,
    ASSESSMENT_FACTORS,
    CLOSURE_REASONS,
    NO_FACTORS_IDENTIFIED,
    PRIMARY_NEED_CODES,
    REFERRAL_SOURCES,
    in_census_year,
)
from schemas.events import Assessment, CaseClosure, CaseEvent, Plan, Referral, Section47Enquiry
from streams.admission import DEFAULT_POLICY, InputPolicy
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
    yes_no,
)

SOURCE = "cin-census"
_LEA = re.compile(r"^\d{3}$")


@dataclass(frozen=True)
class _Census:
    """What the header says about the whole file, and the bounds every date must keep."""

    file: str
    authority: str
    team: str
    year: int | None
    limit: date  # the reference date, or today when earlier or absent
    limit_name: str
    policy: InputPolicy = DEFAULT_POLICY


def read_cin_census(path: Path, options: SourceOptions) -> Iterator[Item]:
    """Every event of every episode in the file, and a rejection for each record refused."""
    name = path.name
    try:
        with open(path, "rb") as handle:
            yield from _read(handle, name, options)
    except DefusedXmlException as error:
        yield SourceRejection(name, "/", None, "unsafe_xml", _unsafe(error))
    except ParseError as error:
        line, column = error.position
        yield SourceRejection(
            name, f"line {line} column {column}", None, "malformed_xml",
            f"the XML is not well-formed ({str(error).split(':')[0]}); nothing after this point was read",
        )  # fmt: skip
    except OSError as error:
        yield SourceRejection(name, "/", None, "unreadable", f"cannot read the file ({type(error).__name__})")


def _unsafe(error: DefusedXmlException) -> str:
    if isinstance(error, DTDForbidden):
        what = "declares a DTD (<!DOCTYPE>)"
    elif isinstance(error, EntitiesForbidden):
        what = "declares entities"
    elif isinstance(error, ExternalReferenceForbidden):
        what = "refers to an external entity"
    else:
        what = "uses an unsafe XML feature"
    return (
        f"the file {what}: refused, as entity expansion (XML bombs) and external entities are attacks; "
        "a CIN census return needs neither. Nothing was read."
    )


# A child's episodes are a few kilobytes; one far larger is refused rather than held in memory.
MAX_CHILD_BYTES = 1024 * 1024


def _read(handle: BinaryIO, file: str, options: SourceOptions) -> Iterator[Item]:
    census = _header(None, file, options)
    depth = 0
    section: Element | None = None  # the current child of Message (Header, Children)
    child_index = 0
    current_child: Element | None = None
    child_started = 0  # where in the file the current <Child> began (as far as the parser has read)
    too_large = False
    for kind, element in iterparse(handle, events=("start", "end"), forbid_dtd=True):
        if kind == "start":
            element.tag = element.tag.rpartition("}")[2]  # tolerate a namespace
            depth += 1
            if depth == 1 and element.tag != "Message":
                yield SourceRejection(
                    file,
                    f"/{element.tag}",
                    None,
                    "not_cin_census",
                    "the root element is not Message: this is not a CIN census return",
                )
                return
            if depth == 2:
                section = element
            elif depth == 3 and section is not None and section.tag == "Children" and element.tag == "Child":
                child_index += 1
                current_child, child_started, too_large = element, handle.tell(), False
            continue
        depth -= 1
        if depth >= 3 and current_child is not None and (too_large or handle.tell() - child_started > MAX_CHILD_BYTES):
            too_large = True  # drop what is read of it as it comes: memory stays bounded
            current_child.clear()
            continue
        if depth == 1:
            if element.tag == "Header":
                yield from _header_problems(element, file)
                census = _header(element, file, options)
            element.clear()
        elif depth == 2 and section is not None and section.tag != "Header":
            if section.tag == "Children" and element.tag == "Child" and too_large:
                reason = f"the child's record is over {MAX_CHILD_BYTES} bytes: it was not read"
                yield SourceRejection(file, f"/Message/Children/Child[{child_index}]", None, "too_large", reason)
            elif section.tag == "Children" and element.tag == "Child":
                yield from _child(element, f"/Message/Children/Child[{child_index}]", census)
            section.clear()  # drop what has been read: memory stays flat however large the file
            current_child = None


def _header(header: Element | None, file: str, options: SourceOptions) -> _Census:
    lea = _text(header, "Source/LEA")
    lea = lea if lea and _LEA.match(lea) else None
    reference = _optional_date(header, "CollectionDetails/ReferenceDate")
    year = _year(_text(header, "CollectionDetails/Year")) or (reference.year if reference else None)
    limit, limit_name = options.today, "today"
    if reference is not None and reference <= options.today:
        limit, limit_name = reference, "the census reference date"
    authority = lea or options.authority or "LA"
    return _Census(file, authority, options.team_for(lea or options.authority), year, limit, limit_name, options.policy)


def _header_problems(header: Element, file: str) -> Iterator[SourceRejection]:
    where = "/Message/Header"
    lea = _text(header, "Source/LEA")
    if lea is not None and not _LEA.match(lea):
        yield SourceRejection(file, f"{where}/Source/LEA", "LEA", "invalid_id", "is not a 3-digit local authority code")
    try:
        parse_date(_text(header, "CollectionDetails/ReferenceDate"), "ReferenceDate", required=False)
    except Invalid as problem:
        yield problem.at(file, f"{where}/CollectionDetails/ReferenceDate")
    year = _text(header, "CollectionDetails/Year")
    if year is not None and _year(year) is None:
        yield SourceRejection(file, f"{where}/CollectionDetails/Year", "Year", "invalid_value", "is not a year")


def _year(text: str | None) -> int | None:
    return int(text) if text and len(text) == 4 and text.isascii() and text.isdigit() else None


def _optional_date(element: Element | None, path: str) -> date | None:
    """A header date, or None when absent or not a date (`_header_problems` reports it)."""
    try:
        return parse_date(_text(element, path), path, required=False)
    except Invalid:
        return None


def _child(child: Element, where: str, census: _Census) -> Iterator[Item]:
    try:
        child_key = child_id(_text(child, "ChildIdentifiers/LAchildID"), "LAchildID")
    except Invalid as problem:
        yield problem.at(census.file, f"{where}/ChildIdentifiers/LAchildID")
        return
    episodes = child.findall("CINdetails")
    if not episodes:
        yield SourceRejection(census.file, where, "CINdetails", "missing", "the child has no CINdetails episode")
    for index, details in enumerate(episodes, start=1):
        yield from _episode(details, f"{where}/CINdetails[{index}]", child_key, census)


def _episode(details: Element, where: str, child: str, census: _Census) -> Iterator[Item]:
    """An episode's records, or one rejection when its referral, which anchors them all, cannot stand."""
    try:
        referral = parse_date(_text(details, "CINreferralDate"), "CINreferralDate")
        assert referral is not None
        not_after(referral, census.limit, "CINreferralDate", census.limit_name)
        closure = parse_date(_text(details, "CINclosureDate"), "CINclosureDate", required=False)
        in_order(referral, closure, "CINclosureDate", "the referral date (CINreferralDate)")
    except Invalid as problem:
        problem.reason += ": the whole episode is skipped"
        yield problem.at(census.file, f"{where}/{problem.field}")
        return
    yield from _Episode(details, where, child, census, referral, closure).items()


class _Episode:
    """One CINdetails: its referral date is its identity, its dates bound its records'."""

    def __init__(
        self, details: Element, where: str, child: str, census: _Census, referral: date, closure: date | None
    ) -> None:
        self.details, self.where, self.child, self.census = details, where, child, census
        self.referral, self.closure = referral, closure
        self.end, self.end_name = census.limit, census.limit_name
        if closure is not None and closure <= census.limit:
            self.end, self.end_name = closure, "the closure date (CINclosureDate)"

    def items(self) -> Iterator[Item]:
        yield from self._record(self.where, self._referral)
        yield from self._record(self.where, self._closure)
        for tag, read in (("Assessments", self._assessment), ("Section47", self._section47),
                          ("ChildProtectionPlans", self._cp_plan), ("CINPlanDates", self._cin_plan)):  # fmt: skip
            for index, element in enumerate(self.details.findall(tag), start=1):
                yield from self._record(f"{self.where}/{tag}[{index}]", partial(read, element))

    def _record(self, where: str, build_events: Callable[[], Iterator[CaseEvent]]) -> Iterator[Item]:
        yield from guarded(self.census.file, where, build_events, field_in_position=True, policy=self.census.policy)

    def _id(self, kind: str, day: date, *extra: str) -> str:
        return event_id(self.census.authority, self.child, self.referral.isoformat(), kind, day, *extra)

    def _base(self, kind: str, day: date, *extra: str) -> dict[str, object]:
        return {"event_id": self._id(kind, day, *extra), "child_id": self.child, "occurred_at": moment(day),
                "recorded_at": moment(day), "team": self.census.team, "source": SOURCE}  # fmt: skip

    def _code(self, element: Element, field: str, allowed: Collection[str], label: str,
              *, required: bool = False) -> str | None:  # fmt: skip
        return self._code_of(_text(element, field), field, allowed, label, required=required)

    def _code_of(self, text: str | None, field: str, allowed: Collection[str], label: str,
                 *, required: bool = False) -> str | None:  # fmt: skip
        """A code from the list, and from this census year's version of it."""
        value = code(text, allowed, field, label, required=required)
        year = self.census.year
        if value is not None and year is not None and not in_census_year(value, year):
            raise Invalid(field, "code_not_in_year", f"is not a {label} code in the {year} census", value)
        return value

    def _within(self, day: date | None, field: str) -> None:
        """Every record of an episode lies between its referral and its closure (or the bound)."""
        in_order(self.referral, day, field, "the referral date (CINreferralDate)")
        not_after(day, self.end, field, self.end_name)

    def _referral(self) -> Iterator[CaseEvent]:
        source = self._code(self.details, "ReferralSource", REFERRAL_SOURCES, "referral source")
        need = self._code(self.details, "PrimaryNeedCode", PRIMARY_NEED_CODES, "primary need")
        nfa = yes_no(_text(self.details, "ReferralNFA"), "ReferralNFA")
        yield build(Referral, **self._base("referral", self.referral), referral_source=source, primary_need=need,
                    nfa=nfa)  # fmt: skip

    def _closure(self) -> Iterator[CaseEvent]:
        closure = self.closure
        reason = self._code(self.details, "ReasonForClosure", CLOSURE_REASONS, "reason for closure")
        if closure is None:
            if reason is not None:
                raise Invalid("CINclosureDate", "missing", "is absent but ReasonForClosure is given")
            return
        not_after(closure, self.census.limit, "CINclosureDate", self.census.limit_name)
        if reason is None:
            raise Invalid("ReasonForClosure", "missing", "is required when the episode has a closure date")
        yield build(CaseClosure, **self._base("closure", closure), reason=reason)

    def _assessment(self, element: Element) -> Iterator[CaseEvent]:
        start = parse_date(_text(element, "AssessmentActualStartDate"), "AssessmentActualStartDate")
        self._within(start, "AssessmentActualStartDate")
        authorised = parse_date(_text(element, "AssessmentAuthorisationDate"), "AssessmentAuthorisationDate",
                                required=False)  # fmt: skip
        in_order(start, authorised, "AssessmentAuthorisationDate", "the assessment start date")
        self._within(authorised, "AssessmentAuthorisationDate")
        field = "FactorsIdentifiedAtAssessment/AssessmentFactors"
        factors = {
            str(self._code_of(factor.text, field, ASSESSMENT_FACTORS, "assessment factor", required=True))
            for factor in element.findall(field)
        }
        if NO_FACTORS_IDENTIFIED in factors and len(factors) > 1:
            raise Invalid(field, "invalid_combination", "21 (no factors identified) is combined with other factors")
        if authorised is None:
            return  # still in progress at the reference date: its factors are not known yet
        assert start is not None
        record = self._id("assessment", start)
        yield build(Assessment, **self._base("assessment", authorised, start.isoformat()), assessment_id=record,
                    factors=sorted(factors), started_on=start)  # fmt: skip

    def _section47(self, element: Element) -> Iterator[CaseEvent]:
        start = parse_date(_text(element, "S47ActualStartDate"), "S47ActualStartDate")
        self._within(start, "S47ActualStartDate")
        icpc = parse_date(_text(element, "DateOfInitialCPC"), "DateOfInitialCPC", required=False)
        in_order(start, icpc, "DateOfInitialCPC", "the enquiry start date")
        not_after(icpc, self.census.limit, "DateOfInitialCPC", self.census.limit_name)
        assert start is not None
        yield build(Section47Enquiry, **self._base("section47", start), enquiry_id=self._id("s47", start),
                    icpc_date=icpc)  # fmt: skip

    def _span(self, element: Element, start_field: str, end_field: str) -> tuple[date, date | None]:
        """A plan's start and end, both within the episode, the end not before the start."""
        start = parse_date(_text(element, start_field), start_field)
        assert start is not None
        self._within(start, start_field)
        end = parse_date(_text(element, end_field), end_field, required=False)
        in_order(start, end, end_field, "the plan start date")
        self._within(end, end_field)
        return start, end

    def _cp_plan(self, element: Element) -> Iterator[CaseEvent]:
        start, end = self._span(element, "CPPstartDate", "CPPendDate")
        # Both categories, so a plan whose latest category became SAB says so from its start.
        categories = sorted({
            str(self._code(element, field, ABUSE_CATEGORIES, "category of abuse", required=True))
            for field in ("InitialCategoryOfAbuse", "LatestCategoryOfAbuse")
        })  # fmt: skip
        reviews = []
        for review in element.findall("Reviews/CPPreviewDate"):
            day = parse_date(review.text, "Reviews/CPPreviewDate")
            in_order(start, day, "Reviews/CPPreviewDate", "the plan start date")
            not_after(day, end or self.end, "Reviews/CPPreviewDate", "the plan end date" if end else self.end_name)
            reviews.append(day)
        previous = count(_text(element, "NumberOfPreviousCPP"), "NumberOfPreviousCPP", maximum=99)
        yield from self._plan("cp", start, end, reviews, categories, previous)

    def _cin_plan(self, element: Element) -> Iterator[CaseEvent]:
        start, end = self._span(element, "CINPlanStartDate", "CINPlanEndDate")
        yield from self._plan("cin", start, end, [], [])

    def _plan(
        self,
        plan_type: str,
        start: date,
        end: date | None,
        reviews: list[date | None],
        categories: list[str],
        previous: int | None = None,
    ) -> Iterator[CaseEvent]:
        plan_id = self._id(f"plan-{plan_type}", start)
        steps = [("started", start), *(("reviewed", r) for r in reviews if r), *([("ended", end)] if end else [])]
        for action, day in dict.fromkeys(steps):  # one review per day
            yield build(Plan, **self._base(f"plan-{plan_type}-{action}", day, start.isoformat()), plan_id=plan_id,
                        plan_type=plan_type, action=action, categories=categories, previous_plans=previous)  # fmt: skip


def _text(element: Element | None, path: str) -> str | None:
    if element is None:
        return None
    value = element.findtext(path)
    return value.strip() or None if value is not None else None
