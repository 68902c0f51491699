"""Every rule live, on the real broker and worker processes, against replay of the same events."""

import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agents.calendar import add_months
from agents.replay import replay
from agents.rules import TEAM_RULE
from agents.rules.config import ALL_RULES
from agents.rules.team_rereferral_rate_high import rolling
from agents.worklist import build_worklists, shift, week_of, weeks_between
from casewatch.config_file import load_rules
from casewatch.delivery.config import load_routing
from casewatch.delivery.worklists import stored_worklists
from casewatch.storage import connect, count_alerts
from schemas.alerts import Alert
from schemas.events import WrittenAgreement
from streams.publish import Publisher
from streams.simulate import FRONT_DOOR, TEAMS, SimulationSpec, simulate
from tests.integration.support import Deployment, WorkerProcess, read_topic, running_worker, wait_until

# A two-second clock, and a horizon longer than the simulated history: with every event in
# the horizon, the answer cannot depend on the order the worker happens to read topics in.
# The simulator records an event up to 3 days after it occurred (and publishes in recorded
# order), so while events arrive the clock judges 3 days behind event time; `quiet_seconds`
# after the last event the feed is quiet and the watermark (the wall clock) decides, as
# replay's clock runs on to today.
CONFIG = "rules:\n  timer_seconds: 2\n  horizon_months: 36\n  lateness_days: 3\n  quiet_seconds: {quiet}\n"
# History arriving in parts: longer than a pause between parts, so the clock never takes
# a pause for the end of the feed. Events all on the topics before anything is judged: the
# watermark moves only once they are read, so a short quiet period changes no answer.
IN_PARTS_QUIET_SECONDS = 20
PUBLISHED_FIRST_QUIET_SECONDS = 5
CHUNKS = 6  # the history arrives in this many parts, the worker catching up in between


def configured(deployment: Deployment, tmp_path: Path, quiet_seconds: int) -> Deployment:
    path = tmp_path / "casewatch.yaml"
    path.write_text(CONFIG.format(quiet=quiet_seconds))
    return deployment.with_config(path)


def publish(deployment: Deployment, events: list) -> None:  # type: ignore[type-arg]
    with Publisher(str(deployment.settings.bootstrap_servers), deployment.settings.topics) as publisher:
        for event in events:
            publisher.event(event)


def alerts_on_topic(deployment: Deployment) -> tuple[int, dict[str, Alert]]:
    """How many records the alerts topic holds, and the latest version of each alert id."""
    s = deployment.settings
    records = read_topic(str(s.bootstrap_servers), s.topics.alerts, s.partitions, timeout=60)
    latest = {}
    for record in records:  # an id always travels with one key, so one partition, in order
        alert = Alert.model_validate_json(record.value)
        latest[alert.alert_id] = alert
    return len(records), latest


def by_rule(alerts: dict[str, Alert]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for alert_id, alert in alerts.items():
        grouped[alert.rule].add(alert_id)
    return grouped


def test_a_simulated_stream_arriving_while_the_clock_runs_gives_the_same_alert_ids_live_and_in_replay(
    deployment: Deployment, tmp_path: Path
) -> None:
    deployment = configured(deployment, tmp_path, IN_PARTS_QUIET_SECONDS)
    rules = load_rules(deployment.settings)
    today = datetime.now(UTC).date()
    # Starting 31 months back, the 24 months simulated (and the reviews and breaches after
    # them) are all past, and the last year still holds referrals for the team gauges.
    start = add_months(today.replace(day=1), -31)
    events = simulate(SimulationSpec(children=1500, seed=11, start=start))
    assert max(e.day for e in events) < today
    assert len(events) >= 9_000
    replayed = replay(events, rules, as_of=today)
    expected = replayed.alerts
    expected_by_rule = by_rule(expected)
    assert set(expected_by_rule) == {rule.id for rule in ALL_RULES}, "the simulation must exercise every rule"

    database = connect(deployment.settings.database_url)
    started = time.monotonic()
    with running_worker(deployment) as worker:
        # The production flow: history loaded into a running worker whose clock is on. Between
        # parts the worker catches up, so its watermark reaches the wall clock mid-history.
        size = -(-len(events) // CHUNKS)
        for part in range(CHUNKS):
            publish(deployment, events[part * size : (part + 1) * size])
            arrived = min(len(events), (part + 1) * size)
            caught_up = time.monotonic() + 30  # a slow machine may not catch up between parts: go on
            while worker.metric("casewatch_events_consumed_total") < arrived and time.monotonic() < caught_up:
                time.sleep(0.5)
            time.sleep(2)  # a clock tick or more while (as far as it knows) caught up
        wait_until(lambda: count_alerts(engine=database) >= len(expected), 600, worker.describe)
        time.sleep(6)  # three more clock ticks: nothing else may come
        assert worker.metric("casewatch_events_consumed_total") == len(events)
        assert worker.metric("casewatch_events_dead_lettered_total") == 0
        # Each team's rates over the last 12 months, as Prometheus gauges: the figures replay finds.
        # The simulator's front door takes the referrals; assessment and CIN/CP teams make the agreements.
        assert set(replayed.teams) == set(TEAMS)
        with_referrals, with_agreements = set(), set()
        for team, state in replayed.teams.items():
            figures = rolling(state, today, rules.of(TEAM_RULE))
            if figures.referrals:
                with_referrals.add(team)
                live_rate = worker.metric("casewatch_team_rereferral_ratio", team=team)
                assert live_rate == pytest.approx(figures.rereferral_rate), team
            if figures.agreements:
                with_agreements.add(team)
                live_agreements = worker.metric("casewatch_team_agreement_rereferral_ratio", team=team)
                assert live_agreements == pytest.approx(figures.agreement_rate), team
        assert FRONT_DOOR in with_referrals and len(with_agreements) >= 4
        assert worker.metric("casewatch_rereferral_ratio_threshold") == 0.226
    elapsed = time.monotonic() - started

    _, live = alerts_on_topic(deployment)
    live_by_rule = by_rule(live)
    for rule in ALL_RULES:
        missing = expected_by_rule[rule.id] - live_by_rule[rule.id]
        extra = live_by_rule[rule.id] - expected_by_rule[rule.id]
        assert not missing and not extra, f"{rule.id}: {len(missing)} missing live, {len(extra)} extra live"
    differing = [k for k, a in live.items() if a.model_copy(update={"ingested_at": None}) != expected[k]]
    assert not differing, (
        f"{len(differing)} alerts differ in content, e.g. {live[differing[0]]} vs {expected[differing[0]]}"
    )
    assert_worklists_agree(deployment, database, expected)
    counts = {rule: len(ids) for rule, ids in sorted(expected_by_rule.items())}
    print(f"\n{len(events):,} events, {len(expected):,} alerts live = replay in {elapsed:.0f}s: {counts}")


def assert_worklists_agree(deployment: Deployment, database: Engine, replayed: dict[str, Alert]) -> None:
    """The weekly worklists the dispatcher would queue from what the worker stored are replay's, every week."""
    routing_config = load_routing(deployment.settings.config_path)
    alerts = list(replayed.values())
    first = week_of(min(a.occurred_at for a in alerts))
    weeks = [shift(first, i) for i in range(weeks_between(first, week_of(datetime.now(UTC))) + 1)]
    lines = 0
    for week in weeks:
        stored = stored_worklists(database, routing_config, week)
        assert stored == build_worklists(alerts, week, policy=routing_config.worklist_policy()), week
        lines += sum(len(w.lines) for w in stored.values())
    assert lines > len(weeks)  # the lists compared were not empty


def test_the_weekly_worklists_from_what_the_worker_stored_are_replay_s(deployment: Deployment, tmp_path: Path) -> None:
    deployment = configured(deployment, tmp_path, PUBLISHED_FIRST_QUIET_SECONDS)
    rules = load_rules(deployment.settings)
    today = datetime.now(UTC).date()
    events = simulate(SimulationSpec(children=300, seed=5, start=add_months(today.replace(day=1), -31)))
    expected = replay(events, rules, as_of=today).alerts
    assert len(expected) > 100
    publish(deployment, events)
    database = connect(deployment.settings.database_url)
    with running_worker(deployment) as worker:
        wait_until(lambda: count_alerts(engine=database) >= len(expected), 150, worker.describe)
        time.sleep(4)  # two more clock ticks: nothing else may come
    assert count_alerts(engine=database) == len(expected)
    assert_worklists_agree(deployment, database, expected)


def test_a_time_driven_rule_fires_once_per_overdue_agreement_with_two_workers_sharing_the_partitions(
    deployment: Deployment, tmp_path: Path
) -> None:
    first = configured(deployment, tmp_path, PUBLISHED_FIRST_QUIET_SECONDS)  # the agreements come all at once
    second = first.second_worker()
    partitions = first.settings.partitions
    # Four children on each partition, so each worker holds some of them.
    on: dict[int, list[str]] = defaultdict(list)
    for number in range(1000):
        child = f"C{number:04d}"
        on[first.settings.topics.partition_for(child)].append(child)
    children = [child for partition in range(partitions) for child in on[partition][:4]]
    agreements = [
        WrittenAgreement(
            event_id=f"lcs:{child}:wa",
            child_id=child,
            occurred_at=datetime(2024, 1, 10, 10, tzinfo=UTC),
            recorded_at=datetime(2024, 1, 10, 11, tzinfo=UTC),
            team="CIN East",
            source="lcs",
            agreement_id="wa",
            action="made",
            review_due=date(2024, 2, 1),
        )
        for child in children
    ]
    inputs = len(first.settings.topics.inputs) * partitions
    with running_worker(first, "worker-1.log") as one, running_worker(second, "worker-2.log") as two:

        def shared() -> bool:
            held = [w.metric("casewatch_assigned_input_partitions") for w in (one, two)]
            return all(h > 0 for h in held) and sum(held) == inputs

        def describe() -> str:
            return one.describe() + "\n" + two.describe()

        wait_until(lambda: shared() and (time.sleep(2) or shared()), 120, describe)  # and still so 2 s later
        publish(first, agreements)
        database = connect(first.settings.database_url)
        wait_until(lambda: count_alerts(engine=database) >= len(children), 60, describe)
        time.sleep(4)  # more ticks from both clocks: none may raise it again
        ticks = [w.metric("casewatch_ticks_sent_total", kind="child") for w in (one, two)]
        # Each clock ticks only the children of its own partitions, each once: 12 ticks in all, not 24.
        assert all(t > 0 for t in ticks) and sum(ticks) == len(children), ticks
        _assert_alive(one, two)

    records, live = alerts_on_topic(first)
    assert records == len(children), f"{records} alerts on the topic for {len(children)} overdue agreements"
    assert {a.rule for a in live.values()} == {"agreement_review_overdue"}
    assert sorted(a.child_id or "" for a in live.values()) == sorted(children)
    assert count_alerts(engine=database) == len(children)


def _assert_alive(*workers: WorkerProcess) -> None:
    for worker in workers:
        assert worker.alive(), worker.describe()
