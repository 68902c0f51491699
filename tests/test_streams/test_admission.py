"""Issue 14: what every door admits, and reasons that never echo what was sent.

The hostile strings are the ones the audit used. Each door is exercised through its own
entry point: a topic message (decode_event, as the worker decodes), an HTTP batch
(read_batch), a JSON-lines file and an agreements CSV (read_source).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.engine import apply
from agents.replay import replay
from agents.rules import RulesConfig
from agents.state import ChildState
from schemas.events import CaseEvent, Referral, WrittenAgreement
from streams.admission import InputPolicy
from streams.batch import JSON_ARRAY, read_batch
from streams.codec import Rejection, decode_event
from streams.sources import SourceOptions, SourceRejection, read_source
from tests.test_agents.events import agreement, referral

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
POLICY = InputPolicy(clock=lambda: NOW)
HOSTILE_KEY = "Jane Smith DOB 2015-02-01 told us her stepfather hits her"


def document(**changes: object) -> dict[str, object]:
    return json.loads(referral("2026-11-02").model_dump_json()) | changes


def through_every_json_door(tmp_path: Path, doc: dict[str, object], policy: InputPolicy = POLICY) -> list[object]:
    """What the topic decode, an HTTP batch and a JSON-lines file make of one event document."""
    raw = json.dumps(doc).encode()
    topic = decode_event(raw, policy=policy)
    [verdict] = read_batch(json.dumps([doc]).encode(), JSON_ARRAY, policy=policy)
    path = tmp_path / "events.jsonl"
    path.write_bytes(raw + b"\n")
    [line] = list(read_source(path, SourceOptions(policy=policy)))
    return [topic, verdict.result, line]


def reasons(results: list[object]) -> list[tuple[str, str]]:
    out = []
    for result in results:
        assert isinstance(result, Rejection | SourceRejection), result
        out.append((result.code, result.reason))
    return out


@pytest.mark.parametrize("when", ["2200-01-01T00:00:00+00:00", "9999-12-31T00:00:00+00:00"])
def test_a_future_dated_event_is_rejected_at_every_door_with_its_reason(tmp_path: Path, when: str) -> None:
    results = through_every_json_door(tmp_path, document(occurred_at=when, recorded_at=when))
    for code, reason in reasons(results):
        assert code == "future_date"
        assert reason.startswith("occurred_at: is more than 1 day after the time it arrived")


def test_the_skew_is_the_policy_s_and_within_it_an_event_is_admitted(tmp_path: Path) -> None:
    soon = (NOW + timedelta(hours=20)).isoformat()
    assert all(
        isinstance(r, Referral) for r in through_every_json_door(tmp_path, document(occurred_at=soon, recorded_at=soon))
    )
    strict = InputPolicy(skew=timedelta(hours=1), clock=lambda: NOW)
    assert {
        c for c, _ in reasons(through_every_json_door(tmp_path, document(occurred_at=soon, recorded_at=soon), strict))
    } == {"future_date"}


def test_a_future_dated_csv_record_is_rejected_by_the_same_check(tmp_path: Path) -> None:
    path = tmp_path / "agreements.csv"
    path.write_text("agreement_id,child_id,made_date,team\nWA1,C1,2026-12-01,Front Door\n")
    yesterday = InputPolicy(clock=lambda: NOW - timedelta(days=5))  # our clock says it is 26 November
    options = SourceOptions(authority="201", today=NOW.date(), policy=yesterday)
    [rejection] = list(read_source(path, options))
    assert isinstance(rejection, SourceRejection) and rejection.code == "future_date"
    assert rejection.position == "row 2"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("child_id", "A123456789012"),  # a UPN
        ("child_id", "A12345678901B"),  # a temporary UPN
        ("team", "Jane Smith 12 Acacia Avenue"),
        ("event_id", "jane.smith@example.org:wa"),
        ("team", "Front Door SW1A 1AA"),
    ],
)
def test_personal_data_in_an_allowed_field_is_refused_unseen(tmp_path: Path, field: str, value: str) -> None:
    for code, reason in reasons(through_every_json_door(tmp_path, document(**{field: value}))):
        assert code == "schema" and reason.startswith(f"{field}:")
        assert value not in reason and "Jane" not in reason and "Acacia" not in reason


def test_a_team_that_is_a_real_team_name_with_numbers_is_admitted(tmp_path: Path) -> None:
    results = through_every_json_door(tmp_path, document(team="Locality 4 Duty Team"))
    assert all(isinstance(r, Referral) for r in results)


def test_with_a_teams_list_an_unknown_team_is_refused_or_replaced(tmp_path: Path) -> None:
    listed = InputPolicy(teams=frozenset({"Front Door", "Unassigned"}), clock=lambda: NOW)
    assert all(isinstance(r, Referral) for r in through_every_json_door(tmp_path, document(), listed))
    for code, reason in reasons(through_every_json_door(tmp_path, document(team="Jane Smith"), listed)):
        assert (code, reason) == ("unknown_team", "team: is not one of the configured teams (teams:)")
    mapped = InputPolicy(teams=listed.teams, unknown_team="Unassigned", clock=lambda: NOW)
    for result in through_every_json_door(tmp_path, document(team="Jane Smith"), mapped):
        assert isinstance(result, Referral) and result.team == "Unassigned"


def test_a_configured_child_id_pattern_is_applied(tmp_path: Path) -> None:
    pattern = InputPolicy(child_id_pattern=re.compile(r"C[0-9]+"), clock=lambda: NOW)
    assert all(isinstance(r, Referral) for r in through_every_json_door(tmp_path, document(), pattern))
    for code, _ in reasons(through_every_json_door(tmp_path, document(child_id="X1"), pattern)):
        assert code == "child_id"


def test_an_unknown_key_is_never_echoed(tmp_path: Path) -> None:
    for code, reason in reasons(through_every_json_door(tmp_path, document(**{HOSTILE_KEY: 1}))):
        assert code == "schema"
        assert "Jane" not in reason and "stepfather" not in reason
        assert "unknown field" in reason


@pytest.mark.parametrize("kind", ["JaneSmith", "jane_smith_2015", "Jane Smith lives at 1 High St"])
def test_an_unknown_event_type_is_never_echoed(tmp_path: Path, kind: str) -> None:
    for code, reason in reasons(through_every_json_door(tmp_path, document(event_type=kind))):
        assert code == "unknown_event_type"
        assert "ane" not in reason.lower().replace("one of", "")


def test_a_nested_unknown_key_is_not_echoed_either() -> None:
    plan = {
        "event_type": "plan", "event_id": "p1", "child_id": "C1", "occurred_at": "2026-11-01T00:00:00Z",
        "recorded_at": "2026-11-01T00:00:00Z", "team": "CP", "source": "test", "plan_id": "p1",
        "plan_type": "cp", "action": "started",
        "outcomes": [{"outcome_id": "o1", "has_measure": True, "has_owner": True, HOSTILE_KEY: "x"}],
    }  # fmt: skip
    result = decode_event(json.dumps(plan).encode(), policy=POLICY)
    assert isinstance(result, Rejection) and "Jane" not in result.reason and "unknown field" in result.reason


def _run_live(events: list[CaseEvent], received_at: datetime | None) -> list[str]:
    state, rules, raised = ChildState(), RulesConfig(), []
    for event in events:
        outcome = apply(state, event, rules, received_at=received_at)
        raised += [a.rule for a in outcome.alerts]
    return raised


def test_one_future_dated_event_does_not_make_the_child_s_real_events_stale() -> None:
    outlier = referral("2026-01-01").model_copy(
        update={"occurred_at": datetime(2200, 1, 1, tzinfo=UTC), "recorded_at": datetime(2200, 1, 1, tzinfo=UTC),
                "event_id": "outlier"}
    )  # fmt: skip
    real: list[CaseEvent] = [agreement("2026-06-10", "wa1"), referral("2026-11-02")]
    assert isinstance(real[0], WrittenAgreement)
    expected = sorted(a.rule for a in replay([outlier, *real], RulesConfig()).alerts.values())
    assert "rereferral_after_agreement" in expected
    # Live, the outlier arrives first; its date is bounded by when it arrived.
    assert "rereferral_after_agreement" in _run_live([outlier, *real], received_at=NOW)
    # Without the bound (what the engine did before), the real events were stale.
    assert _run_live([outlier, *real], received_at=None) == []


def test_an_extreme_timezone_date_is_one_event_s_rejection_not_a_batch_error() -> None:
    extreme = document(occurred_at="9999-12-31T23:59:59-14:00", recorded_at="9999-12-31T23:59:59-14:00")
    good = document()
    verdicts = read_batch(json.dumps([extreme, good]).encode(), JSON_ARRAY, policy=POLICY)
    assert [v.status for v in verdicts] == ["rejected", "accepted"]
    assert isinstance(verdicts[0].result, Rejection)
    assert verdicts[0].result.reason.startswith("occurred_at: Value error, is after the year 9999")
