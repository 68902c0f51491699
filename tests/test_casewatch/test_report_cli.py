"""`casewatch report` through the real command line: HTML and JSON from the shared samples and a
simulated council, comparators from the YAML, alerts from a real database, the audit CSV, --help."""

import argparse
import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.report_figures import ENGLAND
from casewatch.delivery.lifecycle import change
from casewatch.report.cli import comparators, configure
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_casewatch.test_replay_cli import EXTERNAL, REPO, casewatch, needs_samples, replay_json


@pytest.fixture(scope="module")
def council(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("council") / "council.jsonl"
    done = casewatch("simulate", "--children", "400", "--months", "24", "--seed", "2", "-o", str(path))
    assert done.returncode == 0, done.stderr
    return path


def report_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = casewatch("report", *args, "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    assert {"as_of", "comparators", "rereferrals", "agreements", "practice", "alerts", "rejected"} <= set(document)
    return document


@needs_samples
def test_the_shared_samples_give_an_html_page_and_a_json_document(tmp_path: Path) -> None:
    sources = [str(EXTERNAL / "cin-2022.xml"), str(EXTERNAL / "Annex_A.xlsx")]
    page = tmp_path / "report.html"
    done = casewatch("report", *sources, "-o", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3  # no agreements: no cohort chart
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from anywhere
    document = report_json(*sources)
    year = document["rereferrals"]["periods"][0]
    assert year["kind"] == "reporting_year" and year["referrals"] >= 1
    # Annex A carries no agreements and the census no plan outcomes: those say so instead of a zero.
    assert document["agreements"]["window"]["made"] == 0
    assert "no written agreements" in html
    smart = next(m for m in document["practice"] if m["measure"] == "plans_smart")
    assert smart["banner"] and smart["banner"] in html


def test_a_simulated_council_reports_the_same_year_figures_as_replay(council: Path, tmp_path: Path) -> None:
    document = report_json(str(council), "--year", "2024-25", "--months", "12")
    replayed = next(p for p in replay_json(str(council))["stats"]["periods"] if p["period"] == "2024-25")
    year = document["rereferrals"]["periods"][0]
    for key in ("referrals", "re_referrals", "re_referral_rate", "by_nfa"):
        assert year[key] == replayed[key]
    assert document["comparators"] == [{"name": "England", "rate": 0.226, "period": "2024-25"}]
    assert document["alerts"]["source"] == "replay" and document["alerts"]["rows"]
    assert {r["team"] for r in document["rereferrals"]["team_rule"]} >= {"Front Door"}  # the team rule's months
    page = tmp_path / "council.html"
    assert casewatch("report", str(council), "-o", str(page)).returncode == 0
    html = page.read_text(encoding="utf-8")
    assert f"{year['re_referrals']:,} of {year['referrals']:,} referrals were re-referrals" in html


def test_comparators_come_from_the_yaml_and_a_bad_one_is_refused(council: Path, tmp_path: Path) -> None:
    config = tmp_path / "casewatch.yaml"
    config.write_text("report:\n  comparators:\n    - {name: Statistical neighbours, rate: 0.214, period: 2024-25}\n"
                      "    - {name: South East, rate: 0.2}\n")  # fmt: skip
    env = {**os.environ, "CASEWATCH_CONFIG": str(config)}
    names = [c["name"] for c in report_json(str(council), env=env)["comparators"]]
    assert names == ["England", "Statistical neighbours", "South East"]
    config.write_text("report:\n  comparators:\n    - {name: Region, rate: 22.6}\n")
    done = casewatch("report", str(council), "--format", "json", env=env)
    assert done.returncode == 2 and "report.comparators[0].rate: must be a share from 0 to 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_year_is_one_clear_line(council: Path) -> None:
    done = casewatch("report", str(council), "--year", "2024-26", "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("casewatch: setting error: year '2024-26': a reporting year runs from April to the "
                                   "next March, e.g. 2024-25")  # fmt: skip


def test_the_audit_sample_csv_is_the_same_for_the_same_seed(council: Path, tmp_path: Path) -> None:
    files = []
    for name, seed in (("a.csv", "7"), ("b.csv", "7"), ("c.csv", "8")):
        out = tmp_path / name
        done = casewatch("report", str(council), "-o", str(tmp_path / "r.html"), "--audit-sample", "12", "--seed",
                         seed, "--audit-output", str(out))  # fmt: skip
        assert done.returncode == 0, done.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1] != files[2]
    lines = files[0].decode().splitlines()
    assert lines[0] == "child_id,stratum,team,first_date,second_date,reason" and len(lines) == 13


def test_alerts_and_what_managers_did_come_from_the_database(council: Path, database_url: str) -> None:
    engine = connect(database_url)
    try:
        stored = [make_alert(f"k{i}", day=f"2024-11-0{i}", delivery="worklist" if i % 2 else "immediate")
                  for i in range(1, 5)]  # fmt: skip
        team_month = make_alert("team", rule="team_rereferral_rate_high", child_id=None, team="CIN East",
                                day="2024-12-31", delivery="report",
                                facts={"month": "2024-12", "period_start": "2024-01-01", "period_end": "2024-12-31",
                                       "referrals": 40, "rereferrals": 12, "rereferral_rate_percent": "30.0",
                                       "upper_control_limit_percent": "42.1", "change": False,
                                       "front_door_referrals": 0, "front_door_rereferrals": 0, "agreements": 9,
                                       "agreements_followed": 2})  # fmt: skip
        upsert_alerts(engine=engine, alerts=[*stored, team_month])
        now = datetime(2024, 11, 20, tzinfo=UTC)
        change(engine, stored[0].alert_id, "acknowledge", actor="tm.east", now=now)
        change(engine, stored[1].alert_id, "resolve", actor="tm.east", now=now, outcome="reviewed: proportionate",
               note="spoke to the worker")  # fmt: skip
    finally:
        engine.dispose()
    document = report_json(str(council), "--database-url", database_url, "--as-of", date(2025, 3, 1).isoformat())
    load = document["alerts"]
    assert load["source"] == "database"
    assert load["outcomes"] == [
        {"rule": "rereferral_after_agreement", "team": "CIN East", "open": 2, "acknowledged": 1, "resolved": 1,
         "total": 4},
        {"rule": "team_rereferral_rate_high", "team": "CIN East", "open": 1, "acknowledged": 0, "resolved": 0,
         "total": 1},
    ]  # fmt: skip
    # Which outcome each resolution recorded; the resolver's note stays in the database.
    assert load["resolutions"] == [
        {"rule": "rereferral_after_agreement", "team": "CIN East", "outcome": "reviewed: proportionate", "alerts": 1}
    ]
    assert "spoke to the worker" not in json.dumps(document)
    # The worker's monthly team figures, as its team rule stored them.
    assert document["rereferrals"]["team_rule"] == [{
        "team": "CIN East", "month": "2024-12", "period_start": "2024-01-01", "period_end": "2024-12-31",
        "referrals": 40, "rereferrals": 12, "rereferral_rate_percent": "30.0", "upper_control_limit_percent": "42.1",
        "change": False, "front_door_referrals": 0, "front_door_rereferrals": 0, "agreements": 9,
        "agreements_followed": 2}]  # fmt: skip
    november = next(m for m in load["months"] if m["month"] == "2024-11")
    assert (november["immediate"], november["worklist"], november["report"]) == (2, 2, 0)


def test_help_documents_every_option() -> None:
    parser = argparse.ArgumentParser()
    configure(parser)
    done = casewatch("report", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, action.dest
        for option in action.option_strings:
            assert option in text
        assert " ".join(action.help.split()).split("%")[0][:40] in text
    assert (REPO / "README.md").read_text().count("casewatch report") >= 1


def test_the_example_configuration_gives_england_alone() -> None:
    from casewatch.settings import Settings

    example = REPO / "casewatch" / "examples" / "casewatch.example.yaml"
    assert comparators(Settings(config_path=example)) == [ENGLAND]


def test_sources_with_no_valid_event_are_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event_type": "referral", "child_id": "C1"}\n')
    done = casewatch("report", str(bad), "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().endswith("casewatch: setting error: no events to report on (every file was empty or "
                                        "rejected)")  # fmt: skip
