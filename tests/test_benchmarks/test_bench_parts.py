"""The benchmark's pure parts: who owns a profile sample, how big a state is, the Done-when checks."""

import os
import time
from dataclasses import dataclass, field

import pytest

from benchmarks.memory import deep_size, state_sizes
from benchmarks.profile_owners import CHECKOUT, IDLE, OTHER, breakdown, stack_owner
from benchmarks.report import checks
from benchmarks.run import cpu_seconds, machine_cpu

SITE = "/srv/app/.venv/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("stack", "owner"),
    [
        ("run (faust/worker.py:1);_execute (faust/agents/agent.py:9);dumps (/usr/lib/python3.11/json/__init__.py:3)",
         "faust"),
        (f"run ({SITE}/mode/services.py:1)", "faust"),
        (f"run ({SITE}/faust/x.py:1);send ({SITE}/aiokafka/producer/sender.py:2);"
         "write (/usr/lib/python3.11/asyncio/selector_events.py:5)", "aiokafka"),
        (f"poll ({SITE}/kafka/consumer/fetcher.py:3)", "kafka-python"),
        (f"run ({SITE}/faust/x.py:1);correlate_batch ({CHECKOUT}agents/live.py:7);"
         "loads (/usr/lib/python3.11/json/decoder.py:2)", "ours"),
        ("decode (streams/codec.py:4)", "ours"),
        (f"run ({SITE}/faust/agents/agent.py:1)", "faust"),  # faust's own agents package
        (f"store ({CHECKOUT}casewatch/storage.py:1);execute ({SITE}/sqlalchemy/engine/base.py:2)", "database"),
        ("execute (/usr/lib/python3.11/sqlite3/dbapi2.py:1)", "database"),
        ("run (mode/worker.py:264);run_forever (asyncio/base_events.py:607);select (selectors.py:468)", IDLE),
        ("run (mode/worker.py:264);_run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80);"
         "call_soon (asyncio/base_events.py:765)", OTHER),  # the loop's scheduling, not faust's
        ("run (mode/worker.py:264);Handle._run (asyncio/events.py:80);send (aiokafka/producer.py:3);"
         "Handle._run (asyncio/events.py:80);decode (streams/codec.py:9)", "ours"),
        ("<module> (<frozen runpy>:88)", OTHER),
    ],
)  # fmt: skip
def test_a_sample_belongs_to_its_innermost_known_package(stack: str, owner: str) -> None:
    assert stack_owner(stack) == owner


def test_the_breakdown_sums_samples_per_owner_and_lists_every_owner() -> None:
    lines = [
        f"a ({SITE}/faust/x.py:1);b ({SITE}/aiokafka/y.py:2) 7\n",
        f"a ({SITE}/faust/x.py:1) 3\n",
        "c (/usr/lib/python3.11/asyncio/base_events.py:1) 5\n",
        "d (/usr/lib/python3.11/selectors.py:1) 2\n",
        "not a sample line\n",
    ]
    assert breakdown(lines) == {
        "faust": 3, "aiokafka": 7, "kafka-python": 0, "ours": 0, "database": 0, OTHER: 5, IDLE: 2,
    }  # fmt: skip


@dataclass
class _State:
    days: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {"days": self.days}


def test_state_size_counts_what_a_state_reaches_once_and_its_json() -> None:
    shared = "2024-01-01"
    state = _State(days=[shared, shared])
    size = state_sizes(state)
    assert size.json == len('{"days": ["2024-01-01", "2024-01-01"]}')
    assert size.memory == deep_size(state)
    assert deep_size(state) < deep_size(_State(days=[shared, "2024-01-02"]))  # the shared string once
    assert state_sizes(state, deep=False).memory is None
    assert state_sizes(b"abc").json == 3


def _results(**overrides: float) -> dict[str, object]:
    alerts = {"r": 2}
    run = {"alerts_by_rule": alerts, "alerts_expected_by_replay": alerts, "events_per_second": 1000.0}
    return {
        "live": run,
        "scaleout": {"2": run | {"events_per_second": overrides.get("two", 1600.0)}},
        "latency": {"1000": {"alerts": 5, "alerts_expected": 5, "p99_ms": overrides.get("p99", 200.0)}},
        "replay": {"events_per_second": 150_000.0},
        "memory": {"state_memory_bytes_per_child_mean": 900.0, "rss_per_100k_children_bytes": 200.0 * 2**20},
        "ratios": {
            "casewatch_over_quix": 0.5,
            "casewatch_over_faust_floor": 0.9,
            "two_workers_over_one": overrides.get("two", 1600.0) / 1000.0,
            "quix_rereferral_alerts_match": True,
        },
    }


def test_every_check_passes_on_figures_that_meet_the_targets() -> None:
    assert [c["passed"] for c in checks(_results())] == [True] * 8


def test_a_figure_that_misses_its_target_fails_only_its_check() -> None:
    failed = [c["measure"] for c in checks(_results(two=1200.0, p99=300.0)) if not c["passed"]]
    assert failed == ["p99 event-to-stored at 1,000 events/s offered", "two workers / one worker"]


def test_cpu_time_is_read_for_a_process_and_for_the_machine() -> None:
    before, machine_before = cpu_seconds(os.getpid()), machine_cpu()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # this process busy for 0.3 s of CPU
        pass
    spent = cpu_seconds(os.getpid()) - before
    assert 0.25 <= spent <= 5  # clock ticks of 10 ms; the test's own process only
    busy, every = (now - then for now, then in zip(machine_cpu(), machine_before, strict=True))
    assert 0 < busy <= every
