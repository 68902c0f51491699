"""The timeline consumer gives way to the correlate agent's backlog, and only for so long."""

import asyncio
from collections import namedtuple
from collections.abc import Hashable

from agents.timeline_consumer import yield_to_correlate

Record = namedtuple("Record", "topic partition offset")
BATCH = [Record("in", 0, 4000), Record("in", 0, 4999), Record("in", 1, 120)]


def test_a_batch_waits_until_the_agent_is_within_the_lead_on_each_of_its_partitions() -> None:
    position = {("in", 0): 0, ("in", 1): 0}  # where the agent stands: the next offset it handles
    asked: list[tuple[Hashable, int]] = []

    def short_of(tp: Hashable, offset: int) -> bool:
        asked.append((tp, offset))
        position[("in", 0)] += 1000  # the agent works through its backlog meanwhile
        return position[tp] <= offset  # type: ignore[index]

    waited = asyncio.run(yield_to_correlate(BATCH, short_of, lead=1000, longest=30))
    assert position[("in", 0)] > 3999  # it went on only once the agent had handled offset 3,999
    assert (("in", 0), 3999) in asked and (("in", 1), -880) in asked  # each partition's last offset less the lead
    assert waited < 30


def test_a_batch_ahead_of_a_stalled_agent_goes_on_after_the_longest_wait() -> None:
    waited = asyncio.run(yield_to_correlate(BATCH, lambda tp, offset: True, longest=0.3))
    assert 0.3 <= waited < 2


def test_a_batch_behind_the_agent_or_on_partitions_it_does_not_hold_does_not_wait() -> None:
    calls: list[Hashable] = []

    def short_of(tp: Hashable, offset: int) -> bool:
        calls.append(tp)
        return False

    assert asyncio.run(yield_to_correlate(BATCH, short_of, longest=30)) < 0.1
    assert sorted(calls) == [("in", 0), ("in", 1)]  # asked once per partition, with its last offset
