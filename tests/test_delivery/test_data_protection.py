"""Only allow-listed alert fields leave casewatch, whatever a stored alert carries, on every channel."""

import email
import json
import logging
from email.policy import default as default_policy
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import update

from casewatch.delivery.channels import build_channels
from casewatch.delivery.dispatcher import Dispatcher
from casewatch.delivery.metrics import DeliveryMetrics
from casewatch.delivery.outbox import enqueuer, list_notifications
from casewatch.storage import alerts_table, connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import Clock, HttpReceiver, routing, smtp_server

# Values that must never leave: names, addresses, UPNs, free text, and fields not on the list.
SECRETS = {
    "child_name": "Jane Secretname",
    "home_address": "1 Secretstreet Road",
    "upn": "A123456789012",
    "case_note": "Mother said the secret words",
}


def test_an_alert_carrying_extra_fields_reaches_every_channel_without_them(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        HttpReceiver() as webhook,
        HttpReceiver(ok_status=202) as teams,
        smtp_server(tmp_path, user="casewatch", password="pw") as (mailbox, port, ca_file),
    ):
        config = routing(
            {
                # Grouping by a non-allowed label too: group labels pass the same allow-list.
                "route": {"receiver": "console", "group_by": ["team", "child_name"], "group_wait": "0s",
                          "routes": [{"receiver": name, "continue": True} for name in ("webhook", "teams", "email")]
                          + [{"receiver": "console"}]},
                "receivers": [
                    {"name": "console", "console": {}},
                    {"name": "webhook", "webhook": {"url": webhook.url, "secret_env": "HOOK_SECRET",
                                                    "allow_plain_http": True}},
                    {"name": "teams", "teams": {"url_env": "TEAMS_URL", "allow_plain_http": True}},
                    {"name": "email", "email": {"host": "127.0.0.1", "port": port, "username": "casewatch",
                                                "password_env": "SMTP_PASSWORD", "ca_file": str(ca_file),
                                                "from": "casewatch@council.example", "to": ["cin@council.example"]}},
                ],
                "worklist": {"keep_weeks": 8},  # the weekly list of the alert's team goes to every receiver too
            }
        )  # fmt: skip
        environment = {"HOOK_SECRET": "k", "TEAMS_URL": teams.url, "SMTP_PASSWORD": "pw"}
        engine = connect(database_url)
        alert = make_alert("leaky", facts={"agreement_id": "wa-1", "days_between": 113, **SECRETS})
        clock = Clock()
        upsert_alerts(engine=engine, alerts=[alert], on_stored=enqueuer(config), now=clock())
        with engine.begin() as connection:  # a field a later schema version stored, unknown to this one
            stored = json.loads(alert.model_dump_json()) | {"upn_top_level": "B987654321098"}
            connection.execute(update(alerts_table).values(payload=json.dumps(stored)))
        dispatcher = Dispatcher(
            engine=engine, config=config, channels=build_channels(config, environment.__getitem__),
            metrics=DeliveryMetrics.create(CollectorRegistry()), clock=clock,
        )  # fmt: skip
        assert dispatcher.run_once() == 8  # the alert, and the team's worklist of the week before T0
    notifications = list_notifications(engine)
    assert [n.status for n in notifications] == ["sent"] * 8
    assert sorted(n.kind for n in notifications) == ["notify"] * 4 + ["worklist"] * 4

    outside = {
        "webhook": b"".join(r.body + json.dumps(r.headers).encode() for r in webhook.received).decode(),
        "teams": b"".join(r.body + json.dumps(r.headers).encode() for r in teams.received).decode(),
        "email": "".join(_readable(m.original_content or b"") for m in mailbox.messages),
        "console": capsys.readouterr().out,
        "logs": caplog.text,
    }
    for where, text in outside.items():
        assert alert.child_id in text or where == "logs", f"nothing reached {where}"
        for secret in [*SECRETS.values(), "B987654321098", "lcs:leaky", "child_name", "home_address", "upn_top"]:
            assert secret not in text, f"{secret!r} left casewatch through {where}"
    assert "wa-1" in outside["webhook"] and "113" in outside["email"]  # allowed facts do travel
    assert outside["console"].count(f"child {alert.child_id}") == 2  # its alert, and its line on the worklist
    worklist_bodies = [r.json() for r in webhook.received if r.json()["kind"] == "worklist"]
    assert [line["child_id"] for body in worklist_bodies for line in body["worklist"]["lines"]] == [alert.child_id]


def _readable(raw: bytes) -> str:
    """Headers and every part decoded (base64, quoted-printable), so a search cannot miss a value."""
    message = email.message_from_bytes(raw, policy=default_policy)
    parts = [str(value) for _, value in message.items()]
    parts += [part.get_content() for part in message.walk() if not part.is_multipart()]  # type: ignore[attr-defined]
    return "\n".join(parts)
