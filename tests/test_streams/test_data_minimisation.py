"""Data minimisation at the door: names, UPNs and birth dates in a source never reach an event.

Each adapter is fed a file carrying them; the events (as they would travel on a topic)
and the rejection messages (as they would reach a log) are searched for every one.
"""

import json
import re
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

from schemas.events import Referral
from streams.simulate import SimulationSpec, simulate
from streams.sources import SourceOptions, SourceRejection, read_source
from streams.sources.cin_census_writer import write_cin_census
from tests.test_streams.samples import (
    AGREEMENTS_HEADER,
    BIRTH_DATE,
    FORMER_UPN,
    NAME,
    UPN,
    assessment,
    census,
    child,
    episode,
    write,
)

OPTIONS = SourceOptions(authority="201", today=date(2026, 11, 1))
POSTCODE = "T28 2WB"
SECRETS = [UPN, FORMER_UPN, BIRTH_DATE, NAME, "Jessamy", "Quennell", POSTCODE]


def outputs(path: Path) -> tuple[str, str]:
    """What would travel: the events' JSON, and the rejection messages (never the raw bytes)."""
    items = list(read_source(path, OPTIONS))
    events = [i.model_dump_json() for i in items if not isinstance(i, SourceRejection)]
    rejections = [i.describe() for i in items if isinstance(i, SourceRejection)]
    assert events, "the file must give events, or the test proves nothing"
    return "\n".join(events), "\n".join(rejections)


def assert_absent(text: str, secrets: list[str]) -> None:
    found = [s for s in secrets if s in text]
    assert not found, f"personal data leaked: {found}"


def test_cin_census(tmp_path: Path) -> None:
    identity = f"<PersonDeathDate>2023-01-01</PersonDeathDate><PersonName>{NAME}</PersonName>"
    text = census(
        child("C1", episode("2023-05-02", assessment("2023-05-03", "2023-06-01", "3A")), extra=identity),
        child("C2", episode(BIRTH_DATE.replace("2011", "2031"))),  # rejected (future): its reason must not leak either
    )
    events, rejections = outputs(write(tmp_path, "census.xml", text))
    assert_absent(events + rejections, [*SECRETS, "2023-01-01", "WBRI", "HAND"])
    assert rejections  # the rejection path was exercised


def test_simulated_census_with_its_synthetic_identifiers(tmp_path: Path) -> None:
    events = simulate(SimulationSpec(children=30, seed=5, start=date(2022, 4, 1), months=12))
    path = tmp_path / "simulated.xml"
    with open(path, "wb") as out:
        write_cin_census(events, out, reference_date=date(2023, 3, 31))
    written = path.read_text()
    upns = re.findall(r"<UPN>(\w+)</UPN>", written)
    births = re.findall(r"<PersonBirthDate>([\d-]+)</PersonBirthDate>", written)
    assert len(upns) == len(births) > 0
    produced, _ = outputs(path)
    event_days = {e.day.isoformat() for e in events}
    assert_absent(produced, upns + [b for b in births if b not in event_days])


def test_annex_a(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.create_sheet("List 3")
    sheet.append(["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Date of Referral",
                  "Referral Source", "Allocated Team", "Allocated Worker", "Placement postcode"])  # fmt: skip
    sheet.append([1001, "b) Female", "a) WBRI", datetime.fromisoformat(BIRTH_DATE), 12.6, "2024-01-09", "1A",
                  "Front Door", NAME, POSTCODE])  # fmt: skip
    sheet.append([1002, "b) Female", "a) WBRI", BIRTH_DATE, 12.6, "9999", "1A", "Front Door", NAME, POSTCODE])
    path = tmp_path / "annex-a.xlsx"
    book.save(path)
    events, rejections = outputs(path)
    assert_absent(events + rejections, [*SECRETS, "WBRI", "Female"])
    assert rejections


def test_agreements_csv(tmp_path: Path) -> None:
    header = AGREEMENTS_HEADER + ",child_name,upn,date_of_birth"
    rows = [
        f"wa-1,C1,CIN East,2024-01-10,2024-02-10,,,,yes,{NAME},{UPN},{BIRTH_DATE}",
        f"wa-2,{NAME},CIN East,2024-01-10,,,,,no,{NAME},{UPN},{BIRTH_DATE}",  # a name where the ID should be
        f"wa-3,C3,CIN East,{BIRTH_DATE}x,,,,,no,{NAME},{UPN},{BIRTH_DATE}",
    ]
    events, rejections = outputs(write(tmp_path, "agreements.csv", "\n".join([header, *rows])))
    assert_absent(events + rejections, SECRETS)
    assert rejections.count("rejected") == 2


def test_json_lines(tmp_path: Path) -> None:
    """Native events may not carry a field the contract lacks: the event is refused, unechoed."""
    good = Referral(event_id="r1", child_id="C1", occurred_at=datetime(2024, 1, 9), recorded_at=datetime(2024, 1, 9),
                    team="Front Door", source="lcs")  # fmt: skip
    leaky = json.loads(good.model_dump_json()) | {"event_id": "r2", "name": NAME, "upn": UPN, "dob": BIRTH_DATE}
    wrong_place = json.loads(good.model_dump_json()) | {"event_id": "r3", "child_id": NAME, "team": UPN}
    lines = [good.model_dump_json(), json.dumps(leaky), json.dumps(wrong_place)]
    events, rejections = outputs(write(tmp_path, "events.jsonl", "\n".join(lines)))
    assert_absent(events + rejections, SECRETS)
    assert rejections.count("rejected") == 2
