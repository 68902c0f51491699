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
