"""engine.apply_batch: the batch function the live agent, the replay and the row tests share."""

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

import agents.engine
from agents.engine import ClockTick, apply_batch
from agents.rules import RulesConfig
from agents.state import ChildState
from schemas.events import CaseEvent
from tests.test_agents.events import agreement, referral

CONFIG = RulesConfig()


def stored(tables: dict[str, dict[str, object]]) -> Callable[[str], ChildState]:
    return lambda child: ChildState.from_dict(json.loads(json.dumps(tables.get(child))) if child in tables else None)


def test_a_batch_gives_the_states_alerts_and_team_facts_as_values() -> None:
    steps = [agreement("2024-01-10", "wa1"), referral("2024-05-02"), referral("2024-05-02", child="C2")]
    result = apply_batch(steps, stored({}), CONFIG)
    assert set(result.states) == {"C1", "C2"}
    assert [(index, alert.rule) for index, alert in result.alerts] == [(1, "rereferral_after_agreement")]
    # Each team fact with the step it came from: the agreement (0), and both referrals.
    assert sorted({index for index, _ in result.team_facts}) == [0, 1, 2]
    assert not result.failed and not result.stale


def test_a_step_that_fails_is_reported_and_changes_nothing_the_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fold = agents.engine.fold

    def fold_then_fail(state: ChildState, event: CaseEvent) -> None:
        real_fold(state, event)  # the state is changed before the error: a half-applied step
        if event.event_id == "boom":
            raise RuntimeError("a rule's bug")

    monkeypatch.setattr(agents.engine, "fold", fold_then_fail)
    steps = [
        agreement("2024-01-10", "wa1"),
        referral("2024-09-30", event_id="boom"),
        referral("2024-05-02"),
        referral("2024-05-03", child="C2"),
    ]
    result = apply_batch(steps, stored({}), CONFIG)
    assert result.failed == {1: "RuntimeError while applying the rules"}
    child = result.states["C1"]
    assert child.latest is not None and child.latest.isoformat() == "2024-05-02"  # no trace of the failed step
    assert sorted(d.isoformat() for d in child.referrals) == ["2024-05-02"]
    assert [index for index, _ in result.alerts] == [2]
    assert "C2" in result.states


def test_a_state_that_cannot_be_read_fails_that_childs_steps_only() -> None:
    tables: dict[str, dict[str, object]] = {"C1": {"referrals": {"not a date": ["r", "t"]}}}
    result = apply_batch([referral("2024-05-02"), referral("2024-05-02", child="C2")], stored(tables), CONFIG)
    assert list(result.failed) == [0]
    assert list(result.states) == ["C2"]


def test_a_tick_for_a_child_never_seen_has_nothing_due_and_a_stale_event_is_reported() -> None:
    result = apply_batch([ClockTick("C9", datetime(2025, 1, 1, tzinfo=UTC))], stored({}), CONFIG)
    assert not result.states and not result.alerts and not result.failed
    late = apply_batch([referral("2026-01-01"), referral("2020-01-01")], stored({}), CONFIG)
    assert late.stale == [1]
