"""Write case events as a CIN census return (the 2024 schema's shape), for simulations at size.

The census is a snapshot at its reference date: an episode is written with the referral
(and `ReferralNFA`), its closure, its assessments (from their actual start), its CIN
plans, section 47 enquiries and CP plans (with `NumberOfPreviousCPP` and review dates) as
they stood then: an assessment authorised after the reference date is written in
progress, without its authorisation date and factors; a plan's end or review after it is
left out.
Written agreements are not statutory data and are left out; use the agreements CSV.

The identifiers the schema asks for and casewatch never reads (UPN, birth date, gender,
ethnicity) are synthetic, derived from the child ID, so a data-minimisation test can
check that none of them comes back out of the reader.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import BinaryIO
from xml.etree.ElementTree import Element, SubElement, tostring

from schemas.events import Assessment, CaseClosure, CaseEvent, Plan, Referral, Section47Enquiry


def write_cin_census(events: Iterable[CaseEvent], out: BinaryIO, *, reference_date: date, lea: str = "999") -> int:
    """Write the return; returns the number of episodes (CINdetails) written."""
    by_child: dict[str, list[CaseEvent]] = defaultdict(list)
    for event in events:
        by_child[event.child_id].append(event)
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n')
    out.write(tostring(_header(reference_date, lea)) + b"\n<Children>\n")
    episodes = 0
    for child_id in sorted(by_child):
        child = _child(child_id, by_child[child_id], reference_date)
        if child is not None:
            episodes += len(child.findall("CINdetails"))
            out.write(tostring(child) + b"\n")
    out.write(b"</Children>\n</Message>\n")
    return episodes


def _header(reference_date: date, lea: str) -> Element:
    header = Element("Header")
    details = SubElement(header, "CollectionDetails")
    _leaf(details, "Collection", "CIN")
    _leaf(details, "Year", str(reference_date.year))
    _leaf(details, "ReferenceDate", reference_date.isoformat())
    source = SubElement(header, "Source")
    _leaf(source, "SourceLevel", "L")
    _leaf(source, "LEA", lea)
    _leaf(source, "SoftwareCode", "casewatch simulate")
    _leaf(source, "Release", "1")
    _leaf(source, "SerialNo", "001")
    return header


def _child(child_id: str, events: list[CaseEvent], reference_date: date) -> Element | None:
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    referrals = [e for e in events if isinstance(e, Referral) and e.day <= reference_date]
    if not referrals:
        return None
    digest = int(hashlib.sha256(child_id.encode()).hexdigest(), 16)
    child = Element("Child")
    identifiers = SubElement(child, "ChildIdentifiers")
    _leaf(identifiers, "LAchildID", child_id)
    _leaf(identifiers, "UPN", f"A{digest % 10**12:012d}")
    _leaf(identifiers, "PersonBirthDate", (referrals[0].day - timedelta(days=400 + digest % 5000)).isoformat())
    _leaf(identifiers, "GenderCurrent", str(1 + digest % 2))
    characteristics = SubElement(child, "ChildCharacteristics")
    _leaf(characteristics, "Ethnicity", "NOBT")
    for index, referral in enumerate(referrals):
        following = referrals[index + 1].day if index + 1 < len(referrals) else date.max
        within = [e for e in events if referral.day <= e.day < following]
        _episode(child, referral, within, reference_date)
    return child


def _episode(child: Element, referral: Referral, events: list[CaseEvent], reference_date: date) -> None:
    details = SubElement(child, "CINdetails")
    _leaf(details, "CINreferralDate", referral.day.isoformat())
    _leaf(details, "ReferralSource", referral.referral_source)
    _leaf(details, "PrimaryNeedCode", referral.primary_need)
    closure = next((e for e in events if isinstance(e, CaseClosure) and e.day <= reference_date), None)
    if closure is not None:
        _leaf(details, "CINclosureDate", closure.day.isoformat())
        _leaf(details, "ReasonForClosure", closure.reason)
    for assessment in (e for e in events if isinstance(e, Assessment)):
        element = SubElement(details, "Assessments")
        _leaf(element, "AssessmentActualStartDate", (assessment.started_on or referral.day).isoformat())
        if assessment.day <= reference_date:
            _leaf(element, "AssessmentAuthorisationDate", assessment.day.isoformat())
            factors = SubElement(element, "FactorsIdentifiedAtAssessment")
            for factor in assessment.factors:
                _leaf(factors, "AssessmentFactors", factor)
    plans = _plans(events, reference_date)
    for steps in (p for p in plans if p[0].plan_type == "cin"):
        element = SubElement(details, "CINPlanDates")
        _leaf(element, "CINPlanStartDate", steps[0].day.isoformat())
        _leaf(element, "CINPlanEndDate", next((s.day.isoformat() for s in steps if s.action == "ended"), None))
    for enquiry in (e for e in events if isinstance(e, Section47Enquiry) and e.day <= reference_date):
        element = SubElement(details, "Section47")
        _leaf(element, "S47ActualStartDate", enquiry.day.isoformat())
        conference = enquiry.icpc_date if enquiry.icpc_date and enquiry.icpc_date <= reference_date else None
        _leaf(element, "DateOfInitialCPC", conference.isoformat() if conference else None)
        _leaf(element, "ICPCnotRequired", "false" if enquiry.icpc_date else "true")
    _leaf(details, "ReferralNFA", "true" if referral.nfa else "false")
    for steps in (p for p in plans if p[0].plan_type == "cp"):
        element = SubElement(details, "ChildProtectionPlans")
        started = steps[0]
        _leaf(element, "CPPstartDate", started.day.isoformat())
        _leaf(element, "CPPendDate", next((s.day.isoformat() for s in steps if s.action == "ended"), None))
        category = started.categories[0] if started.categories else None
        _leaf(element, "InitialCategoryOfAbuse", category)
        _leaf(element, "LatestCategoryOfAbuse", category)
        if started.previous_plans is not None:
            _leaf(element, "NumberOfPreviousCPP", str(started.previous_plans))
        reviews = [s for s in steps if s.action == "reviewed"]
        if reviews:
            dates = SubElement(element, "Reviews")
            for review in reviews:
                _leaf(dates, "CPPreviewDate", review.day.isoformat())


def _plans(events: list[CaseEvent], reference_date: date) -> list[list[Plan]]:
    """Each plan started by the reference date, with its steps up to it."""
    steps: dict[str, list[Plan]] = {}
    for event in events:
        known = isinstance(event, Plan) and (event.action == "started" or event.plan_id in steps)
        if isinstance(event, Plan) and known and event.day <= reference_date:
            steps.setdefault(event.plan_id, []).append(event)
    return list(steps.values())


def _leaf(parent: Element, tag: str, text: str | None) -> None:
    if text is not None:
        SubElement(parent, tag).text = text
