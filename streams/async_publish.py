"""Publish from an asyncio server (the HTTP endpoint) with aiokafka, faust's own client.

The records are the ones streams.publish builds (same topics, keys and encoding); only
the client differs, because a blocking kafka-python call would stall every request.
`publish` returns once the broker has acknowledged every record (acks=all), so a caller
may tell its client that the batch is durable.
"""

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from kafka.errors import KafkaError as AdminError

from streams.admin import TopicSetupError, ensure_topics
from streams.publish import Record
from streams.topics import Topics

log = logging.getLogger("casewatch.publish")


class KafkaUnavailable(RuntimeError):
    """Kafka could not be reached, or did not acknowledge in time: nothing is confirmed."""


class AsyncPublisher:
    """An aiokafka producer, started on first use (and again after a failed start)."""

    def __init__(
        self, bootstrap_servers: str, topics: Topics, *, replication_factor: int = 1, timeout: float = 15.0
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.replication_factor = replication_factor
        self.timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def publish(self, records: Sequence[Record]) -> None:
        """Send every record and wait for all acknowledgements; KafkaUnavailable otherwise."""
        producer = await self._started()
        try:
            async with asyncio.timeout(self.timeout):
                sent = [await producer.send(r.topic, r.value, key=r.key) for r in records]
                await asyncio.gather(*sent)
        except (KafkaError, TimeoutError) as error:
            raise KafkaUnavailable(f"Kafka did not acknowledge within {self.timeout:g}s: {_name(error)}") from error

    async def _started(self) -> AIOKafkaProducer:
        async with self._starting:  # one start at a time, however many requests wait
            if self._producer is None:
                self._producer = await self._start()
            return self._producer

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id="casewatch-http",
            acks="all",
            enable_idempotence=True,  # a retried send is written once
            linger_ms=5,
            request_timeout_ms=int(self.timeout * 1000),
        )
        try:
            async with asyncio.timeout(self.timeout):
                await producer.start()
            # Like the worker: the topics exist with the declared partitions before anything is sent,
            # since a broker that creates topics on demand would give them the wrong partition count.
            await asyncio.to_thread(
                ensure_topics,
                self.bootstrap_servers,
                self.topics,
                replication_factor=self.replication_factor,
                timeout=self.timeout,
            )
        except (KafkaError, AdminError, OSError, TimeoutError, TopicSetupError) as error:
            await producer.stop()
            raise KafkaUnavailable(f"cannot use Kafka at {self.bootstrap_servers}: {_name(error)}") from error
        log.info("connected to Kafka at %s", self.bootstrap_servers)
        return producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def _name(error: BaseException) -> str:
    return str(error) or type(error).__name__
