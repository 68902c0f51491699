"""`casewatch ingest --dry-run`: every format in one run, and a summary of rejections by reason."""

from pathlib import Path

from tests.test_casewatch.test_replay_cli import casewatch
from tests.test_streams.samples import AGREEMENTS_HEADER, census, child, episode, write


def test_a_dry_run_reads_every_format_and_sums_rejections_by_reason(tmp_path: Path) -> None:
    cin = write(tmp_path, "census.xml", census(
        child("C1", episode("2023-05-02", closure="2023-06-01", reason="RC8"), episode("2023-09-01", source="99")),
        child("C2", episode("2023-07-01", closure="2023-08-01", reason="RC42")),
    ))  # fmt: skip
    csv = write(tmp_path, "agreements.csv", f"{AGREEMENTS_HEADER}\nwa-1,C1,T,2023-06-01,,,,,yes\nwa-2,C2,T,,,,,,no\n")
    jsonl = write(tmp_path, "events.jsonl", '{"event_type": "phone_call"}\n')
    done = casewatch("ingest", "--dry-run", str(cin), str(csv), str(jsonl))
    assert done.returncode == 3, done.stderr  # some records were refused
    summary, readiness = done.stdout.split("rules on these sources:\n")
    summary = summary.splitlines()
    assert summary[0].startswith("accepted 4 events, rejected 4 (")  # C1: 2 + 0, C2: 1, wa-1: 1
    assert sorted(summary[1:]) == [
        "  rejected 1: missing (made_date)",
        "  rejected 1: unknown_code (ReasonForClosure)",
        "  rejected 1: unknown_code (ReferralSource)",
        "  rejected 1: unknown_event_type",
    ]
    # what the accepted events carry: a referral, a closure, an agreement at closure; no assessments or plans
    lines = dict(line.split(maxsplit=1) for line in readiness.splitlines())
    assert lines["repeated_agreements"] == "runs"
    assert lines["plan_not_smart"] == "silent: no plan outcomes in these sources"
    review = "runs; review dates variant silent: no agreement review dates in these sources"
    assert lines["agreement_review_overdue"] == review
    assert "census.xml:/Message/Children/Child[1]/CINdetails[2]/ReferralSource: rejected (unknown_code)" in done.stderr
    assert "agreements.csv:row 3: rejected (missing)" in done.stderr
    assert "events.jsonl:1: rejected (unknown_event_type)" in done.stderr


def test_a_missing_file_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    done = casewatch("ingest", "--dry-run", str(tmp_path / "nowhere.xml"))
    assert done.returncode == 2 and "no such file" in done.stderr
