"""The dispatcher's readiness (/readyz and casewatch_dispatcher_ready): its last turn worked."""

import threading
from pathlib import Path

from sqlalchemy import create_engine

from tests.integration.support import wait_until
from tests.test_delivery.support import Harness, routing

CONFIG = {
    "route": {"receiver": "r"},
    "receivers": [{"name": "r", "console": {}}],
    "delivery": {"poll_interval": "50ms"},
}


def test_ready_after_a_turn_works_and_unready_with_the_reason_while_turns_fail(tmp_path: Path) -> None:
    harness = Harness(f"sqlite:///{tmp_path / 'casewatch.db'}", routing(CONFIG))
    dispatcher = harness.dispatcher
    assert dispatcher.unready() == "no turn yet"
    stop = threading.Event()
    loop = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    loop.start()
    try:
        wait_until(lambda: dispatcher.unready() is None, 30)
        assert harness.metric("casewatch_dispatcher_ready") == 1
        dispatcher.engine = create_engine(f"sqlite:///{tmp_path / 'no such folder' / 'casewatch.db'}")  # unreachable
        wait_until(lambda: dispatcher.unready() == "its last turn failed (OperationalError)", 30)
        assert harness.metric("casewatch_dispatcher_ready") == 0
        assert harness.metric("casewatch_dispatcher_turn_failures_total") >= 1
    finally:
        stop.set()
        loop.join(30)
