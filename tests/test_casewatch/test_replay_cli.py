"""`casewatch replay` through the real command line: one JSON document, DfE figures, --as-of."""

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.events import Referral
from streams.simulate import SimulationSpec, simulate
from streams.sources.cin_census_writer import write_cin_census
from tests.test_streams.samples import AGREEMENTS_HEADER, census, child, episode, write

REPO = Path(__file__).parents[2]
# CI clones the repository with shared/ beside it; the command is run from the repository root.
EXTERNAL = Path("..") / "shared" / "data" / "external"
needs_samples = pytest.mark.skipif(
    not (REPO / EXTERNAL).is_dir(), reason=f"the sample files are not at {EXTERNAL} beside the repository"
)


def casewatch(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "casewatch", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def replay_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = casewatch("replay", *args, "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # exactly one JSON document: anything else on stdout fails here
    assert set(document) == {"events", "rejected", "alerts", "stats", "volume", "rules", "data_quality"}
    for week in document["volume"]:
        assert set(week) == {"team", "week", "immediate", "worklist_lines", "report_only"}
    assert isinstance(document["events"], int) and isinstance(document["rejected"], int)
    assert isinstance(document["alerts"], list)
    stats = document["stats"]
    # The figures over all the data keep their keys; the periods came beside them.
    assert set(stats) == {"children", "referrals", "re_referrals", "re_referral_rate", "as_of", "periods"}
    for period in stats["periods"]:
        assert period["kind"] in ("reporting_year", "rolling_12_months") and period["first"] <= period["last"]
        assert set(period["by_nfa"]) == {"nfa", "not_nfa", "not_given"}
        assert sum(group["referrals"] for group in period["by_nfa"].values()) == period["referrals"]
    assert all(isinstance(stats[k], int) for k in ("children", "referrals", "re_referrals"))
    assert isinstance(stats["re_referral_rate"], float)
    return document


@needs_samples
def test_the_sample_cin_census_replays_to_the_documented_json() -> None:
    document = replay_json(str(EXTERNAL / "cin-2022.xml"))
    # One child, one episode: referral, closure and CIN plan start and end are kept; the
    # sample's placeholder dates put its assessment, enquiry and CP plan before the referral.
    assert document["events"] == 4 and document["rejected"] == 3
    assert overall(document) == {"children": 1, "referrals": 1, "re_referrals": 0, "re_referral_rate": 0.0}
    # Its one referral, of 1970, is the only one of its reporting year, and not an NFA.
    [year, rolling] = document["stats"]["periods"]
    assert (year["period"], year["first"], year["last"], year["referrals"]) == (
        "1970-71",
        "1970-04-01",
        "1971-03-31",
        1,
    )
    assert year["by_nfa"]["not_nfa"]["referrals"] == 1 and rolling["kind"] == "rolling_12_months"
    assert document["alerts"] == []


@needs_samples
def test_the_sample_annex_a_workbook_replays_to_the_documented_json() -> None:
    document = replay_json(str(EXTERNAL / "Annex_A.xlsx"))
    assert document["events"] > 30 and document["rejected"] == 1
    assert document["stats"]["referrals"] >= 5


@needs_samples
def test_the_sample_annex_a_reports_the_re_referrals_its_list_3_implies() -> None:
    stats = replay_json(str(EXTERNAL / "Annex_A.xlsx"))["stats"]
    # List 3's six referrals of 16 September 2020 give "Number of Referrals in Last 12 Months" 0, 2, 1, 0, 2, 0.
    years = {p["period"]: p for p in stats["periods"] if p["kind"] == "reporting_year"}
    year = years["2020-21"]
    assert (year["referrals"], year["re_referrals"], year["re_referrals_from_source_history"]) == (6, 3, 3)
    assert year["complete"] is False  # the workbook's last date is in February 2021: the year is to date
    assert year["by_nfa"]["not_nfa"] == {"referrals": 6, "re_referrals": 3, "re_referral_rate": 0.5}
    # List 6's CIN start dates of 2006-2017 are in their own years, never in 2020-21's figure.
    assert set(years) == {"2006-07", "2008-09", "2010-11", "2016-17", "2020-21"}
    assert sum(p["referrals"] for p in years.values()) == stats["referrals"]


def test_a_simulated_census_of_ten_thousand_episodes_gives_the_simulators_re_referral_count(tmp_path: Path) -> None:
    spec = SimulationSpec(children=8_000, seed=11, start=date(2021, 4, 1), months=24)
    events = simulate(spec)
    path = tmp_path / "census.xml"
    with open(path, "wb") as out:
        episodes = write_cin_census(events, out, reference_date=spec.end - timedelta(days=1))
    assert episodes >= 10_000

    document = replay_json(str(path))

    referral_days: dict[str, set[date]] = defaultdict(set)
    for event in events:
        if isinstance(event, Referral):
            referral_days[event.child_id].add(event.day)
    expected = sum(
        any(earlier < later and _within_a_year(earlier, later) for earlier in days) for days in referral_days.values()
        for later in days
    )  # fmt: skip
    assert document["rejected"] == 0
    assert document["stats"]["referrals"] == sum(len(d) for d in referral_days.values()) == episodes
    assert document["stats"]["re_referrals"] == expected
    assert 0.15 < document["stats"]["re_referral_rate"] < 0.3  # the simulator aims at the national 22%


def overall(document: dict[str, Any]) -> dict[str, Any]:
    """The figures over all the data, as before periods were added."""
    return {k: v for k, v in document["stats"].items() if k not in ("as_of", "periods")}


def _within_a_year(earlier: date, later: date) -> bool:
    """later <= earlier + 12 calendar months, as a comparison of (year, month, day).

    29 Feb + 12 months is 28 Feb: (y+1, 2, 29) is above 28 Feb and below 1 Mar, as it should.
    """
    return (later.year, later.month, later.day) <= (earlier.year + 1, earlier.month, earlier.day)


def test_as_of_ignores_what_happened_later_and_rejections_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "census.xml", census(
        child("C1", episode("2023-05-02", closure="2023-06-01", reason="RC8"), episode("2023-09-01")),
        child("C2", episode("2023-07-01", closure="2023-06-01", reason="RC8")),  # closed before referred: refused
    ))  # fmt: skip
    agreements = write(tmp_path, "agreements.csv", f"{AGREEMENTS_HEADER}\nwa-1,C1,CIN East,2023-06-01,,,,,yes\n")
    everything = replay_json(str(path), str(agreements))
    assert everything["rejected"] == 1
    assert overall(everything) == {"children": 1, "referrals": 2, "re_referrals": 1, "re_referral_rate": 0.5}
    [alert] = [a for a in everything["alerts"] if a["rule"] == "rereferral_after_agreement"]
    # left in place at the first episode's closure: same day; a re-referral, but no history that makes it high
    assert (alert["rule"], alert["child_id"], alert["severity"], alert["delivery"]) == (
        "rereferral_after_agreement", "C1", "medium", "immediate")  # fmt: skip
    assert alert["facts"]["is_dfe_rereferral"] is True
    assert alert["facts"]["referral_date"] == "2023-09-01" and alert["facts"]["agreement_id"] == "wa-1"

    earlier = replay_json(str(path), str(agreements), "--as-of", "2023-08-31")
    assert earlier["stats"]["referrals"] == 1
    assert [a for a in earlier["alerts"] if a["rule"] == "rereferral_after_agreement"] == []
    assert earlier["stats"]["as_of"] == "2023-08-31"
    assert earlier["stats"]["periods"][-1]["period"] == "12 months to 2023-08-31"


def test_volume_counts_each_team_s_week_under_the_configured_routing(tmp_path: Path) -> None:
    path = write(tmp_path, "census.xml", census(
        child("C1", episode("2023-05-02", closure="2023-06-01", reason="RC8"), episode("2023-09-01")),
    ))  # fmt: skip
    agreements = write(tmp_path, "agreements.csv", f"{AGREEMENTS_HEADER}\nwa-1,C1,CIN East,2023-06-01,,,,,yes\n")
    document = replay_json(str(path), str(agreements))
    [alert] = [a for a in document["alerts"] if a["rule"] == "rereferral_after_agreement"]
    week = "2023-W35"  # Friday 1 September 2023, the re-referral
    raised = next(v for v in document["volume"] if v["week"] == week)
    by_class = {"immediate": (1, 1, 0), "worklist": (0, 1, 0), "report": (0, 0, 1)}[alert["delivery"]]
    assert (raised["team"], raised["immediate"], raised["worklist_lines"], raised["report_only"]) == (
        alert["team"], *by_class,
    )  # fmt: skip
    assert document["volume"][-1]["week"] == week  # the clock stops at the last event

    # Every class sent on its own, nothing on the worklist: the routing decides the columns.
    config = write(tmp_path, "casewatch.yaml", yaml.safe_dump({"routing": {
        "route": {"receiver": "console"}, "receivers": [{"name": "console", "console": {}}],
        "notify_classes": ["immediate", "worklist", "report"],
        "worklist": {"classes": ["immediate"], "teams": ["Front Door"]},
    }}))  # fmt: skip
    routed = replay_json(str(path), str(agreements), env=os.environ | {"CASEWATCH_CONFIG": str(config)})
    weeks = [v for v in routed["volume"] if v["week"] == week]
    assert [(v["team"], v["immediate"], v["worklist_lines"]) for v in weeks] == [
        ("CIN East", 1, 1 if alert["delivery"] == "immediate" else 0), ("Front Door", 0, 0),
    ]  # fmt: skip


def test_the_table_names_the_figures_and_the_alerts(tmp_path: Path) -> None:
    path = write(tmp_path, "census.xml", census(child("C1", episode("2023-05-02"), episode("2023-09-01"))))
    done = casewatch("replay", str(path))
    assert done.returncode == 0, done.stderr
    assert "referrals 2  re-referrals 1 (50.0%" in done.stdout
    # the first episode was never closed, so the second referral is the validator's 8815 case
    assert "referrals in an open episode 1 (not counted as referrals" in done.stdout
    assert "  plan_not_smart                         silent: no plan outcomes in these sources" in done.stdout
    missing = casewatch("replay", str(tmp_path / "nowhere.xml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


SILENT_ON_A_CENSUS = {
    "sexual_abuse_indicator_not_recorded": "concern codes on contacts or referrals",
    "plan_not_smart": "plan outcomes",
    "child_views_not_recorded": "child's views recorded on assessments",
}


def test_replay_on_a_census_alone_says_which_rules_are_silent_and_what_they_lack(tmp_path: Path) -> None:
    spec = SimulationSpec(children=300, seed=5)
    path = tmp_path / "census.xml"
    with open(path, "wb") as out:
        write_cin_census(simulate(spec), out, reference_date=spec.end - timedelta(days=1))
    rules = replay_json(str(path))["rules"]
    for rule, field in SILENT_ON_A_CENSUS.items():
        assert field in rules[rule]["missing"], rule
    assert rules["sexual_abuse_indicator_not_recorded"]["variants"]["contact"] is False
    assert rules["plan_not_smart"] == {"runs": False, "missing": ["plan outcomes"]}
    assert rules["child_views_not_recorded"] == {"runs": False, "missing": ["child's views recorded on assessments"]}
    assert rules["team_rereferral_rate_high"] == {"runs": True, "missing": []}  # a census has referrals
    assert rules["rereferral_after_agreement"] == {"runs": False, "missing": ["written agreements"]}
    dry = casewatch("ingest", "--dry-run", str(path))
    assert dry.returncode == 0, dry.stderr
    silent = "silent: no child's views recorded on assessments in these sources"
    assert f"  {'child_views_not_recorded':<38} {silent}" in dry.stdout


@needs_samples
def test_the_shared_census_sample_alone_reports_the_same_silent_rules() -> None:
    rules = replay_json(str(EXTERNAL / "cin-2022.xml"))["rules"]
    for rule, field in SILENT_ON_A_CENSUS.items():
        assert field in rules[rule]["missing"], rule
        assert rules[rule]["runs"] is False, rule
