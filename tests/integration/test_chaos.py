"""The chaos suite's short form: the worker SIGKILLed twice during ingest loses no alert."""

from pathlib import Path

from tests.chaos.run import Chaos, faults


def test_two_worker_kills_during_ingest_lose_nothing_and_add_nothing(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path, children=300, parts=4, database=None)
    chaos.broker.start(timeout=600)
    try:
        [(name, during, _)] = [f for f in faults(chaos, 2, None) if f[0].startswith("kill")]
        result = chaos.run(name, during)
    finally:
        chaos.broker.stop()
    print(f"\n{result}")
    assert result.expected > 0 and result.published == len(chaos.events)
    assert (result.lost, result.unexpected, result.differing) == (0, 0, 0), result
