"""The email channel: one message per group over SMTP, plain text and HTML alternatives.

STARTTLS, or implicit TLS on port 465 (verified against the system's CAs, or `ca_file`),
and login when configured; a password is never sent over a connection without TLS.
The Message-ID is derived from the notification's idempotency key, so a resend after a
crash carries the same id and mail systems can drop the copy.
"""

import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from html import escape
from pathlib import Path

from agents.worklist import MARK_TEXT, Worklist
from casewatch.delivery.channels.base import Batch, SendResult, fact_text, finding_text, rules_explained, title

# SMTP replies 4xx are transient by definition (RFC 5321); 5xx are permanent.
_TRANSIENT = range(400, 500)


def email_message(batch: Batch, *, sender: str, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[casewatch] {batch.headline()}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{batch.idempotency_key}@casewatch>"
    message["X-Casewatch-Notification"] = str(batch.notification_id)
    message["X-Casewatch-Idempotency-Key"] = batch.idempotency_key
    if batch.worklist is not None:
        message.set_content(_worklist_text(batch, batch.worklist))
        message.add_alternative(_worklist_html(batch, batch.worklist), subtype="html")
    else:
        message.set_content(_text(batch))
        message.add_alternative(_html(batch), subtype="html")
    return message


def _worklist_text(batch: Batch, worklist: Worklist) -> str:
    lines = [batch.headline(), ""]
    if page := batch.worklist_page():
        lines += [f"On the page: {page}", ""]
    if not worklist.lines:
        lines.append("Nothing is open for this team this week.")
    for line in worklist.lines:
        lines.append(f"- {line.severity.upper()} {line.subject} [{MARK_TEXT[line.mark]}], latest {line.latest}")
        lines += [f"    {finding_text(item)}" for item in line.items]
        if line.link:
            lines.append(f"    Case record: {line.link}")
    explained = rules_explained(worklist)
    if explained:
        lines += ["", "The rules on this list:"]
    for rule, (why, what) in explained.items():
        lines += [f"{title(rule)}: {why}", f"What to do: {what}", ""]
    lines += ["", f"casewatch notification {batch.notification_id} to {batch.receiver}."]
    return "\n".join(lines) + "\n"


def _worklist_html(batch: Batch, worklist: Worklist) -> str:
    parts = [f"<h2>{escape(batch.headline())}</h2>"]
    if page := batch.worklist_page():
        parts.append(f'<p><a href="{escape(page)}">Open the worklist on the page</a></p>')
    if not worklist.lines:
        parts.append("<p>Nothing is open for this team this week.</p>")
    else:
        parts.append(
            '<table border="1" cellpadding="4" cellspacing="0">'
            "<tr><th>Severity</th><th>Child ID</th><th>Mark</th><th>Latest</th><th>Findings</th><th>Record</th></tr>"
        )
        for line in worklist.lines:
            findings = "<br>".join(escape(finding_text(item)) for item in line.items)
            link = f'<a href="{escape(line.link)}">open</a>' if line.link else ""
            parts.append(
                f"<tr><td>{escape(line.severity)}</td><td>{escape(line.child_id or '(team)')}</td>"
                f"<td>{escape(MARK_TEXT[line.mark])}</td><td>{line.latest.isoformat()}</td>"
                f"<td>{findings}</td><td>{link}</td></tr>"
            )
        parts.append("</table>")
    for rule, (why, what) in rules_explained(worklist).items():
        parts.append(f"<p><b>{escape(title(rule))}</b>: {escape(why)}<br><b>What to do:</b> {escape(what)}</p>")
    parts.append(f"<p>casewatch notification {batch.notification_id} to {escape(batch.receiver)}.</p>")
    return "<html><body>" + "\n".join(parts) + "</body></html>\n"


def _explanations(batch: Batch) -> dict[str, tuple[str, str]]:
    return {a.rule: (a.explanation, a.action) for a in reversed(batch.alerts)}


def _text(batch: Batch) -> str:
    lines = [batch.headline(), ""]
    for rule, (why, what) in _explanations(batch).items():
        lines += [f"{title(rule)}: {why}", f"What to do: {what}", ""]
    for alert in batch.alerts:
        lines.append(f"- {alert.severity.upper()} {alert.subject}, team {alert.team}, {alert.occurred_at[:10]}")
        lines += [f"    {title(k)}: {fact_text(v)}" for k, v in alert.facts]
        if alert.link:
            lines.append(f"    Case record: {alert.link}")
        if page := batch.alert_page(alert.alert_id):
            lines.append(f"    On the page: {page}")
    lines += ["", f"casewatch notification {batch.notification_id} to {batch.receiver}."]
    return "\n".join(lines) + "\n"


def _html(batch: Batch) -> str:
    parts = [f"<h2>{escape(batch.headline())}</h2>"]
    for rule, (why, what) in _explanations(batch).items():
        parts.append(f"<p><b>{escape(title(rule))}</b>: {escape(why)}<br><b>What to do:</b> {escape(what)}</p>")
    parts.append(
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Severity</th><th>Child ID</th><th>Team</th><th>Date</th><th>Details</th><th>Record</th></tr>"
    )
    for alert in batch.alerts:
        details = "<br>".join(f"{escape(title(k))}: {escape(fact_text(v))}" for k, v in alert.facts)
        link = f'<a href="{escape(alert.link)}">open</a>' if alert.link else ""
        if page := batch.alert_page(alert.alert_id):
            link += f' <a href="{escape(page)}">page</a>'
        child = escape(alert.child_id or "(team)")
        parts.append(
            f"<tr><td>{escape(alert.severity)}</td><td>{child}</td><td>{escape(alert.team)}</td>"
            f"<td>{escape(alert.occurred_at[:10])}</td><td>{details}</td><td>{link}</td></tr>"
        )
    parts.append(f"</table><p>casewatch notification {batch.notification_id} to {escape(batch.receiver)}.</p>")
    return "<html><body>" + "\n".join(parts) + "</body></html>\n"


class EmailChannel:
    kind = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        to: list[str],
        starttls: bool,
        username: str | None,
        password: str | None,
        ca_file: Path | None,
        timeout: timedelta,
        implicit_tls: bool = False,
    ) -> None:
        if username is not None and not (starttls or implicit_tls):
            raise ValueError("an SMTP login is sent only over TLS (STARTTLS or implicit TLS)")
        self._host, self._port, self._sender, self._to = host, port, sender, to
        self._starttls, self._username, self._password = starttls, username, password
        self._ca_file, self._timeout, self._implicit_tls = ca_file, timeout, implicit_tls

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        seconds = self._timeout.total_seconds()
        if self._implicit_tls:
            return smtplib.SMTP_SSL(self._host, self._port, timeout=seconds, context=context)
        return smtplib.SMTP(self._host, self._port, timeout=seconds)

    def send(self, batch: Batch) -> SendResult:
        message = email_message(batch, sender=self._sender, to=self._to)
        try:
            context = ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)
            with self._connect(context) as smtp:
                if self._starttls and not self._implicit_tls:
                    smtp.starttls(context=context)
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
            return SendResult.sent()
        except smtplib.SMTPRecipientsRefused as error:
            codes = {code for code, _ in error.recipients.values()}
            return SendResult.failed(
                f"recipients refused ({sorted(codes)})", retryable=all(c in _TRANSIENT for c in codes)
            )
        except smtplib.SMTPResponseException as error:
            return SendResult.failed(f"SMTP {error.smtp_code}", retryable=error.smtp_code in _TRANSIENT)
        except smtplib.SMTPNotSupportedError:
            return SendResult.failed("the SMTP server does not offer STARTTLS or login", retryable=False)
        except ssl.SSLError as error:
            return SendResult.failed(f"TLS failed: {error.reason}", retryable=False)
        except (OSError, smtplib.SMTPException) as error:
            return SendResult.failed(f"{type(error).__name__} talking to the SMTP server", retryable=True)
