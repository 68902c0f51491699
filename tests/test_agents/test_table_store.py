"""agents.table_store: where the RocksDB store files a key."""

from agents.table_store import partition_of
from streams.topics import Topics


def test_the_table_store_files_a_key_under_the_partition_its_changelog_record_goes_to() -> None:
    topics = Topics(partitions=6)
    assert [partition_of(f"C{i}".encode(), 6) for i in range(50)] == [topics.partition_for(f"C{i}") for i in range(50)]
