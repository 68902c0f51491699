"""Baseline (c): the faust floor, the least a faust-streaming worker with a table can do.

One agent over the same input topics, in `take_events` batches (as casewatch's worker
takes them), and one table write per key per batch (the event count of each child, in a
table with a changelog, as casewatch writes each child's state): no decoding, no rules,
no alerts, no database. Whatever casewatch does beyond this is its own cost, so
"live / faust floor" says how close the worker is to the framework's own ceiling.

Run as its own process:
`python -m benchmarks.faust_floor BOOTSTRAP TOPICS GROUP PARTITIONS EXPECTED OUT`
(TOPICS comma-separated); writes {"seconds", "events", "keys"} to OUT, the seconds from
the process's start to the last batch applied, as the live step counts from the worker's start.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

import faust

from casewatch.event_loop import use_uvloop

BATCH, WITHIN_SECONDS = 1000, 0.01  # what the live worker's correlate agent takes


def main(bootstrap: str, topics: list[str], group: str, partitions: int, expected: int, out: Path) -> None:
    started = time.monotonic()
    use_uvloop()  # the worker's event loop
    app = faust.App(
        group,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(out.parent / f"faust-floor-{group}"),
        topic_partitions=partitions,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,  # as the live worker: changelog records batched
    )
    inputs = app.topic(*topics, key_serializer="raw", value_serializer="raw")
    # Batches mix partitions: the key's hash, not the current event, picks the changelog partition.
    counts = app.Table("floor-counts", default=int, partitions=partitions, key_type=bytes, use_partitioner=True)
    seen = [0]
    done: list[bool] = []

    @app.agent(inputs, name="floor")
    async def floor(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # take_events is on the class, not the protocol
        async for batch in stream.take_events(BATCH, within=WITHIN_SECONDS):
            per_key: dict[bytes, int] = {}
            for item in batch:
                key = item.message.key or b""
                per_key[key] = per_key.get(key, 0) + 1
            for key, n in per_key.items():
                counts[key] = counts[key] + n  # one write per key per batch
            seen[0] += len(batch)
            if seen[0] >= expected and not done:
                finish()

    def finish() -> None:
        done.append(True)
        out.write_text(json.dumps({"seconds": time.monotonic() - started, "events": seen[0], "keys": len(counts)}))
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own clean shutdown

    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
