"""Publish from an asyncio server (the HTTP endpoint) with aiokafka, faust's own client.

The records are the ones streams.publish builds (same topics, keys and encoding); only
the client differs, because a blocking kafka-python call would stall every request.
`publish` answers for each record whether the broker acknowledged it (acks=all), so a
caller may tell its client which events are durable and which to send again.
"""

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from kafka.errors import KafkaError as AdminError

from streams.admin import TopicSetupError, ensure_topics
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.publish import Record
from streams.topics import Topics

log = logging.getLogger("casewatch.publish")


class KafkaUnavailable(RuntimeError):
    """Kafka could not be reached, or did not acknowledge in time: nothing is confirmed."""


class AsyncPublisher:
    """An aiokafka producer, started on first use (and again after a failed start)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Topics,
        *,
        replication_factor: int = 1,
        timeout: float = 15.0,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.replication_factor = replication_factor
        self.timeout = timeout
        self.security = security
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def publish(self, records: Sequence[Record]) -> list[str | None]:
        """Send every record and wait up to `timeout` for the acknowledgements.

        One answer per record, in order: None once the broker acknowledged it, else why it is
        not confirmed (it may still arrive: sending it again is what makes sure). Raises
        KafkaUnavailable only when nothing could be sent at all (no connection).
        """
        producer = await self._started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        sent: list[asyncio.Future[object]] = []
        unsent = "not sent: the producer refused it"
        try:
            async with asyncio.timeout(self.timeout):
                for record in records:
                    sent.append(await producer.send(record.topic, record.value, key=record.key))
        except (KafkaError, TimeoutError) as error:
            unsent = f"not sent: {_name(error)}"  # this record and the ones after it
        if sent:
            await asyncio.wait(sent, timeout=max(0.0, deadline - loop.time()))
        answers = [_acknowledged(future, self.timeout) for future in sent]
        return answers + [unsent] * (len(records) - len(sent))

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
            **self.security.client_options(),
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
                security=self.security,
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


def _acknowledged(future: "asyncio.Future[object]", timeout: float) -> str | None:
    if not future.done():
        future.cancel()  # aiokafka may still deliver it; the caller is told to send it again
        return f"not acknowledged within {timeout:g}s"
    error = future.exception()
    return None if error is None else f"refused by Kafka: {_name(error)}"


def _name(error: BaseException) -> str:
    return str(error) or type(error).__name__
