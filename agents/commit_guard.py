"""Offsets committed only as far as the agents handled: no message is committed unapplied.

Faust acknowledges a message its stream skips, one fetched before a rebalance or while
the flow is suspended for one (faust-streaming 0.15: `value is skipped_value` counts as
an ack in the stream's iterator), and then commits past it: the partition's next owner
starts after messages nobody applied, and their alerts are lost for good. Seen with a
second worker joining a backlog: 8 of 6,662 expected alerts never stored in one run,
7,425 of 21,712 in another (docs/benchmarks.md, "Scale-out").

The guard caps each partition's commit at the offset after the last message an agent
finished with (`handled`, which the clock keeps anyway: agents.sweep). A skipped
message is then fetched again by whoever holds its partition next, and applied; the
engine's idempotence makes a second application harmless.
"""

from collections.abc import Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP

# The offset after the last message an agent finished with on this partition, or None.
Handled = Callable[[TP], int | None]


def committable(acked: int | None, handled: int | None) -> int | None:
    """The offset to commit: as far as Faust's acks allow, never past what was handled."""
    if acked is None or handled is None:
        return None
    return min(acked, handled)


class GuardedConsumer(faust_kafka.Consumer):
    """Faust's Kafka consumer, its commits capped by the transport's `handled`."""

    def _new_offset(self, tp: TP) -> int | None:
        transport = self.transport
        assert isinstance(transport, GuardedTransport)
        return committable(super()._new_offset(tp), transport.handled(tp))


class GuardedTransport(faust_kafka.Transport):
    """Faust's Kafka transport, making `GuardedConsumer`s."""

    Consumer = GuardedConsumer

    def __init__(self, url: Any, app: faust.App, *, handled: Handled) -> None:
        super().__init__(url, app)
        self.handled = handled


def guard(app: faust.App, handled: Handled) -> None:
    """Make the app's consumer commit only what `handled` says was applied (before any topic is made)."""
    app.transport = GuardedTransport(app.conf.broker_consumer, app, handled=handled)
