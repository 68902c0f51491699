"""`make bench` kept working: the benchmark with a tiny N. Figures are not asserted
(speed is measured in benchmarks, not in tests), only that every step ran and agreed.

The smoke run skips two steps to stay cheap (it runs in `make test`): `scaleout` is the
live step again with two more worker processes (about 70 s more: most of a worker's
time at this size is its clock's sweep), and `latency` starts one more worker; both are
the same code as `live`, and their figures and checks are rendered in
test_bench_report.py from a real run's results. A partial run writes only the JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_benchmark_steps_run_end_to_end_and_agree_with_replay(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "bench-results.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--events", "1000", "--steps", "live,faust,aiokafka,quix,replay",
         "--profile", "--partitions", "2", "--timeout", "300", "--out", str(out), "--work", str(tmp_path / "w")],
        env=dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["live"]["events"] == 1000
    assert results["live"]["alerts_by_rule"] == results["live"]["alerts_expected_by_replay"]
    assert results["quix"]["alerts"] == results["live"]["alerts_by_rule"]["rereferral_after_agreement"]
    assert 0 < results["live"]["seconds_to_all_consumed"] <= results["live"]["seconds"]
    assert results["faust_floor"]["events"] == 1000
    assert results["aiokafka"]["events"] == 1000 and results["quix"]["events"] == 1000
    assert results["replay"]["events"] == 1000
    assert results["memory"]["state_memory_bytes_per_child_mean"] > results["memory"]["state_json_bytes_per_child_mean"]
    # py-spy saw the worker, and the worker runs on faust: its samples are not all "other".
    assert results["profile"]["samples_by_owner"]["faust"] > 0
    assert "live: loading 1,000 events" in result.stderr  # progress lines while it runs
    assert "live: " in result.stderr and "alerts equal to replay's" in result.stderr
