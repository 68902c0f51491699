"""The worker's tables on disk: Faust's RocksDB store, with each key in its own partition.

Faust's store files a write under the partition of the event being processed. The agents
write a batch's states after the batch, and a batch mixes partitions, so that would put a
child's state in another partition's database, where a rebalance would leave it stale.
Here a key goes to the partition its changelog record goes to (murmur2 of the key, as the
producer picks it): the same database the changelog rebuilds it into.
"""

from typing import Any

import faust.stores
from faust.stores.rocksdb import Store as RocksStore
from kafka.partitioner.default import murmur2

SCHEME = "casewatch-rocksdb"
faust.stores.STORES.aliases[SCHEME] = f"{__name__}:Store"


class Store(RocksStore):
    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = partition_of(key, self.table.partitions)
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)


def partition_of(key: bytes, partitions: Any) -> int:
    """The partition the producer's default partitioner gives a record with this key."""
    return int(murmur2(key) & 0x7FFFFFFF) % int(partitions)
