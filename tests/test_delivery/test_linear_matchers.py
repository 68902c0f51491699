"""Finding 6 of issue 14: a regular-expression silence cannot hang the dispatcher.

Python's backtracking `re` takes about 2^n steps for `(a|a)*b` against n letters a; at
40 it never finished. Matchers are RE2 now, so the real dispatcher gets through in
bounded time, and what RE2 cannot run in linear time is refused when the silence is made.
"""

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from casewatch.delivery.config import RoutingConfigError, load_routing
from casewatch.delivery.matchers import parse_matcher
from casewatch.delivery.outbox import enqueuer, list_notifications
from casewatch.delivery.silences import add_silence
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import T0, write_config
from tests.test_delivery.test_api import AUTH, serve
from tests.test_delivery.test_cli import casewatch

HOSTILE = 'team=~"(a|a)*b"'
LONG_TEAM = "a" * 40


def test_the_hostile_silence_does_not_hang_the_real_dispatcher(database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, {"route": {"receiver": "ops", "group_by": ["child_id"], "group_wait": "0s"},
                                     "receivers": [{"name": "ops", "console": {}}]})  # fmt: skip
    engine = connect(database_url)
    # Ten years, so that it is active when the dispatcher runs on the wall clock.
    add_silence(engine, [HOSTILE], ends_at=T0 + timedelta(days=3650), actor="team.manager", now=T0, max_days=3650)
    alerts = [make_alert(f"long-{n}", child_id=f"C20{n:02d}", team=LONG_TEAM) for n in range(3)]
    upsert_alerts(engine=engine, alerts=alerts, on_stored=enqueuer(load_routing(config)))
    engine.dispose()

    started = time.monotonic()
    done = casewatch(database_url, "dispatch", "--once", config=config)  # the helper's timeout is 60 s
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 30, f"dispatch took {elapsed:.1f}s"
    assert "handled 3 notifications" in done.stdout
    assert done.stdout.count(f"team {LONG_TEAM}") == 3  # not silenced: the team has no b
    assert {n.status for n in list_notifications(connect(database_url))} == {"sent"}


def test_a_matching_team_is_still_silenced_by_a_regex() -> None:
    matcher = parse_matcher(HOSTILE)
    assert matcher.matches({"team": "a" * 40 + "b"})
    assert not matcher.matches({"team": LONG_TEAM})
    assert parse_matcher("team=~CIN.*").matches({"team": "CIN East"})
    assert not parse_matcher("team=~CIN").matches({"team": "CIN East"})  # the whole value, as before


@pytest.mark.parametrize("pattern", [r'team=~"(a)\\1"', 'team=~"(?=a)a"', 'team!~"(?<!x)a"'])
def test_a_regex_re2_cannot_run_is_refused_by_the_cli(database_url: str, pattern: str) -> None:
    refused = casewatch(database_url, "silence", "add", pattern, "--by", "team.manager")
    assert refused.returncode == 1
    assert "cannot be used" in refused.stderr and "linear time" in refused.stderr
    assert casewatch(database_url, "silence", "list").stdout.strip() == "No silences."


def test_a_regex_re2_cannot_run_is_refused_over_http(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        new = {"matchers": [r'team=~"(a)\\1"'], "duration": "1h"}
        refused = await client.post("/v1/silences", headers=AUTH, json=new)
        assert refused.status == 400
        assert "linear time" in (await refused.json())["error"]
        assert (await (await client.get("/v1/silences", headers=AUTH)).json())["silences"] == []

    serve(database_url, scenario)


def test_a_routing_file_with_a_backreference_is_refused_at_load(tmp_path: Path) -> None:
    route = {"receiver": "ops", "routes": [{"matchers": [r'team=~"(x)\\1"'], "receiver": "ops"}]}
    config = write_config(tmp_path, {"route": route, "receivers": [{"name": "ops", "console": {}}]})
    with pytest.raises(RoutingConfigError, match="linear time"):
        load_routing(config)
