"""From a case event to a manager's receiver: Kafka, the worker process (alert and its
notification in one transaction), the dispatcher process, a webhook on 127.0.0.1; then the
manager acknowledges it with the CLI."""

import dataclasses
import json
from pathlib import Path

from tests.integration.support import Deployment, running_worker, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL, publish
from tests.test_delivery.support import DispatcherProcess, HttpReceiver, write_config


def test_an_alert_raised_by_the_worker_reaches_the_webhook_and_is_acknowledged(
    deployment: Deployment, database_url: str, tmp_path: Path
) -> None:
    with HttpReceiver() as receiver:
        config = write_config(
            tmp_path,
            {
                "route": {"receiver": "managers", "group_by": ["team"], "group_wait": "1s"},
                "receivers": [
                    {
                        "name": "managers",
                        "webhook": {"url": receiver.url, "secret_env": "HOOK_SECRET", "allow_plain_http": True},
                    }
                ],
                "delivery": {"poll_interval": "200ms"},
                "notify_classes": ["immediate", "worklist"],  # whatever class the rule gives it, it is sent
            },
        )
        settings = dataclasses.replace(deployment.settings, database_url=database_url, config_path=config)
        deployment = dataclasses.replace(deployment, settings=settings)
        env = deployment.env | {"HOOK_SECRET": "k"}
        dispatcher = DispatcherProcess(env, tmp_path / "dispatcher.log").start()
        try:
            with running_worker(deployment) as worker:
                publish(deployment, AGREEMENT, REFERRAL)
                wait_until(lambda: receiver.accepted(), 90, lambda: worker.describe() + dispatcher.describe())
        finally:
            dispatcher.stop()

    [delivered] = receiver.accepted()
    [alert] = delivered.json()["alerts"]
    assert (alert["child_id"], alert["team"], alert["facts"]["agreement_id"]) == ("C1001", "CIN East", "wa-1")
    listed = deployment.run_cli("notifications", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [notification] = json.loads(listed.stdout)
    assert (notification["status"], notification["receiver"], notification["alerts"]) == ("sent", "managers", 1)

    acknowledged = deployment.run_cli("alert", "ack", alert["alert_id"], "--by", "team.manager")
    assert acknowledged.returncode == 0, acknowledged.stderr
    assert acknowledged.stdout.strip() == f"alert {alert['alert_id']}: acknowledged"
    history = deployment.run_cli("alert", "history", alert["alert_id"])
    assert "team.manager" in history.stdout and "acknowledge" in history.stdout
