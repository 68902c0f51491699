"""The Teams channel: a Workflows webhook ("When a Teams webhook request is received")
posted a message whose attachment is an Adaptive Card (shared/DOMAIN.md).

Teams refuses a message over about 28 KB, so a large group is summarised: as many alerts
as fit are shown in full and a closing line counts the rest. The card is always built
whole and measured, never cut, so it stays valid JSON and a valid card. A weekly worklist
is never summarised: it is split into as many messages as it needs ("part 1 of 3"), whole
lines in each.
"""

import json
from datetime import timedelta
from typing import Any

from agents.worklist import MARK_TEXT, Worklist, WorklistLine
from casewatch.delivery.allowlist import AlertView
from casewatch.delivery.channels.base import Batch, SendResult, fact_text, finding_text, rules_explained, title
from casewatch.delivery.channels.http import post_json

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def teams_message(batch: Batch, *, max_bytes: int) -> bytes:
    """The message body, under `max_bytes`, with as many alerts in full as fit."""
    alerts = list(batch.alerts)
    low, high = 0, len(alerts)  # the most alerts shown in full that still fit
    while low < high:
        middle = (low + high + 1) // 2
        if len(_encode(batch, alerts[:middle], len(alerts) - middle)) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    body = _encode(batch, alerts[:low], len(alerts) - low)
    if len(body) > max_bytes:
        raise ValueError(f"even a summary card is over {max_bytes} bytes")
    return body


def _encode(batch: Batch, shown: list[AlertView], omitted: int) -> bytes:
    return _encode_card(card(batch, shown, omitted))


def card(batch: Batch, shown: list[AlertView], omitted: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": batch.headline(),
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "color": "Attention" if batch.severity == "high" else "Default",
        }
    ]
    if batch.group:
        grouped = ", ".join(f"{title(k)}: {v}" for k, v in batch.group.items())
        body.append({"type": "TextBlock", "text": grouped, "isSubtle": True, "spacing": "None", "wrap": True})
    explained: set[str] = set()
    for alert in batch.alerts:  # why and what, once per rule, for every rule in the group
        if alert.rule in explained:
            continue
        explained.add(alert.rule)
        body += [
            {"type": "TextBlock", "text": f"**{title(alert.rule)}**: {alert.explanation}", "wrap": True},
            {"type": "TextBlock", "text": f"**What to do:** {alert.action}", "wrap": True, "spacing": "Small"},
        ]
    body += [_alert_container(alert, batch.alert_page(alert.alert_id)) for alert in shown]
    if omitted:
        noun = "alert" if omitted == 1 else "alerts"
        body.append(
            {
                "type": "TextBlock",
                "text": f"…and {omitted} more {noun} in this group, too many for one Teams message: "
                f"see them with `casewatch alerts` or in the email or webhook receivers.",
                "wrap": True,
                "isSubtle": True,
                "separator": True,
            }
        )
    return {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}


def _alert_container(alert: AlertView, page: str | None) -> dict[str, Any]:
    facts = [
        {"title": "Child ID", "value": alert.child_id or "(team-level alert)"},
        {"title": "Rule", "value": title(alert.rule)},
        {"title": "Severity", "value": alert.severity},
        {"title": "Team", "value": alert.team},
        {"title": "Date", "value": alert.occurred_at[:10]},
    ] + [{"title": title(k), "value": fact_text(v)} for k, v in alert.facts]
    items: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"{alert.severity.upper()} · {alert.subject}",
            "weight": "Bolder",
            "wrap": True,
        },
        {"type": "FactSet", "facts": facts},
    ]
    actions = [{"type": "Action.OpenUrl", "title": "Open case record", "url": alert.link}] if alert.link else []
    if page:
        actions.append({"type": "Action.OpenUrl", "title": "Open in casewatch", "url": page})
    if actions:
        items.append({"type": "ActionSet", "actions": actions})
    return {"type": "Container", "separator": True, "items": items}


def worklist_messages(batch: Batch, worklist: Worklist, *, max_bytes: int) -> list[bytes]:
    """The worklist as one message, or as several ("part 1 of 3") when one would be over
    `max_bytes`: whole lines per part, none left out, none cut."""
    widest = "999 of 999"  # measured with the widest part label, so the real label always fits
    parts: list[list[WorklistLine]] = []
    current: list[WorklistLine] = []
    for line in worklist.lines:
        if len(_encode_card(worklist_card(batch, worklist, [*current, line], widest))) <= max_bytes:
            current.append(line)
            continue
        if not current:
            raise ValueError(f"the worklist line for {line.subject} alone is over {max_bytes} bytes")
        parts.append(current)
        current = [line]
        if len(_encode_card(worklist_card(batch, worklist, current, widest))) > max_bytes:
            raise ValueError(f"the worklist line for {line.subject} alone is over {max_bytes} bytes")
    parts.append(current)
    total = len(parts)
    return [
        _encode_card(worklist_card(batch, worklist, part, f"{number} of {total}" if total > 1 else None))
        for number, part in enumerate(parts, start=1)
    ]


def worklist_card(batch: Batch, worklist: Worklist, lines: list[WorklistLine], part: str | None) -> dict[str, Any]:
    counts = worklist.counts()
    headline = batch.headline() + (f" (part {part})" if part else "")
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": headline,
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "color": "Attention" if counts["high"] else "Default",
        },
        {
            "type": "TextBlock",
            "text": f"{counts['lines']} lines: {counts['new']} new, {counts['open']} still open, "
            f"{counts['overdue']} overdue; {counts['findings']} findings. Highest severity first, then newest.",
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
    ]
    if page := batch.worklist_page():
        body.append({"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "Open the worklist in "
                                                       "casewatch", "url": page}]})  # fmt: skip
    if not worklist.lines:
        body.append({"type": "TextBlock", "text": "Nothing is open for this team this week.", "wrap": True})
    body += [_line_container(line) for line in lines]
    shown = Worklist(worklist.team, worklist.week, tuple(lines))
    for rule, (why, what) in rules_explained(shown).items():
        body += [
            {"type": "TextBlock", "text": f"**{title(rule)}**: {why}", "wrap": True, "separator": True},
            {"type": "TextBlock", "text": f"**What to do:** {what}", "wrap": True, "spacing": "Small"},
        ]
    return {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}


def _line_container(line: WorklistLine) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"{line.severity.upper()} · {line.subject} · {MARK_TEXT[line.mark]} · latest {line.latest}",
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    items += [{"type": "TextBlock", "text": f"- {finding_text(item)}", "wrap": True, "spacing": "Small"}
              for item in line.items]  # fmt: skip
    if line.link:
        items.append({"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "Open case record",
                                                         "url": line.link}]})  # fmt: skip
    return {"type": "Container", "separator": True, "items": items}


def _encode_card(content: dict[str, Any]) -> bytes:
    message = {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None,
                                                   "content": content}]}  # fmt: skip
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


class TeamsChannel:
    kind = "teams"

    def __init__(self, url: str, *, max_bytes: int, timeout: timedelta) -> None:
        self._url, self._max_bytes, self._timeout = url, max_bytes, timeout

    def send(self, batch: Batch) -> SendResult:
        if batch.worklist is not None:
            return self._send_worklist(batch, batch.worklist)
        body = teams_message(batch, max_bytes=self._max_bytes)
        return post_json(self._url, body, {"Idempotency-Key": batch.idempotency_key}, self._timeout)

    def _send_worklist(self, batch: Batch, worklist: Worklist) -> SendResult:
        """Every part in order, each with its own key; a failed part fails the notification, whose
        retry posts every part again (with the same keys, so a receiver can drop the copies)."""
        try:
            parts = worklist_messages(batch, worklist, max_bytes=self._max_bytes)
        except ValueError as error:
            return SendResult.failed(str(error), retryable=False)  # a retry would not make it fit
        for number, body in enumerate(parts, start=1):
            key = batch.idempotency_key if len(parts) == 1 else f"{batch.idempotency_key}-{number}"
            result = post_json(self._url, body, {"Idempotency-Key": key}, self._timeout)
            if not result.ok:
                return result
        return SendResult.sent()
