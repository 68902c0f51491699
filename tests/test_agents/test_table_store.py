"""agents.table_store: where the RocksDB store files a key."""

from pathlib import Path

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
