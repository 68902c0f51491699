"""A batch's records on the broker in bulk: one producer batch per partition, acknowledged.

Faust sends every record on its own (a `Topic.send`, or a `Table.__setitem__` and its
changelog send): topic, channel, FutureMessage and callback machinery per record, which
profiled at 260-290 us a changelog write when a bare Faust stream costs ~130 us an event.
The agents' batches produce many records at once, so here they go as aiokafka producer
batches (`create_batch`/`send_batch` on the producer Faust itself wraps), grouped by the
partition the default partitioner gives their key, and awaited until the broker has them.

`write_table` is a table's half of that: each changed key's value, in exactly the bytes
Faust's changelog would carry (the changelog topic's own serialisation), to the partition
murmur2 gives the key; once the broker has them, into the table's store with the last
changelog offset of each partition, as Faust's `_on_changelog_sent` records it. Recovery
stays Faust's: it reads these records as its own, and a restart reads only the changelog
written since those offsets.
"""

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from faust.tables.base import Collection
from faust.transport.drivers.aiokafka import Producer as FaustProducer
from faust.types import TP, AppT, TableT

from agents import table_store
from streams.topics import partition_of

Record = tuple[bytes, bytes | None]  # key, value (None: a tombstone)


async def send_records(app: AppT, topic: str, records: Iterable[Record]) -> dict[int, int]:
    """Send the records to `topic`, each to its key's partition, and wait for the broker's acks.

    Returns the offset of the last record written to each partition. Raises if the broker
    refused any batch: the caller's batch is then tried again whole (agents.supervisor).
    """
    producer = _aiokafka(app)
    by_partition: dict[int, list[Record]] = defaultdict(list)
    partitions: list[int] | None = None
    for key, value in records:
        if partitions is None:  # the partitions the producer's own partitioner would choose from
            partitions = sorted(await producer.partitions_for(topic))
        by_partition[partitions[partition_of(key, len(partitions))]].append((key, value))
    sending: list[tuple[int, int, asyncio.Future[Any]]] = []  # (partition, records in the batch, ack)
    for partition, rows in by_partition.items():
        batch, count = producer.create_batch(), 0
        for key, value in rows:
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
                sending.append((partition, count, await producer.send_batch(batch, topic, partition=partition)))
                batch, count = producer.create_batch(), 0
                # A first record always fits an empty batch, however large.
                batch.append(key=key, value=value, timestamp=None)
            count += 1
        batch.close()  # complete: sent at once, not after the producer's linger
        sending.append((partition, count, await producer.send_batch(batch, topic, partition=partition)))
    acks = await asyncio.gather(*(ack for _, _, ack in sending))
    last: dict[int, int] = {}
    for (partition, count, _), metadata in zip(sending, acks, strict=True):
        last[partition] = max(last.get(partition, -1), metadata.offset + count - 1)
    return last


async def write_table(table: TableT[Any, Any], values: Mapping[bytes, Any]) -> None:
    """Set the keys of `table` to these values: changelog first, acknowledged, then the store.

    The store is written only once the changelog has the values: a crash in between leaves
    the store's recorded offsets behind the changelog, and the restart reads them back.
    Reads see the new values only once this returns, so call it after the batch is applied.
    """
    if not values:
        return
    changelog, serializers = table.changelog_topic, cast(Collection, table)  # the table's own codecs
    topic = changelog.get_topic_name()
    encoded = [
        (
            cast(bytes, changelog.prepare_key(key, serializers.key_serializer)[0]),
            cast(bytes, changelog.prepare_value(value, serializers.value_serializer)[0]),
        )
        for key, value in values.items()
    ]
    last = await send_records(table.app, topic, encoded)
    store = cast(table_store.Store, table.data)
    for key, value in encoded:
        store._set(key, value)  # our store files the key under its changelog partition
    for partition, offset in last.items():
        store.set_persisted_offset(TP(topic, partition), offset)


def _aiokafka(app: AppT) -> AIOKafkaProducer:
    """The aiokafka producer inside Faust's: its batches, with Faust's settings (acks, linger)."""
    return cast(FaustProducer, app.producer)._ensure_producer()
