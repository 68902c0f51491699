"""docs/benchmarks.md from a run's results: every Done-when row, the figures, the profile, the prose kept.

results_1000_events.json is the JSON of a real (tiny) run of every step:
`python -m benchmarks.run --events 1000 --rates 50,1000 --latency-seconds 2 --partitions 2 --profile`.
"""

import json
from pathlib import Path

from benchmarks.report import checks
from benchmarks.run import write_doc

RESULTS = json.loads((Path(__file__).parent / "results_1000_events.json").read_text())


def test_the_doc_gets_every_check_and_figure_between_the_markers_and_keeps_the_prose(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nprose before\n<!-- bench:start -->\nold\n<!-- bench:end -->\nprose after\n")
    write_doc(doc, RESULTS)
    text = doc.read_text()
    assert "prose before" in text and "prose after" in text and "\nold\n" not in text
    for check in checks(RESULTS):
        assert f"| {check['measure']} | {check['target']} | {check['measured']} |" in text
    for figure in ("casewatch / faust floor", "scale-out: 2 workers", "latency at 1000/s", "per 100,000 children"):
        assert figure in text
    assert "| faust | 36 | 34.6% |" in text  # the profile by owner, from the run's samples


def test_the_checks_in_the_results_are_the_ones_computed_from_its_figures() -> None:
    assert RESULTS["checks"] == checks(RESULTS)


def test_a_before_run_is_set_beside_the_live_one(tmp_path: Path) -> None:
    before = RESULTS["live"] | {"source": "/tmp/before", "events_per_second": RESULTS["live"]["events_per_second"] / 2}
    doc = tmp_path / "benchmarks.md"
    write_doc(doc, RESULTS | {"before": before})
    assert "| before: one worker from `/tmp/before`, same events |" in doc.read_text()
    assert "now 2.00x that; alerts equal to replay's |" in doc.read_text()
