"""When may a live worker believe the clock? Only once it has read everything that was
already on its topics at that time.

Time-driven rules look for something missing by a deadline. A worker that starts with a
backlog (a restart, a replay of history through the topics) has not read the review
that *is* there yet, and would raise a false alarm. So each timer tick notes the wall
clock and the end offsets of the partitions this worker holds; a noted time becomes the
watermark once every one of those partitions has been handled up to its noted end. The
time-driven rules then run with `now` = the watermark: on a caught-up worker a tick
behind the wall clock, on a worker with a backlog held back until it has caught up.

Pure bookkeeping: the Faust side feeds it end offsets and handled positions.
"""

from collections import deque
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime

Position = Callable[[Hashable], int]


class Watermark:
    """The latest noted time by which every message then on the partitions has been handled."""

    def __init__(self, keep: int = 64) -> None:
        # (time, end offset of each partition) in time order; bounded, the oldest go first.
        self._pending: deque[tuple[datetime, Mapping[Hashable, int]]] = deque(maxlen=keep)
        self.time: datetime | None = None

    def note(self, at: datetime, ends: Mapping[Hashable, int]) -> None:
        """At `at`, the partitions held ended at `ends` (the offset the next message will get)."""
        self._pending.append((at, dict(ends)))

    def advance(self, position: Position) -> datetime | None:
        """Move to the latest noted time whose partitions are all handled to their noted ends.

        `position(tp)` is the offset of the next message to handle on `tp`. Returns the new
        watermark, or None when it did not move.
        """
        moved = None
        while self._pending:
            at, ends = self._pending[0]
            if any(position(tp) < end for tp, end in ends.items()):
                break
            self._pending.popleft()
            moved = self.time = at
        return moved

    def reset(self) -> None:
        """Forget what was noted (the partitions held have changed)."""
        self._pending.clear()
