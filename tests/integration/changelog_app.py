"""A Faust app that writes the same values to two tables: one by Faust's `__setitem__`, one in bulk.

Run as a process by test_bulk_changelog: `python -m tests.integration.changelog_app worker`.
Each input record (key, JSON value) is set in both tables. On the message keyed
`report:<CHANGELOG_APP_RUN>` (handled, as any message, only once the tables are recovered)
it writes what the tables hold, and the changelog offsets their stores recorded, to
CHANGELOG_APP_OUT (JSON): what a restart read back.
"""

import json
import os
from pathlib import Path
from typing import Any

import faust

from agents import table_store
from agents.produce import write_table

PARTITIONS = int(os.environ["CHANGELOG_APP_PARTITIONS"])
APP_ID = os.environ["CHANGELOG_APP_ID"]
INPUT = f"{APP_ID}-in"

app = faust.App(
    APP_ID,
    broker=f"kafka://{os.environ['CHANGELOG_APP_BOOTSTRAP']}",
    store=f"{table_store.SCHEME}://",
    datadir=os.environ["CHANGELOG_APP_DATADIR"],
    topic_partitions=PARTITIONS,
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    topic_allow_declare=True,
    producer_acks=-1,
)
inputs = app.topic(INPUT, key_serializer="raw", value_serializer="raw")
# Declared as live.py declares its tables.
by_faust = app.Table("by-faust", default=dict, partitions=PARTITIONS, key_type=bytes, use_partitioner=True)
in_bulk = app.Table("in-bulk", default=dict, partitions=PARTITIONS, key_type=bytes, use_partitioner=True)


def report(out: Path) -> None:
    def read(table: Any) -> dict[str, Any]:
        topic = table.changelog_topic.get_topic_name()
        return {
            "values": {key.decode(): value for key, value in table.items()},
            "offsets": {p: table.data.persisted_offset(faust.types.TP(topic, p)) for p in range(PARTITIONS)},
        }

    out.with_suffix(".part").write_text(json.dumps({"by_faust": read(by_faust), "in_bulk": read(in_bulk)}))
    out.with_suffix(".part").rename(out)


@app.agent(inputs)
async def write(stream: faust.StreamT[bytes]) -> None:
    assert isinstance(stream, faust.Stream)
    async for batch in stream.take_events(100, within=0.2):
        values: dict[bytes, Any] = {}
        for item in batch:
            key = item.message.key
            if key == b"report:" + os.environ["CHANGELOG_APP_RUN"].encode():  # after recovery, as any message
                report(Path(os.environ["CHANGELOG_APP_OUT"]))
            elif not key.startswith(b"report:"):  # another run's
                values[key] = json.loads(item.message.value)
        for key, value in values.items():
            by_faust[key] = value
        await write_table(in_bulk, values)


if __name__ == "__main__":
    app.main()
