"""The replay step alone, end to end from JSON lines, with a digest of what it produced.

`python -m benchmarks.replay_speed [--events N] [--seed S] [--repeat R]` builds the events as
`benchmarks/run.py` does, writes them as JSON lines, then times `read_jsonl` and `replay`
(separately and together, in CPU time of this process: the machine is shared, and wall
time counts the other work on it) and prints events/s with a digest of every alert (id and payload)
and every final child and team state. Run it from two checkouts in the same window: the
digests must match, and the ratio of the rates is the figure (the machine is shared).
"""

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from agents.replay import ReplayResult, replay
from benchmarks.run import RULES, events_for
from streams.codec import Rejection
from streams.jsonl import read_jsonl, write_jsonl


def digest(result: ReplayResult) -> str:
    """One hash of the alerts (sorted by id, as JSON) and the final states (as stored JSON)."""
    h = hashlib.sha256()
    for alert_id in sorted(result.alerts):
        h.update(result.alerts[alert_id].model_dump_json().encode())
    for child_id in sorted(result.states):
        h.update(child_id.encode() + json.dumps(result.states[child_id].to_dict(), sort_keys=True).encode())
    for team in sorted(result.teams):
        h.update(team.encode() + json.dumps(result.teams[team].to_dict(), sort_keys=True).encode())
    counts = (result.events, result.duplicates, result.stale, result.ticks, str(result.now))
    h.update(repr(counts).encode())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--file", type=Path, help="keep the JSON lines here and reuse them (for before and after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = args.file or Path(work) / "events.jsonl"
        if not path.exists():
            with open(path, "w") as out:
                write_jsonl(events_for(args.events, seed=args.seed), out)
        best: tuple[float, float, float] | None = None
        result = None
        for _ in range(args.repeat):
            started = time.process_time()
            parsed = [line.result for line in read_jsonl(path)]
            read = time.process_time()
            result = replay([e for e in parsed if not isinstance(e, Rejection)], RULES)
            done = time.process_time()
            timing = (done - started, read - started, done - read)
            best = timing if best is None or timing[0] < best[0] else best
        assert best is not None and result is not None
        total, parsing, engine = best
        n = result.events
        print(
            f"events {n}  end to end {n / total:,.0f}/s  parsing {n / parsing:,.0f}/s  "
            f"engine {n / engine:,.0f}/s  alerts {len(result.alerts)}  digest {digest(result)}"
        )


if __name__ == "__main__":
    main()
