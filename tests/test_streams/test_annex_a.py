"""The Ofsted Annex A adapter: lists 1, 3-7, dates in every form a workbook holds them."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from schemas.events import Assessment, CaseClosure, CaseEvent, Plan, Referral, Section47Enquiry
from streams.sources import SourceOptions, SourceRejection, read_source
from tests.test_streams.samples import BIRTH_DATE, NAME

OPTIONS = SourceOptions(authority="201", today=date(2026, 11, 1))
PERSONAL = ["Gender", "Ethnicity", "Date of Birth", "Age"]
SAMPLE = Path(__file__).parents[2] / ".." / "shared" / "data" / "external" / "Annex_A.xlsx"
BORN = datetime.fromisoformat(BIRTH_DATE)


def workbook(tmp_path: Path, lists: dict[str, tuple[list[str], list[list[Any]]]]) -> Path:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, (columns, rows) in lists.items():
        sheet = book.create_sheet(title)
        sheet.append(["Child Unique ID", *PERSONAL, *columns, "Allocated Worker"])
        for row in rows:
            sheet.append([row[0], "b) Female", "a) WBRI", BORN, 12.3, *row[1:], NAME])
    path = tmp_path / "annex-a.xlsx"
    book.save(path)
    return path


def read(path: Path) -> tuple[list[CaseEvent], list[SourceRejection]]:
    items = list(read_source(path, OPTIONS))
    return [i for i in items if not isinstance(i, SourceRejection)], [
        i for i in items if isinstance(i, SourceRejection)
    ]


def test_each_list_gives_its_events_with_dates_in_any_form(tmp_path: Path) -> None:
    path = workbook(tmp_path, {
        "List 1": (["Date of Contact", "Contact Source"], [[1001, "2024-01-05", "q) 6: Police"]]),
        "List 3": (["Date of Referral", "Referral Source", "Referral NFA?", "Allocated Team"],
                   [[1001, 45300, "j) 3D: Health services", "No", "Front Door"]]),  # Excel serial of 2024-01-09
        "List 4": (["Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation",
                    "Allocated Team"],
                   [[1001, datetime(2024, 1, 10), "15/02/2024", "Assessment North"],
                    [1002, datetime(2024, 1, 10), None, "Assessment North"]]),
        "List 5": (["Strategy discussion initiating Section 47 Enquiry Start Date",
                    "Date of Initial Child Protection Conference", "Allocated Team"],
                   [[1001, "2024-01-12", "2024-01-26", "#N/A"]]),
        "List 6": (["CIN Start Date", "Primary Need Code", "CIN Closure Date", "Reason for Closure", "Allocated Team"],
                   [[1001, datetime(2024, 1, 9), "N1 - Abuse or Neglect", datetime(2024, 6, 1), "RC8", "CIN East"]]),
        "List 7": (["Child Protection Plan Start Date", "Initial Category of Abuse", "Latest Category of Abuse",
                    "Date of latest review conference", "Child Protection Plan End Date", "Allocated Team"],
                   [[1001.0, "2024-01-26", "Neglect", "Sexual abuse", "2024-04-20", None, "CP Team"]]),
        "List 8": (["Date Started to be Looked After"], [[1001, "2024-02-01"]]),  # not read: looked after
    })  # fmt: skip
    events, rejections = read(path)
    assert rejections == []
    assert sorted((e.event_type, e.day.isoformat(), e.team) for e in events) == [
        ("assessment", "2024-02-15", "Assessment North"),
        ("closure", "2024-06-01", "CIN East"),
        ("contact", "2024-01-05", "LA 201"),
        ("plan", "2024-01-26", "CP Team"),
        ("plan", "2024-04-20", "CP Team"),
        ("referral", "2024-01-09", "CIN East"),
        ("referral", "2024-01-09", "Front Door"),
        ("section47", "2024-01-12", "LA 201"),
        ("strategy_discussion", "2024-01-12", "LA 201"),
    ]
    assert {e.child_id for e in events} == {"1001"}
    referrals = [e for e in events if isinstance(e, Referral)]
    # List 3 and List 6 name the same referral: one id, so downstream it is one event.
    assert len({r.event_id for r in referrals}) == 1
    assert {(r.referral_source, r.primary_need) for r in referrals} == {("3D", None), (None, "N1")}
    assert next(e for e in events if isinstance(e, Assessment)).factors == []
    assert next(e for e in events if isinstance(e, Section47Enquiry)).icpc_date == date(2024, 1, 26)
    assert next(e for e in events if isinstance(e, CaseClosure)).reason == "RC8"
    assert {e.action: e.categories for e in events if isinstance(e, Plan)} == {
        "started": ["NEG", "SAB"],
        "reviewed": ["NEG", "SAB"],
    }


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        (["#N/A", "s) 8: Other"], "date of referral", "missing"),
        (["yesterday", "s) 8: Other"], "date of referral", "invalid_date"),
        ([-3, "s) 8: Other"], "date of referral", "invalid_date"),
        (["2027-01-01", "s) 8: Other"], "date of referral", "future_date"),
        (["2024-01-09", "z) 99: Nobody"], "referral source", "unknown_code"),
    ],
)
def test_a_bad_row_is_rejected_with_its_list_and_row(tmp_path: Path, cells: list[Any], field: str, code: str) -> None:
    path = workbook(tmp_path, {"List 3": (["Date of Referral", "Referral Source"],
                                          [[1001, *cells], [1002, "2024-01-09", "1A"]])})  # fmt: skip
    events, rejections = read(path)
    [rejection] = rejections
    assert (rejection.position, rejection.field, rejection.code) == ("List 3 row 2", field, code)
    assert [e.child_id for e in events] == ["1002"]


def test_a_list_without_its_columns_is_reported_once(tmp_path: Path) -> None:
    events, rejections = read(workbook(tmp_path, {"List 3": (["Referral Source"], [[1001, "1A"]])}))
    assert events == []
    assert [(r.position, r.code) for r in rejections] == [("List 3 row 1", "missing_column")]
    assert "date of referral" in rejections[0].reason


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "annex-a.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    events, rejections = read(path)
    assert events == [] and [r.code for r in rejections] == ["unreadable"]


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared/data/external/Annex_A.xlsx is not beside the repository")
def test_the_sample_workbook_is_read() -> None:
    events, rejections = read(SAMPLE)
    assert {e.event_type for e in events} >= {"contact", "referral", "assessment", "section47", "plan"}
    # Its first List 6 row has "PSRMEM - Support with memory and cognition" as primary need: refused, unechoed.
    assert [(r.position, r.field, r.code, r.value) for r in rejections] == [
        ("List 6 row 2", "primary need code", "unknown_code", None)
    ]


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared/data/external/Annex_A.xlsx is not beside the repository")
def test_the_sample_workbook_gives_what_lists_3_4_and_7_carry() -> None:
    events, _ = read(SAMPLE)
    listed = [e for e in events if isinstance(e, Referral) and e.referral_source is not None]  # List 3's rows
    assert len(listed) == 6 and all(e.nfa is False for e in listed)
    # "Number of Referrals in Last 12 Months" is 0, 2, 1, 0, 2, 0 in the sample.
    assert sorted(e.referrals_last_12_months or 0 for e in listed) == [0, 0, 0, 1, 2, 2]
    assessments = [e for e in events if isinstance(e, Assessment)]
    assert assessments and all(e.child_seen is True and e.started_on is not None for e in assessments)
    assert date(2019, 5, 16) in {e.started_on for e in assessments}
    started = [e for e in events if isinstance(e, Plan) and e.action == "started"]
    assert sorted(e.previous_plans or 0 for e in started) == [0, 0, 0, 0, 0, 1, 1]


def test_the_optional_columns_are_read_where_a_list_has_them(tmp_path: Path) -> None:
    path = workbook(tmp_path, {
        "List 3": (["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months"],
                   [[1001, "2024-01-09", "1A", "a) Yes", 3.0], [1002, "2024-01-09", "1A", None, None]]),
        "List 4": (["Continuous Assessment Start Date", "Child Seen During Continuous Assessment",
                    "Continuous Assessment Date of Authorisation"],
                   [[1001, "2024-01-10", "No", "2024-02-01"]]),
        "List 7": (["Child Protection Plan Start Date", "Initial Category of Abuse", "Latest Category of Abuse",
                    "Date of latest review conference", "Child Protection Plan End Date",
                    "Number of Previous Child Protection Plans"],
                   [[1001, "2024-02-10", "Neglect", "Neglect", None, None, "2"]]),
    })  # fmt: skip
    events, rejections = read(path)
    assert rejections == []
    referrals = {e.child_id: e for e in events if isinstance(e, Referral)}
    assert (referrals["1001"].nfa, referrals["1001"].referrals_last_12_months) == (True, 3)
    assert (referrals["1002"].nfa, referrals["1002"].referrals_last_12_months) == (None, None)
    [assessed] = [e for e in events if isinstance(e, Assessment)]
    assert (assessed.child_seen, assessed.started_on) == (False, date(2024, 1, 10))
    assert [e.previous_plans for e in events if isinstance(e, Plan)] == [2]


@pytest.mark.parametrize(
    ("nfa", "earlier", "field"),
    [("Perhaps", 0, "Referral NFA?"), ("No", "Jane", "Number of Referrals in Last 12 Months"),
     ("No", -1, "Number of Referrals in Last 12 Months"), ("No", 2.5, "Number of Referrals in Last 12 Months")],
)  # fmt: skip
def test_a_bad_optional_value_rejects_its_row_without_echoing_it(
    tmp_path: Path, nfa: str, earlier: object, field: str
) -> None:
    path = workbook(tmp_path, {"List 3": (
        ["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months"],
        [[1001, "2024-01-09", "1A", nfa, earlier], [1002, "2024-01-09", "1A", "No", 0]],
    )})  # fmt: skip
    events, [rejection] = read(path)
    assert (rejection.position, rejection.field, rejection.code) == ("List 3 row 2", field, "invalid_value")
    assert rejection.value is None and str(earlier if field.startswith("Number") else nfa) not in rejection.reason
    assert [e.child_id for e in events] == ["1002"]
