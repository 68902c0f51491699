"""`casewatch simulate --format ...`: each format is written, and reads back without rejections."""

from datetime import date
from pathlib import Path

import pytest

from schemas.events import Plan
from streams.simulate import SimulationSpec, simulate
from streams.sources import SourceOptions, SourceRejection, detect_format, read_source
from tests.test_casewatch.test_replay_cli import EXTERNAL, REPO, casewatch

SIMULATION = ("--children", "120", "--seed", "4", "--start", "2022-04-01", "--months", "18")


@pytest.mark.parametrize(
    ("format", "event_types"),
    [
        ("cin-census", {"referral", "assessment", "closure", "section47", "plan"}),
        ("agreements-csv", {"agreement"}),
        (
            "jsonl",
            {"contact", "referral", "assessment", "strategy_discussion", "section47", "plan", "closure", "agreement"},
        ),
    ],
)
def test_each_format_is_written_and_read_back_whole(tmp_path: Path, format: str, event_types: set[str]) -> None:
    path = tmp_path / f"simulated.{format}"
    done = casewatch("simulate", *SIMULATION, "--format", format, "-o", str(path))
    assert done.returncode == 0, done.stderr
    assert detect_format(path) == format
    items = list(read_source(path, SourceOptions(today=date(2026, 11, 1))))
    assert not [i.describe() for i in items if isinstance(i, SourceRejection)]
    assert {i.event_type for i in items if not isinstance(i, SourceRejection)} == event_types
    simulated = simulate(SimulationSpec(children=120, seed=4, start=date(2022, 4, 1), months=18))
    wanted = {(e.child_id, e.event_type, e.day) for e in simulated if e.event_type in event_types}
    read = {(e.child_id, e.event_type, e.day) for e in items if not isinstance(e, SourceRejection)}
    if format == "cin-census":  # a snapshot: assessments authorised after the reference date are in progress
        wanted = {w for w in wanted if w[1] != "assessment" or w in read}
        # The census has no CIN plan reviews.
        cin_reviews = {(e.child_id, e.event_type, e.day) for e in simulated
                       if isinstance(e, Plan) and e.plan_type == "cin" and e.action == "reviewed"}  # fmt: skip
        wanted -= cin_reviews - {(e.child_id, e.event_type, e.day) for e in items if isinstance(e, Plan)}
    assert read == wanted


@pytest.mark.skipif(not (REPO / EXTERNAL).is_dir(), reason=f"the XSDs are not at {EXTERNAL} beside the repository")
def test_the_census_is_valid_against_the_2024_xsd(tmp_path: Path) -> None:
    import xmlschema

    path = tmp_path / "census.xml"
    done = casewatch("simulate", *SIMULATION, "--format", "cin-census", "--lea", "201", "-o", str(path))
    assert done.returncode == 0, done.stderr
    schema = xmlschema.XMLSchema(str(REPO / EXTERNAL / "CIN_schema_2024.xsd"))
    # One known deviation: this copy of the XSD types NumberOfPreviousCPP as a positive integer,
    # while returns and Annex A List 7 carry 0 for a child's first plan; the census writes 0 too.
    errors = list(schema.iter_errors(str(path)))
    first_plans = [e for e in errors if e.path and e.path.endswith("/NumberOfPreviousCPP") and e.obj == 0]
    assert first_plans and errors == first_plans, errors[:3]


def test_standard_output_is_the_default(tmp_path: Path) -> None:
    done = casewatch("simulate", "--children", "3", "--format", "agreements-csv")
    assert done.returncode == 0 and done.stdout.startswith("agreement_id,child_id,team,made_date")
