"""The written-agreement extract: documented columns -> made/reviewed/breached/ended events."""

import io
from datetime import date
from pathlib import Path

import pytest

from schemas.events import WrittenAgreement
from streams.simulate import SimulationSpec, simulate
from streams.sources import SourceOptions, SourceRejection, read_source
from streams.sources.agreements_csv import write_agreements_csv
from tests.test_streams.samples import AGREEMENTS_HEADER, write

OPTIONS = SourceOptions(authority="201", today=date(2026, 11, 1))


def read(
    tmp_path: Path, *rows: str, header: str = AGREEMENTS_HEADER
) -> tuple[list[WrittenAgreement], list[SourceRejection]]:
    items = list(read_source(write(tmp_path, "agreements.csv", "\n".join((header, *rows)) + "\n"), OPTIONS))
    events = [i for i in items if isinstance(i, WrittenAgreement)]
    assert len(events) + sum(isinstance(i, SourceRejection) for i in items) == len(items)
    return events, [i for i in items if isinstance(i, SourceRejection)]


def test_a_row_becomes_the_agreement_history(tmp_path: Path) -> None:
    events, rejections = read(
        tmp_path, "wa-1,C1001,CIN East,2024-01-10,2024-02-10,2024-02-12,2024-03-01;2024-04-02,2024-06-30,yes"
    )
    assert rejections == []
    assert [(e.action, e.day.isoformat()) for e in events] == [
        ("made", "2024-01-10"), ("reviewed", "2024-02-12"), ("breached", "2024-03-01"),
        ("breached", "2024-04-02"), ("ended", "2024-06-30"),
    ]  # fmt: skip
    made = events[0]
    assert (made.agreement_id, made.child_id, made.team, made.review_due) == (
        "wa-1",
        "C1001",
        "CIN East",
        date(2024, 2, 10),
    )
    assert all(e.accompanies_closure and e.source == "agreements-csv" for e in events)
    assert len({e.event_id for e in events}) == 5


def test_columns_may_come_in_any_order_and_extra_ones_are_never_read(tmp_path: Path) -> None:
    header = "child_name,made_date,child_id,agreement_id,notes"
    events, rejections = read(tmp_path, "Jessamy Quennell,2024-01-10,C1,wa-9,keeps to it", header=header)
    assert rejections == []
    [made] = events
    assert (made.child_id, made.agreement_id, made.team, made.accompanies_closure) == ("C1", "wa-9", "LA 201", False)


@pytest.mark.parametrize(
    ("row", "field", "code"),
    [
        (",C1,T,2024-01-10,,,,,", "agreement_id", "missing"),
        ("wa-1,Jessamy Quennell,T,2024-01-10,,,,,", "child_id", "invalid_id"),
        ("wa-1,C1,T,10-01-2024,,,,,", "made_date", "invalid_date"),
        ("wa-1,C1,T,2027-01-10,,,,,", "made_date", "future_date"),
        ("wa-1,C1,T,2024-01-10,2024-01-01,,,,", "review_due_date", "date_order"),
        ("wa-1,C1,T,2024-01-10,,2024-02-01;2023-12-31,,,", "reviewed_dates", "date_order"),
        ("wa-1,C1,T,2024-01-10,,,2024-02-30,,", "breach_dates", "invalid_date"),
        ("wa-1,C1,T,2024-01-10,,,,2024-01-09,", "end_date", "date_order"),
        ("wa-1,C1,T,2024-01-10,,,,,perhaps", "accompanies_closure", "invalid_value"),
        ("wa-1,C1,Team <script>,2024-01-10,,,,,", "team", "invalid_id"),
    ],
)
def test_a_bad_row_is_rejected_with_its_row_and_field_and_the_next_is_read(
    tmp_path: Path, row: str, field: str, code: str
) -> None:
    events, rejections = read(tmp_path, row, "wa-2,C2,T,2024-01-10,,,,,no")
    [rejection] = rejections
    assert (rejection.position, rejection.field, rejection.code) == ("row 2", field, code)
    assert "Jessamy" not in rejection.describe()
    assert [e.agreement_id for e in events] == ["wa-2"]


def test_a_file_without_the_required_columns_is_refused_once(tmp_path: Path) -> None:
    events, rejections = read(tmp_path, "C1,2024-01-10", header="child_id,made")
    assert events == []
    [rejection] = rejections
    assert rejection.code == "missing_column" and "agreement_id, made_date" in rejection.reason


def test_loading_the_same_extract_twice_gives_the_same_ids(tmp_path: Path) -> None:
    row = "wa-1,C1,T,2024-01-10,2024-02-10,2024-02-12,,,yes"
    first, _ = read(tmp_path, row)
    second, _ = read(tmp_path, "wa-0,C9,T,2024-01-01,,,,,no", row)
    assert [e.event_id for e in first] == [e.event_id for e in second[1:]]


def test_the_writer_round_trips_the_simulators_agreements(tmp_path: Path) -> None:
    simulated = [e for e in simulate(SimulationSpec(children=150, seed=3)) if isinstance(e, WrittenAgreement)]
    out = io.StringIO()
    rows = write_agreements_csv(simulated, out)
    assert rows == len({e.agreement_id for e in simulated})
    events, rejections = read(tmp_path, *out.getvalue().splitlines()[1:])
    assert rejections == []
    facts = lambda es: sorted((e.child_id, e.agreement_id, e.action, e.day, e.accompanies_closure) for e in es)  # noqa: E731
    assert facts(events) == facts(simulated)


FULL_HEADER = f"{AGREEMENTS_HEADER},agreement_type,context,review_outcome,owner_team,owner_worker_id"


def test_a_minimal_extract_of_id_child_team_and_made_date_is_read(tmp_path: Path) -> None:
    events, rejections = read(tmp_path, "wa-1,C1,CIN East,2024-01-10", header="agreement_id,child_id,team,made_date")
    assert rejections == []
    [made] = events
    assert (made.action, made.team, made.day, made.review_due, made.accompanies_closure) == (
        "made", "CIN East", date(2024, 1, 10), None, False,
    )  # fmt: skip
    assert (made.agreement_type, made.context, made.owner_team, made.owner_worker_id) == (None, None, None, None)


def test_the_optional_columns_of_a_fuller_extract_are_read(tmp_path: Path) -> None:
    events, rejections = read(
        tmp_path,
        "wa-1,C1,CIN East,2024-01-10,2024-02-10,2024-02-09;2024-03-12,,,no,Safety plan,S47,kept;not kept,CP Team,W-42",
        "wa-2,C2,CIN East,2024-01-10,,2024-02-09,,,yes,written-undertaking,at closure,Partly,,",
        header=FULL_HEADER,
    )
    assert rejections == []
    first = [e for e in events if e.agreement_id == "wa-1"]
    made = first[0]
    assert (made.agreement_type, made.context, made.owner_team, made.owner_worker_id) == (
        "safety_plan", "s47", "CP Team", "W-42",
    )  # fmt: skip
    assert [(e.day.isoformat(), e.review_outcome) for e in first if e.action == "reviewed"] == [
        ("2024-02-09", "kept"), ("2024-03-12", "not_kept"),
    ]  # fmt: skip
    assert all(e.owner_team == "CP Team" for e in first)
    second = {e.action: e for e in events if e.agreement_id == "wa-2"}
    assert (second["made"].agreement_type, second["made"].context) == ("written_undertaking", "closure")
    assert second["reviewed"].review_outcome == "partly" and second["made"].owner_team is None


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ("Promise to Jane,,,,", "agreement_type"),
        ("safety_plan,at the kitchen table,,,", "context"),
        ("safety_plan,cp,went badly,,", "review_outcome"),
        ("safety_plan,cp,kept;kept;kept,,", "review_outcome"),  # three outcomes, one review
        ("safety_plan,cp,,Mrs Smith's team!,", "owner_team"),
        ("safety_plan,cp,,,Jane Smith", "owner_worker_id"),
    ],
)
def test_a_bad_optional_value_rejects_its_row_naming_row_and_field_without_echoing_it(
    tmp_path: Path, cells: str, field: str
) -> None:
    events, [rejection] = read(
        tmp_path,
        f"wa-1,C1,CIN East,2024-01-10,,2024-02-01,,,no,{cells}",
        "wa-2,C2,CIN East,2024-01-10,,,,,no,,,,,",
        header=FULL_HEADER,
    )
    assert (rejection.position, rejection.field) == ("row 2", field)
    bad = [part for part in cells.split(",") if part][-1]
    assert rejection.value is None and bad not in rejection.describe()
    for word in bad.split():
        assert word not in rejection.reason
    assert {e.agreement_id for e in events} == {"wa-2"}


def test_the_writer_round_trips_the_simulators_optional_fields(tmp_path: Path) -> None:
    simulated = [e for e in simulate(SimulationSpec(children=300, seed=5)) if isinstance(e, WrittenAgreement)]
    out = io.StringIO()
    write_agreements_csv(simulated, out)
    events, rejections = read(tmp_path, *out.getvalue().splitlines()[1:], header=out.getvalue().splitlines()[0])
    assert rejections == []

    def fields(e: WrittenAgreement) -> tuple[object, ...]:
        return (e.child_id, e.agreement_id, e.action, e.day, e.agreement_type, e.context, e.review_outcome,
                e.owner_team, e.owner_worker_id)  # fmt: skip

    assert sorted(map(fields, events), key=str) == sorted(map(fields, simulated), key=str)
