"""Baseline (b): re-referral after agreement written in Quix Streams, as a user would.

Run as its own process: `python -m benchmarks.quix_rule BOOTSTRAP TOPICS GROUP EXPECTED OUT`
(TOPICS comma-separated). It consumes the same input topics as casewatch, keeps per-child state in Quix's RocksDB
store (with changelog topics), raises one alert per (child, referral day) that follows an
agreement within 12 calendar months, and writes {"seconds", "events", "alerts"} to OUT.
Its rule is written independently of casewatch's engine, so equal alert counts check both.
"""

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from quixstreams import Application, State

from agents.calendar import within_months_after


def main(bootstrap: str, topics: list[str], group: str, expected_events: int, out: Path) -> None:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=str(out.parent / f"quix-state-{group}"),
        loglevel="WARNING",
    )
    frames = [app.dataframe(app.topic(name, value_deserializer="json")) for name in topics]
    alerts_topic = app.topic(f"{group}-alerts", value_serializer="json")
    counters = {"events": 0, "alerts": 0}
    started = time.monotonic()
    last = [started]

    def correlate(event: dict[str, Any], state: State[Any, Any]) -> list[dict[str, str]]:
        counters["events"] += 1
        last[0] = time.monotonic()
        day = date.fromisoformat(event["occurred_at"][:10])
        made: list[str] = state.get("made", [])
        referred: list[str] = state.get("referred", [])
        alerted: list[str] = state.get("alerted", [])
        candidates: list[date] = []
        if event["event_type"] == "referral":
            if day.isoformat() not in referred:
                referred.append(day.isoformat())
                state.set("referred", referred)
            candidates = [day]
        elif event["event_type"] == "agreement" and event["action"] == "made":
            if day.isoformat() not in made:
                made.append(day.isoformat())
                state.set("made", made)
            candidates = [date.fromisoformat(r) for r in referred]
        raised = []
        for referral in candidates:
            if referral.isoformat() in alerted:
                continue
            if any(within_months_after(date.fromisoformat(m), referral, 12) for m in made):
                alerted.append(referral.isoformat())
                raised.append({"child_id": event["child_id"], "referral_date": referral.isoformat()})
        if raised:
            state.set("alerted", alerted)
            counters["alerts"] += len(raised)
        if counters["events"] >= expected_events:
            app.stop()
        return raised

    stream = frames[0]
    for frame in frames[1:]:
        stream = stream.concat(frame)
    stream = stream.apply(correlate, stateful=True, expand=True)
    stream.to_topic(alerts_topic)
    # Stops at the expected count, or once no message has come for a while (a safety net).
    app.run(timeout=30.0)
    out.write_text(
        json.dumps({"seconds": last[0] - started, "events": counters["events"], "alerts": counters["alerts"]})
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
