"""`make bench` kept working: the whole benchmark with a tiny N. Figures are not asserted
(speed is measured in benchmarks, not in tests), only that every step ran and agreed."""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_benchmark_runs_end_to_end_and_writes_both_files(kafka_bootstrap: str, tmp_path: Path) -> None:
    out, doc = tmp_path / "bench-results.json", tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nprose before\n<!-- bench:start -->\nold\n<!-- bench:end -->\nprose after\n")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--events", "1000", "--rates", "50", "--latency-seconds", "2",
         "--partitions", "2", "--timeout", "300", "--out", str(out), "--doc", str(doc), "--work", str(tmp_path / "w")],
        env=dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["live"]["events"] == 1000
    assert results["live"]["alerts_by_rule"] == results["live"]["alerts_expected_by_replay"]
    assert results["ratios"]["quix_rereferral_alerts_match"] is True
    assert results["aiokafka"]["events"] == 1000 and results["quix"]["events"] == 1000
    assert results["latency"]["50"]["alerts"] == results["latency"]["50"]["alerts_expected"]
    assert results["replay"]["events"] == 1000
    text = doc.read_text()
    assert "prose before" in text and "prose after" in text and "old" not in text
    assert "casewatch / aiokafka" in text and "events/s" in text
