"""agents.state_cache: the decoded states a worker wrote last, as the correlate agent uses them."""

import json

import pytest

import agents.engine
from agents.engine import apply_batch
from agents.rules import RulesConfig
from agents.state import ChildState
from agents.state_cache import StateCache
from schemas.events import CaseEvent
from streams.simulate import SimulationSpec, simulate
from tests.test_agents.events import referral

CONFIG = RulesConfig()


def test_a_state_is_handed_out_once_and_the_least_recently_written_go_first() -> None:
    cache = StateCache(size=2)
    a, b, c = ChildState(), ChildState(), ChildState()
    cache.keep({b"A": a, b"B": b}, cache.generation)
    assert cache.take(b"A") is a
    assert cache.take(b"A") is None  # the batch that took it owns it now
    cache.keep({b"A": a}, cache.generation)  # written again: the most recent
    cache.keep({b"C": c}, cache.generation)  # over the size: B, written longest ago, goes
    assert len(cache) == 2 and cache.take(b"B") is None
    assert cache.take(b"A") is a and cache.take(b"C") is c


def test_a_rebalance_empties_it_and_a_batch_begun_before_it_keeps_nothing() -> None:
    cache = StateCache()
    cache.keep({b"A": ChildState()}, cache.generation)
    begun = cache.generation
    cache.invalidate()
    assert len(cache) == 0
    cache.keep({b"B": ChildState()}, begun)  # its partitions may be another worker's now
    assert len(cache) == 0
    cache.keep({b"B": ChildState()}, cache.generation)
    cache.drop(b"B")  # erased
    assert cache.take(b"B") is None


class Worker:
    """The correlate agent's use of a table and the cache, without Kafka: batch after batch."""

    def __init__(self, cache: StateCache | None) -> None:
        self.table: dict[bytes, bytes] = {}  # the store: each child's state as JSON
        self.cache = cache

    def load(self, child_id: str) -> ChildState:
        key = child_id.encode()
        kept = self.cache.take(key) if self.cache is not None else None
        if kept is not None:
            return kept
        return ChildState.from_dict(json.loads(self.table[key]) if key in self.table else None)

    def batch(self, steps: list[CaseEvent]) -> list[str]:
        generation = self.cache.generation if self.cache is not None else 0
        result = apply_batch(steps, self.load, CONFIG)
        changed = {child.encode(): state for child, state in result.states.items()}
        for key, state in changed.items():
            self.table[key] = json.dumps(state.to_dict()).encode()
        if self.cache is not None:
            self.cache.keep(changed, generation)
        return [alert.alert_id for _, alert in result.alerts] + [f"failed {i}" for i in sorted(result.failed)]


def test_batches_through_the_cache_give_the_stored_states_and_alerts_of_reading_every_state_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = simulate(SimulationSpec(children=60, seed=7))
    real_fold = agents.engine.fold
    failing = {events[i].event_id for i in range(5, len(events), 37)}

    def fold_then_fail(state: ChildState, event: CaseEvent) -> None:
        real_fold(state, event)  # changed in place before the error: a cached object must not keep it
        if event.event_id in failing:
            raise RuntimeError("a rule's bug")

    monkeypatch.setattr(agents.engine, "fold", fold_then_fail)
    cached, plain = Worker(StateCache(size=16)), Worker(None)
    raised: tuple[list[str], list[str]] = ([], [])
    for start in range(0, len(events), 25):
        batch = events[start : start + 25]
        raised[0].extend(cached.batch(batch))
        raised[1].extend(plain.batch(batch))
        if start % 200 == 0 and cached.cache is not None:
            cached.cache.invalidate()  # a rebalance now and then
    assert any(entry.startswith("failed") for entry in raised[0])
    assert raised[0] == raised[1] and len(raised[0]) > len(failing)
    assert cached.table == plain.table


def test_a_state_taken_by_a_batch_that_fails_is_read_back_from_the_store() -> None:
    worker = Worker(StateCache())
    worker.batch([referral("2024-05-02")])
    assert worker.cache is not None and len(worker.cache) == 1
    taken = worker.load("C1")  # a batch takes it, changes it in place, and never writes it
    taken.latest = None
    again = worker.load("C1")
    assert again is not taken and again.latest is not None and again.latest.isoformat() == "2024-05-02"
