"""Write the fixture of tests/test_agents/test_nothing_dropped.py: a simulated stream and the
alerts the nine rules as they stood at commit 4f568a4 raised on it.

Run it against that commit's code, not the working tree's:
    git archive 4f568a4 | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old .venv/bin/python tests/test_agents/data/make_old_findings.py
"""

import gzip
import json
from pathlib import Path

from agents.replay import replay
from agents.rules import RulesConfig
from streams.simulate import SimulationSpec, simulate

HERE = Path(__file__).parent
SPEC = SimulationSpec(children=400, seed=11, months=24)


def main() -> None:
    events = simulate(SPEC)
    with gzip.open(HERE / "old_stream.jsonl.gz", "wt") as out:
        for event in events:
            out.write(event.model_dump_json() + "\n")
    result = replay(events, RulesConfig())
    alerts = sorted(result.alerts.values(), key=lambda a: (a.rule, a.alert_id))
    rows = [{"alert_id": a.alert_id, "rule": a.rule, "child_id": a.child_id, "team": a.team, "facts": a.facts}
            for a in alerts]  # fmt: skip
    with gzip.open(HERE / "old_findings.jsonl.gz", "wt") as out:
        out.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    print(f"{len(events)} events, {len(rows)} alerts")


if __name__ == "__main__":
    main()
