"""Finding 8 of issue 14, the delivery half: no login or alert in clear, no receiver at a
link-local or metadata address, no secret in a log line. Through the real configuration
loader, the real `casewatch dispatch` and a real SMTP server on 127.0.0.1."""

import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from casewatch.delivery.channels.email import EmailChannel
from casewatch.delivery.config import RoutingConfigError, load_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.local_kafka import free_port
from casewatch.redaction import REDACTED, RedactingFilter, register_secret
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import Mailbox, self_signed_certificate, write_config
from tests.test_delivery.test_channels import SECOND, batch, view

MAIL = {"host": "smtp.council.example", "from": "casewatch@council.example", "to": ["cin@council.example"]}


def load(tmp_path: Path, receiver: dict[str, Any]) -> Any:
    return load_routing(write_config(tmp_path, {"route": {"receiver": "r"}, "receivers": [{"name": "r", **receiver}]}))


@pytest.mark.parametrize(
    "email",
    [{"starttls": False, "username": "casewatch", "password_env": "SMTP_PASSWORD"},
     {"port": 25, "starttls": False, "implicit_tls": False, "username": "u", "password_env": "SMTP_PASSWORD"}],
)  # fmt: skip
def test_a_login_without_tls_is_refused_when_the_config_is_loaded(tmp_path: Path, email: dict[str, Any]) -> None:
    with pytest.raises(RoutingConfigError, match="a login is sent only over TLS"):
        load(tmp_path, {"email": MAIL | email})


def test_a_login_over_starttls_or_implicit_tls_and_no_login_in_clear_are_accepted(tmp_path: Path) -> None:
    login = {"username": "casewatch", "password_env": "SMTP_PASSWORD"}
    assert load(tmp_path, {"email": MAIL | login}).receivers[0].email.starttls
    on_465 = load(tmp_path, {"email": MAIL | login | {"port": 465, "starttls": False}}).receivers[0].email
    assert on_465.tls_from_start
    assert not load(tmp_path, {"email": MAIL | {"starttls": False}}).receivers[0].email.tls_from_start
    with pytest.raises(ValueError, match="only over TLS"):
        EmailChannel(host="h", port=25, sender="a@b.example", to=["c@d.example"], starttls=False, username="u",
                     password="p", ca_file=None, timeout=SECOND)  # fmt: skip


def test_implicit_tls_sends_to_a_real_smtp_server_that_speaks_tls_from_the_first_byte(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        result = EmailChannel(
            host="127.0.0.1", port=port, sender="a@b.example", to=["c@d.example"], starttls=True,
            username=None, password=None, ca_file=cert, timeout=SECOND * 5, implicit_tls=True,
        ).send(batch(view("a")))  # fmt: skip
    finally:
        controller.stop()
    assert result.ok, result.error
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.council.example/x", "must use https://"),
        ("http://127.0.0.1:9000/x", "set allow_plain_http: true"),
        ("file:///etc/passwd", "must start with https://"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://169.254.10.1/x", "link-local"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https:///x", "has no host"),
        ("https://user:pw@hooks.council.example/x", "user name or password"),
    ],
)
def test_a_webhook_url_that_is_not_safe_is_refused_at_load(tmp_path: Path, url: str, why: str) -> None:
    with pytest.raises(RoutingConfigError, match=why) as refused:
        load(tmp_path, {"webhook": {"url": url, "secret_env": "HOOK_SECRET"}})
    assert url not in str(refused.value)  # a URL can be a credential: never repeated


def test_a_webhook_must_be_signed_and_plain_http_needs_loopback_and_the_explicit_setting(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match=r"webhook\.secret_env: Field required"):
        load(tmp_path, {"webhook": {"url": "https://hooks.council.example/x"}})
    assert load(tmp_path, {"webhook": {"url": "https://hooks.council.example/x", "secret_env": "HOOK_SECRET"}})
    local = {"url": "http://127.0.0.1:9000/x", "secret_env": "HOOK_SECRET", "allow_plain_http": True}
    assert load(tmp_path, {"webhook": local}).receivers[0].webhook.allow_plain_http
    with pytest.raises(RoutingConfigError, match="only to this machine"):
        load(tmp_path, {"webhook": local | {"url": "http://10.0.0.8/x"}})


def _dispatch_once(database_url: str, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casewatch", "dispatch", "--once"],
        env=dict(os.environ, CASEWATCH_DATABASE_URL=database_url, CASEWATCH_CONFIG=str(config), **env),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("secret_url", "why"),
    [("prod-27.westeurope.logic.azure.com/workflows/0123abcd/triggers/manual?sig=S3CRETsig", "must start with https"),
     ("file:///tmp/teams-S3CRETsig", "must start with https"),
     ("https://169.254.169.254/S3CRETsig", "points at a cloud metadata service")],
)  # fmt: skip
def test_a_bad_teams_url_stops_the_dispatcher_at_start_without_showing_the_secret(
    database_url: str, tmp_path: Path, secret_url: str, why: str
) -> None:
    config = write_config(tmp_path, {"route": {"receiver": "teams", "group_wait": "0s"},
                                     "receivers": [{"name": "teams", "teams": {"url_env": "TEAMS_URL"}}]})  # fmt: skip
    engine = connect(database_url)
    upsert_alerts(engine=engine, alerts=[make_alert("t")], on_stored=enqueuer(load_routing(config)))
    engine.dispose()
    done = _dispatch_once(database_url, config, TEAMS_URL=secret_url)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the Teams URL in TEAMS_URL {why}" in done.stderr
    assert "S3CRETsig" not in done.stdout + done.stderr
    assert "sent" not in done.stdout


def test_a_registered_secret_is_scrubbed_from_log_lines_and_their_tracebacks(tmp_path: Path) -> None:
    register_secret("hunter2-smtp-password")
    log_file = tmp_path / "log.txt"
    handler = logging.FileHandler(log_file)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("casewatch.test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("login as %s with %s", "casewatch", "hunter2-smtp-password")
        try:
            raise ValueError("unknown url type: 'hunter2-smtp-password'")
        except ValueError:
            logger.exception("channel teams failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = log_file.read_text()
    assert "hunter2" not in written
    assert written.startswith(f"login as casewatch with {REDACTED}\n")
    assert f"ValueError: unknown url type: '{REDACTED}'" in written  # the traceback, scrubbed too
