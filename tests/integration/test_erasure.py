"""Erasure on real parts (issue 14, finding 5): the broker, `casewatch worker`, `casewatch erase`,
`DELETE /v1/children/{id}` on `casewatch serve`, and the database.

What is checked is what erasure promises: the child's alerts, notifications and timeline are gone,
the audit log names the child only by a keyed hash, and neither a running worker nor one
started afterwards remembers the child's earlier events (an agreement made before the
erasure does not turn a referral after it into an alert). Control children show the
pipeline kept working.
"""

import hashlib
import hmac
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from casewatch.delivery.tables import audit_log
from casewatch.storage import connect, list_alerts
from casewatch.timeline import child_timeline
from schemas.events import Referral, WrittenAgreement
from tests.integration.http_support import ADMIN, running_server
from tests.integration.support import Deployment, WorkerProcess, running_worker, wait_until
from tests.integration.test_worker_end_to_end import publish

KEY = "erasure-key-for-tests-0123456789abcdef"
T = lambda day: datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)  # noqa: E731


def agreement(child: str) -> WrittenAgreement:
    return WrittenAgreement(
        event_id=f"lcs:{child}:wa", child_id=child, occurred_at=T("2024-01-10"), recorded_at=T("2024-01-11"),
        team="CIN East", source="lcs", agreement_id=f"wa-{child}", action="made", accompanies_closure=True,
    )  # fmt: skip


def referral(child: str, day: str) -> Referral:
    return Referral(event_id=f"lcs:{child}:ref:{day}", child_id=child, occurred_at=T(day), recorded_at=T(day),
                    team="Front Door", source="lcs", referral_source="2A")  # fmt: skip


def alerted(deployment: Deployment) -> dict[str, int]:
    found: dict[str, int] = {}
    for alert in list_alerts(engine=connect(deployment.settings.database_url), limit=1000):
        found[str(alert.child_id)] = found.get(str(alert.child_id), 0) + 1
    return found


def timeline(deployment: Deployment, child: str) -> list[str]:
    return [e.event_id for e in child_timeline(connect(deployment.settings.database_url), child_id=child)]


def test_an_erased_child_is_forgotten_by_running_and_restarted_workers_and_the_database(
    deployment: Deployment,
) -> None:
    env = deployment.env | {"CASEWATCH_ERASURE_KEY": KEY}
    with running_worker(deployment) as worker:
        publish(deployment, agreement("C1"), referral("C1", "2024-05-02"), agreement("C3"))
        wait_until(lambda: alerted(deployment).get("C1") == 1, 90, worker.describe)
        wait_until(lambda: len(timeline(deployment, "C1")) == 2 and timeline(deployment, "C3"), 90, worker.describe)

        erased = subprocess.run([sys.executable, "-m", "casewatch", "erase", "C1", "--by", "dpo.officer"], env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert erased.returncode == 0, erased.stderr
        assert erased.stdout.startswith("erased: 1 alerts,")
        assert ", 2 timeline events;" in erased.stdout
        assert "C1" not in erased.stdout
        assert "C1" not in alerted(deployment)
        assert timeline(deployment, "C1") == []
        wait_until(lambda: worker.metric("casewatch_children_erased_total") >= 1, 60, worker.describe)

        # The running worker forgot C1's agreement: a referral now raises nothing for C1, while the
        # control child C3, whose agreement came before the erasure too, is alerted.
        publish(deployment, referral("C1", "2024-06-03"), referral("C3", "2024-06-03"))
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 5, 90, worker.describe)
        wait_until(lambda: alerted(deployment).get("C3") == 1, 90, worker.describe)
        # Counted in the batch that consumed the referrals: C1's first alert and C3's, none for C1's second.
        assert worker.metric("casewatch_alerts_raised_total") == 2
        # Events after the erasure are new events: the timeline holds C1's new referral alone.
        wait_until(lambda: timeline(deployment, "C1") == ["lcs:C1:ref:2024-06-03"], 90, worker.describe)
    assert "C1" not in alerted(deployment)
    assert timeline(deployment, "C3") == ["lcs:C3:ref:2024-06-03", "lcs:C3:wa"]

    # Erased while no worker runs, over HTTP: a worker started afterwards rebuilds its table from
    # the changelog (with the tombstone) and reads the erase message; C4's agreement is gone.
    with running_worker(deployment, "worker-2.log") as worker:
        publish(deployment, agreement("C4"), agreement("C5"))
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 2, 90, worker.describe)
    with running_server(deployment, env={"CASEWATCH_ERASURE_KEY": KEY}) as api:
        assert api.request("DELETE", "/v1/children/C4", token=None).status == 401
        assert api.request("DELETE", "/v1/children/C4").status == 403  # the feed's token erases nothing
        assert api.request("DELETE", "/v1/children/C%204", token=ADMIN).status == 400
        # The audit log names the admin token's identity (dpo.officer), whatever a request says.
        answer = api.request("DELETE", "/v1/children/C4?by=someone.else", token=ADMIN)
        assert answer.status == 200, answer.body
        assert answer.json()["erased"] == hmac.new(KEY.encode(), b"C4", hashlib.sha256).hexdigest()
    restarted = WorkerProcess(deployment, "worker-3.log").start()
    try:
        publish(deployment, referral("C4", "2024-06-03"), referral("C5", "2024-06-03"))
        wait_until(lambda: restarted.metric("casewatch_events_consumed_total") >= 2, 90, restarted.describe)
        wait_until(lambda: alerted(deployment).get("C5") == 1, 90, restarted.describe)
        assert restarted.metric("casewatch_alerts_raised_total") == 1  # C5's; none for C4
    finally:
        restarted.stop()
    assert set(alerted(deployment)) == {"C3", "C5"}

    with connect(deployment.settings.database_url).connect() as connection:
        entries = [dict(r._mapping) for r in connection.execute(select(audit_log).where(audit_log.c.action == "erase"))]
    assert [(e["actor"], e["subject"], e["subject_id"]) for e in entries] == [
        ("dpo.officer", "child", hmac.new(KEY.encode(), child, hashlib.sha256).hexdigest()) for child in (b"C1", b"C4")
    ]
    assert not any("C1" in str(e) or "C4" in str(e) for e in entries)
