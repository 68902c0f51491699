"""agents.supervisor: a crash is counted, makes the worker unready, and a crash loop stops it."""

import asyncio

from prometheus_client import CollectorRegistry

from agents.supervisor import EXIT_CRASH_LOOP, Supervisor
from casewatch.metrics import Metrics


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_a_failing_batch_is_a_crash_and_the_worker_is_unready_until_it_is_done() -> None:
    registry = CollectorRegistry()
    stops: list[int] = []
    supervisor = Supervisor(Metrics.create(registry), stop=stops.append)
    assert value(registry, "casewatch_worker_ready") == 0  # not before the tables are recovered
    supervisor.start()
    supervisor.assigned(2)
    assert value(registry, "casewatch_worker_ready") == 1
    attempts: list[float] = []
    seen_ready: list[float] = []

    async def flaky() -> None:
        attempts.append(1)
        seen_ready.append(value(registry, "casewatch_worker_ready"))
        if len(attempts) < 3:
            raise ConnectionError("the broker went away")

    asyncio.run(supervisor.until_done("correlate", flaky))
    assert len(attempts) == 3 and seen_ready == [1, 0, 0]
    assert value(registry, "casewatch_agent_crashes_total", agent="correlate") == 2
    assert value(registry, "casewatch_worker_ready") == 1 and not stops


def test_a_crash_loop_stops_the_worker_with_a_non_zero_exit() -> None:
    registry = CollectorRegistry()
    stops: list[int] = []
    supervisor = Supervisor(Metrics.create(registry), crashes=3, seconds=60, stop=stops.append)
    supervisor.start()
    supervisor.assigned(1)
    for _ in range(2):
        supervisor.crashed("teams", KeyError("team-state"))
    assert not stops
    supervisor.crashed("persist", RuntimeError("x"))
    assert stops == [EXIT_CRASH_LOOP]
    assert value(registry, "casewatch_worker_ready") == 0


def test_ready_takes_recovered_tables_input_partitions_and_no_agent_down_and_says_what_is_missing() -> None:
    registry = CollectorRegistry()
    supervisor = Supervisor(Metrics.create(registry), stop=lambda code: None)
    assert supervisor.unready() == "recovering its tables"
    supervisor.start()
    assert supervisor.unready() == "no input partitions assigned"
    assert value(registry, "casewatch_worker_ready") == 0
    supervisor.assigned(3)
    assert supervisor.unready() is None and value(registry, "casewatch_worker_ready") == 1
    supervisor.crashed("teams", KeyError("team-state"))
    assert supervisor.unready() == "agent crashing: teams" and value(registry, "casewatch_worker_ready") == 0
    supervisor.recovered("teams")
    supervisor.assigned(0)  # a rebalance left it nothing (more workers than partitions)
    assert supervisor.unready() == "no input partitions assigned"
    assert value(registry, "casewatch_rebalances_total") == 2


def test_a_store_process_is_ready_without_input_partitions_but_not_while_a_consumer_crashes() -> None:
    registry = CollectorRegistry()
    supervisor = Supervisor(Metrics.create(registry), stop=lambda code: None, holds_inputs=False)
    assert supervisor.unready() == "starting its consumers"
    supervisor.start()
    assert supervisor.unready() is None and value(registry, "casewatch_worker_ready") == 1  # no partitions held
    supervisor.crashed("persist", ConnectionError("the database went away"))
    assert supervisor.unready() == "agent crashing: persist" and value(registry, "casewatch_worker_ready") == 0
    agents_worker = Supervisor(Metrics.create(CollectorRegistry()), stop=lambda code: None)
    agents_worker.start()
    assert agents_worker.unready() == "no input partitions assigned"  # the agents' worker does need them
