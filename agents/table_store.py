"""The worker's tables on disk: Faust's RocksDB store, with each key in its own partition, in bounded memory.

Faust's store files a write under the partition of the event being processed. The agents
write a batch's states after the batch, and a batch mixes partitions, so that would put a
child's state in another partition's database, where a rebalance would leave it stale.
Here a key goes to the partition its changelog record goes to (murmur2 of the key, as the
producer picks it): the same database the changelog rebuilds it into.

Faust opens one RocksDB database per table and partition (two tables x six partitions:
twelve), each with its own memtables (3 x 64 MiB before a flush) and its own 2 GiB block
cache. A memtable keeps every version of a key until it is flushed, and a child's state is
rewritten on each of its events, so the worker's memory grew with the events it had seen
(about 1.5 GiB per 100,000 children). Here every database of the process shares one
write-buffer budget and one block cache, so RocksDB's memory is bounded whatever the
partitions; the changelog, not the memtable, is what makes a write durable.

Reads go to that one database too. Faust's store searches every partition's database for
a key not in its index of the last 1,000 keys (each child's first event, and most events
in a backlog of many children), and `table[key]` reads twice (`key in table`, then the
value): `read` is one lookup in one database.
"""

import functools
from collections.abc import Iterable
from typing import Any, cast

import faust.stores
import rocksdict
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksStore
from faust.types import TableT

from streams.topics import partition_of

SCHEME = "casewatch-rocksdb"
faust.stores.STORES.aliases[SCHEME] = f"{__name__}:Store"

MEMTABLE_BYTES = 4 * 2**20  # one memtable, flushed to a file when full
MEMTABLES = 2  # one filling while the other is flushed
WRITE_BUFFER_BYTES = 64 * 2**20  # all memtables of the process: past it RocksDB flushes the largest
BLOCK_CACHE_BYTES = 32 * 2**20  # read cache shared by every database of the process


@functools.cache  # built on first use: one cache and one write budget for the whole process
def _shared_cache() -> tuple[Any, Any]:
    return rocksdict.Cache(BLOCK_CACHE_BYTES), rocksdict.WriteBufferManager(WRITE_BUFFER_BYTES, False)


class BoundedOptions(RocksDBOptions):
    """Faust's options, with small memtables and the process's shared cache and write budget."""

    write_buffer_size = MEMTABLE_BYTES
    max_write_buffer_number = MEMTABLES
    block_cache_size = BLOCK_CACHE_BYTES

    def as_options(self) -> Any:
        if not self.use_rocksdict:  # python-rocksdb: only the smaller sizes above apply
            return super().as_options()
        cache, buffers = _shared_cache()
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        if self.max_open_files is not None:
            options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_write_buffer_manager(buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


class Store(RocksStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.rocksdb_options
        self.rocksdb_options = BoundedOptions(
            max_open_files=current.max_open_files,
            use_rocksdict=current.use_rocksdict,
            ttl=current.ttl,
            **current.extra_options,
        )

    def _partition(self, key: bytes) -> int:
        partitions = self.table.partitions
        assert partitions is not None  # create_app gives both tables the topics' partitions
        return partition_of(key, partitions)

    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = self._partition(key)
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)

    def _db_of(self, key: bytes) -> Any | None:
        """The one database the key can be in, if this worker has it open (Faust opens every
        partition it is assigned, active or standby, before any agent reads)."""
        return self._dbs.get(self._partition(key))

    def _dbs_for_key(self, key: bytes) -> Iterable[Any]:  # what Faust's delete goes through
        db = self._db_of(key)
        return [] if db is None else [db]

    def _get(self, key: bytes) -> bytes | None:
        db = self._db_of(key)
        return None if db is None else cast(bytes | None, db.get(key))

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None

    def decoded(self, key: Any) -> Any:
        """The table's value for `key`, or None: one read."""
        raw = self._get(self._encode_key(key))
        return None if raw is None else self._decode_value(raw)


def read(table: TableT[Any, Any], key: Any) -> Any:
    """`table[key]` in one read of the one database it can be in; None when absent (the
    table's default is not made: `ChildState.from_dict` and `TeamState.from_dict` take None)."""
    return cast(Store, table.data).decoded(key)
