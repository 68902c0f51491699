"""Baseline (a): a plain aiokafka consume-and-produce loop over the same messages.

No decoding, no state, no rules: the practical limit for Python on Kafka on this machine.
Run as its own process: `python -m benchmarks.aiokafka_loop BOOTSTRAP TOPICS GROUP OUT_TOPIC N OUT`.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from casewatch.event_loop import use_uvloop


async def loop(bootstrap: str, topics: list[str], group: str, out_topic: str, expected: int) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=True
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    started = time.monotonic()
    await consumer.start()
    await producer.start()
    seen = 0
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            sends = [
                await producer.send(out_topic, key=message.key, value=message.value)
                for messages in batches.values()
                for message in messages
            ]
            seen += len(sends)
            if sends:
                await asyncio.gather(*sends)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"seconds": time.monotonic() - started, "events": seen}


def main() -> None:
    bootstrap, topics, group, out_topic, expected, out = sys.argv[1:7]
    use_uvloop()  # the worker's event loop
    result = asyncio.run(loop(bootstrap, topics.split(","), group, out_topic, int(expected)))
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
