"""The children's states a worker wrote last, kept decoded so the next batch need not read them back.

A child's events come days or weeks apart in the case system but close together in a
topic's backlog: in the benchmark's 100,000 events, two thirds of a batch's children were
among the 4,096 written most recently. Reading one back costs a RocksDB lookup, a JSON
decode and `ChildState.from_dict` (20-30 us); kept, about 2% of the worker's CPU is saved
(docs/benchmarks.md), for at most ~20 MiB.

A state is handed out once (`take` removes it): the batch that takes it changes it in
place, and whether that batch's changelog write succeeds or not, the cache no longer holds
a copy that may differ from the store. Only after the store holds a batch's states does
`keep` put them back, the same objects the changelog records were made from. A rebalance
(`invalidate`) empties it: another worker may have written those children meanwhile, and
a batch that started before it (its `generation` older) keeps nothing.
"""

from collections.abc import Mapping

from agents.state import ChildState

STATES = 4096  # ~5 KB each in memory (docs/benchmarks.md): a bounded ~20 MiB


class StateCache:
    """Up to `size` decoded states, the least recently written dropped first."""

    def __init__(self, size: int = STATES) -> None:
        self.size = size
        self.generation = 0  # moves on at every rebalance
        self._states: dict[bytes, ChildState] = {}  # insertion order: the oldest first

    def __len__(self) -> int:
        return len(self._states)

    def take(self, key: bytes) -> ChildState | None:
        """The state last written for this child, now the caller's alone (None: not held here)."""
        return self._states.pop(key, None)

    def keep(self, states: Mapping[bytes, ChildState], generation: int) -> None:
        """These states are in the store now; kept unless the partitions moved since `generation`."""
        if generation != self.generation:
            return
        held = self._states
        for key, state in states.items():
            held.pop(key, None)  # to the back: the most recently written
            held[key] = state
        for _ in range(len(held) - self.size):
            del held[next(iter(held))]

    def drop(self, key: bytes) -> None:
        """This child's state changed by another path (erased)."""
        self._states.pop(key, None)

    def invalidate(self) -> None:
        """Partitions moved or were restored: nothing held may be current."""
        self._states.clear()
        self.generation += 1
