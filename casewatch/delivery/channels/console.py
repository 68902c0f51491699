"""The console channel: one line per alert on standard output, for the demo and for trying routes."""

import sys
from typing import TextIO

from agents.worklist import MARK_TEXT
from casewatch.delivery.channels.base import Batch, SendResult, fact_text, finding_text


class ConsoleChannel:
    kind = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, batch: Batch) -> SendResult:
        out = self._stream or sys.stdout
        print(f"[casewatch] to {batch.receiver} (notification {batch.notification_id}): {batch.headline()}", file=out)
        if page := batch.worklist_page():
            print(f"  on the page: {page}", file=out)
        for line in batch.worklist.lines if batch.worklist else ():
            findings = "; ".join(finding_text(item) for item in line.items)
            link = f" {line.link}" if line.link else ""
            print(f"  {line.severity:<6} {line.subject} [{MARK_TEXT[line.mark]}]: {findings}{link}", file=out)
        for alert in batch.alerts:
            facts = " ".join(f"{k}={fact_text(v)}" for k, v in alert.facts)
            link = f" {alert.link}" if alert.link else ""
            if page := batch.alert_page(alert.alert_id):
                link += f" page: {page}"
            print(
                f"  {alert.severity:<6} {alert.rule} {alert.subject} team {alert.team} "
                f"on {alert.occurred_at[:10]}: {facts}{link}",
                file=out,
            )
        out.flush()
        return SendResult.sent()
