"""agents.table_store: where the RocksDB store files a key."""

from pathlib import Path
from typing import cast

import faust
from faust.stores.rocksdb import RocksDBOptions

from agents import table_store
from agents.table_store import BoundedOptions
from streams.topics import Topics, partition_of


def test_the_table_store_files_a_key_under_the_partition_its_changelog_record_goes_to() -> None:
    topics = Topics(partitions=6)
    assert [partition_of(f"C{i}".encode(), 6) for i in range(50)] == [topics.partition_for(f"C{i}") for i in range(50)]


def test_the_bounded_options_open_a_database_that_keeps_what_it_was_given(tmp_path: Path) -> None:
    options = BoundedOptions()
    db = options.open(tmp_path / "db")
    for i in range(20_000):  # past one 4 MiB memtable, so flushed files are read back too
        db.put(f"C{i}".encode(), b"x" * 400)
    db.close()
    again = BoundedOptions().open(tmp_path / "db")
    assert again.get(b"C0") == b"x" * 400 and again.get(b"C19999") == b"x" * 400
    again.close()


def test_every_database_of_the_process_shares_one_cache_and_write_budget() -> None:
    first = table_store._shared_cache()
    assert all(a is b for a, b in zip(first, table_store._shared_cache(), strict=True))
    assert BoundedOptions().write_buffer_size == table_store.MEMTABLE_BYTES < RocksDBOptions().write_buffer_size


def test_a_read_looks_in_the_one_database_of_the_keys_partition(tmp_path: Path) -> None:
    app = faust.App("t-read", broker="kafka://127.0.0.1:9", store=f"{table_store.SCHEME}://", datadir=str(tmp_path))
    table = app.Table("states", default=dict, partitions=6, key_type=bytes, use_partitioner=True)
    store = cast(table_store.Store, table.data)
    databases = [store._db_for_partition(p) for p in range(6)]  # as Faust opens its assigned partitions
    home = partition_of(b"C1", 6)
    store._set(b"C1", store._encode_value({"latest": "2024-01-02"}))
    assert databases[home].get(b"C1") is not None
    assert table_store.read(table, b"C1") == {"latest": "2024-01-02"}
    assert b"C1" in table and table[b"C1"] == {"latest": "2024-01-02"}  # Faust's own reads go the same way
    assert table_store.read(table, b"C2") is None and table[b"C2"] == {}  # absent: None, the table its default
    # Filed anywhere else (no write of ours does that), a key is not searched for.
    databases[(partition_of(b"C3", 6) + 1) % 6].put(b"C3", store._encode_value({"latest": "x"}))
    assert table_store.read(table, b"C3") is None and b"C3" not in table
    store._key_index.clear()
    del store[b"C1"]  # what a deletion from the table does once its tombstone is sent
    assert databases[home].get(b"C1") is None
    for db in databases:
        db.close()
