"""The one error policy, wherever a message is refused: to the dead-letter topic with its reason.

Shared by the correlate and teams agents (through Faust's producer) and the store
consumers (through their process's own producer): the record never holds the refused
bytes (streams.codec.dead_letter), and its send is retried until the broker has it.
"""

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from casewatch.metrics import Metrics
from streams.codec import Rejection, dead_letter

log = logging.getLogger("casewatch.worker")

Send = Callable[[bytes | None, bytes], Awaitable[Any]]  # (key, value): done once the broker has it
Reject = Callable[[Any, Rejection], Awaitable[None]]  # (a consumed message or record, why)

MAX_PAUSE_SECONDS = 30.0


def rejecter(send: Send, metrics: Metrics) -> Reject:
    """`reject(message, rejection)`: the message's dead-letter record sent with `send`.

    Retried until the broker takes it (the record is small whatever the input, so only an
    unavailable broker fails it): the caller moves on only once the refusal is on record.
    The metric counts what the broker took."""

    async def reject(message: Any, rejection: Rejection) -> None:
        record = dead_letter(
            message.value, rejection, topic=message.topic, partition=message.partition, offset=message.offset
        )
        log.warning("dead-lettering %s[%s]@%s: %s", message.topic, message.partition, message.offset, rejection.reason)
        for attempt in itertools.count():
            try:
                await send(message.key, record)
                break
            except Exception as error:  # anything but success: wait and send it again
                pause = min(MAX_PAUSE_SECONDS, 0.5 * 2**attempt)
                log.error("dead-letter send failed (%s); retrying in %.1fs", type(error).__name__, pause)
                await asyncio.sleep(pause)
        metrics.events_dead_lettered.labels(reason=rejection.code).inc()

    return reject
