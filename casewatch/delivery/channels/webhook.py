"""The webhook channel: a versioned JSON body, signed, with an idempotency key.

Headers (documented in docs/delivery.md for receivers):
- `Idempotency-Key`: the same for every attempt of one notification; a receiver that
  has seen it can drop the repeat (at-least-once delivery resends after a crash).
- `X-Casewatch-Timestamp`: Unix seconds when this attempt was signed.
- `X-Casewatch-Signature`: `sha256=` and the hex HMAC-SHA256, keyed by the shared
  secret, of the timestamp, a full stop, and the body bytes. Signing the timestamp
  lets a receiver refuse an old request replayed.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from casewatch.delivery.channels.base import Batch, SendResult
from casewatch.delivery.channels.http import post_json

WEBHOOK_VERSION = 1


def webhook_body(batch: Batch, now: datetime) -> bytes:
    document: dict[str, Any] = {
        "version": WEBHOOK_VERSION,
        "idempotency_key": batch.idempotency_key,
        "notification_id": batch.notification_id,
        "kind": batch.kind,
        "receiver": batch.receiver,
        "group": batch.group,
        "title": batch.headline(),
        "alerts": [alert.as_dict() for alert in batch.alerts],
        "sent_at": now.isoformat(),
    }
    if batch.worklist is not None:  # kind "worklist": the team's weekly list, one entry per child
        document["worklist"] = batch.worklist.to_dict()
    if batch.page_url:  # the managers' page: the worklist's, or each alert's
        document["page"] = batch.worklist_page() or {a.alert_id: batch.alert_page(a.alert_id) for a in batch.alerts}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    kind = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: bytes | None,
        timeout: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._url, self._secret, self._timeout, self._clock = url, secret, timeout, clock

    def send(self, batch: Batch) -> SendResult:
        now = self._clock()
        body = webhook_body(batch, now)
        timestamp = str(int(now.timestamp()))
        headers = {"Idempotency-Key": batch.idempotency_key, "X-Casewatch-Timestamp": timestamp}
        if self._secret is not None:
            headers["X-Casewatch-Signature"] = signature(self._secret, timestamp, body)
        return post_json(self._url, body, headers, self._timeout)
