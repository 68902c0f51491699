"""The dispatcher: the I/O loop that empties the outbox.

Each turn it runs the timers (escalations, reminders), claims due notifications, holds
back what a silence, an inhibition or a person's action says not to send, hands the rest
to the receiver's channel, and records the outcome: sent; retried later with exponential
backoff and jitter, or after the receiver's Retry-After; parked as failed after the last
attempt or a permanent error. Several dispatchers may run at once (see outbox.claim).
"""

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine

from casewatch.delivery import lifecycle, outbox, routing, worklists
from casewatch.delivery.allowlist import expose, expose_labels
from casewatch.delivery.channels.base import Batch, Channel, SendResult
from casewatch.delivery.config import Delivery, RoutingConfig
from casewatch.delivery.metrics import DeliveryMetrics
from casewatch.delivery.silences import active_silences
from casewatch.storage import reading

log = logging.getLogger("casewatch.dispatcher")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff(attempt: int, policy: Delivery, rng: random.Random) -> timedelta:
    """Delay after failed attempt `attempt` (1-based): doubling from backoff_initial up to
    backoff_max, half of it fixed and half random ("equal jitter"), so dispatchers that
    failed together do not all come back together."""
    ceiling = min(policy.backoff_max, policy.backoff_initial * (1 << min(attempt - 1, 30)))
    return ceiling / 2 + ceiling / 2 * rng.random()


def next_attempt(
    result: SendResult, attempts: int, policy: Delivery, now: datetime, rng: random.Random
) -> datetime | None:
    """When to try again, or None to park the notification as failed."""
    if not result.retryable or attempts >= policy.max_attempts:
        return None
    delay = backoff(attempts, policy, rng)
    if result.retry_after is not None:  # the receiver said when: never sooner than that
        delay = max(delay, min(result.retry_after, policy.retry_after_max))
    return now + delay


class Dispatcher:
    def __init__(
        self,
        *,
        engine: Engine,
        config: RoutingConfig,
        channels: Mapping[str, Channel],
        metrics: DeliveryMetrics,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.engine, self.config, self.channels, self.metrics = engine, config, channels, metrics
        self.tree = routing.build_tree(config)
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._rng = rng or random.Random()
        self._timers_ran: datetime | None = None
        self._listed_week: str | None = None
        self._unready: str | None = "no turn yet"

    def run(self, stop: threading.Event) -> None:
        """Turn until `stop` is set; sleep `poll_interval` whenever nothing was due."""
        log.info("dispatcher %s started", self.owner)
        while not stop.is_set():
            try:
                handled = self.run_once()
                self._turned(None)
            except Exception as error:  # a database hiccup must not end delivery: log it, wait, go on
                log.exception("dispatcher turn failed; trying again")
                self._turned(f"its last turn failed ({type(error).__name__})")
                handled = 0
            if not handled:
                stop.wait(self.config.delivery.poll_interval.total_seconds())
        log.info("dispatcher %s stopped", self.owner)

    def unready(self) -> str | None:
        """Why the dispatcher is not ready, or None (its last turn worked): /readyz and
        `casewatch_dispatcher_ready` both say this."""
        return self._unready

    def _turned(self, failure: str | None) -> None:
        self._unready = failure
        self.metrics.ready.set(0 if failure else 1)
        if failure:
            self.metrics.turn_failures.inc()

    def run_once(self) -> int:
        """One turn: timers when due, then every notification due now; returns how many were handled."""
        now = self._clock()
        policy = self.config.delivery
        if self._timers_ran is None or now - self._timers_ran >= policy.timer_interval:
            self.run_timers(now)
        claimed = outbox.claim(self.engine, owner=self.owner, now=now, lease=policy.lease, limit=policy.batch_size)
        for notification in claimed:
            self.deliver(notification)
        self.observe()
        return len(claimed)

    def run_timers(self, now: datetime) -> None:
        escalated = lifecycle.escalate_due(self.engine, self.tree, now, notify_classes=self.config.notify_classes)
        reminded = outbox.enqueue_repeats(self.engine, self.tree, now)
        listed = 0
        if self.config.worklist is not None and worklists.due_week(now, self.config.worklist) != self._listed_week:
            listed = worklists.enqueue_worklists(self.engine, self.config, self.tree, now)
            self._listed_week = worklists.due_week(now, self.config.worklist)  # looked at: not again this week
        if escalated or reminded or listed:
            log.info("escalated %d alerts, reminded %d groups, queued %d worklists", escalated, reminded, listed)
        self._timers_ran = now

    def deliver(self, claimed: outbox.Claimed) -> str:
        """Send one claimed notification and record what happened; returns its new status."""
        now = self._clock()
        receiver = self.config.receivers_by_name().get(claimed.receiver)
        channel = self.channels.get(claimed.receiver)
        labels = {"channel": receiver.kind if receiver else "unknown", "receiver": claimed.receiver}
        if receiver is None or channel is None:
            return self._park(claimed, f"receiver {claimed.receiver} is not in the routing configuration", labels, now)
        with reading(self.engine) as connection:
            alerts = outbox.batch_alerts(connection, claimed.id)
            muted = self._held_back(connection, claimed, alerts, now)
        kept = [a for a in alerts if a.alert_id not in muted]
        worklist = None
        if claimed.kind == "worklist":  # sent even when nothing is left open: a quiet week is news too
            worklist = worklists.rebuild(self.config, claimed.group_labels, (a.payload for a in kept),
                                         self.config.exposed_facts)  # fmt: skip
        elif not kept:
            outbox.finish(self.engine, claimed.id, owner=self.owner, status="muted", now=now, muted=muted)
            self.metrics.muted.labels(**labels).inc()
            log.info("notification %d to %s muted (%d alerts)", claimed.id, claimed.receiver, len(alerts))
            return "muted"
        exposed = self.config.exposed_facts
        batch = Batch(
            notification_id=claimed.id,
            idempotency_key=claimed.idempotency_key,
            kind=claimed.kind,
            receiver=claimed.receiver,
            group=expose_labels(claimed.group_labels, exposed),
            alerts=() if worklist else tuple(expose(a.payload, exposed) for a in kept),
            attempt=claimed.attempts,
            worklist=worklist,
            page_url=self.config.page_url,
        )
        try:
            result = channel.send(batch)
        except Exception as bug:  # a channel bug must not lose the notification: retry it
            log.exception("channel %s failed on notification %d", receiver.kind, claimed.id)
            result = SendResult.failed(f"{type(bug).__name__} in the {receiver.kind} channel", retryable=True)
        if result.ok:
            outbox.finish(self.engine, claimed.id, owner=self.owner, status="sent", now=self._clock(), muted=muted)
            self.metrics.sent.labels(**labels).inc()
            log.info("notification %d sent to %s (%d alerts)", claimed.id, claimed.receiver, len(kept))
            return "sent"
        error = result.error or "failed"
        retry_at = next_attempt(result, claimed.attempts, self.config.delivery, self._clock(), self._rng)
        if retry_at is None:
            return self._park(claimed, error, labels, now)
        outbox.retry_later(self.engine, claimed.id, owner=self.owner, due_at=retry_at, error=error)
        self.metrics.retried.labels(**labels).inc()
        log.warning("notification %d to %s: %s; attempt %d, next at %s", claimed.id, claimed.receiver, error,
                    claimed.attempts, retry_at.isoformat(timespec="seconds"))  # fmt: skip
        return "pending"

    def _park(self, claimed: outbox.Claimed, error: str, labels: dict[str, str], now: datetime) -> str:
        outbox.finish(self.engine, claimed.id, owner=self.owner, status="failed", now=now, error=error)
        self.metrics.failed.labels(**labels).inc()
        log.error("notification %d to %s failed after %d attempts: %s", claimed.id, claimed.receiver,
                  claimed.attempts, error)  # fmt: skip
        return "failed"

    def _held_back(
        self, connection: Connection, claimed: outbox.Claimed, alerts: list[outbox.BatchAlert], now: datetime
    ) -> dict[str, str]:
        """alert_id -> why it is not sent: closed by a person, silenced, or inhibited."""
        silences = active_silences(connection, now)
        sources: list[routing.LabelledAlert] = []
        if self.config.inhibit_rules:
            children = {a.payload["child_id"] for a in alerts if a.payload.get("child_id")}  # not team-level ones
            sources = outbox.open_alerts_of_children(connection, children)
        muted = {}
        for alert in alerts:
            # Acknowledged: someone is on it, so no reminder or escalation; it stays on the worklist.
            reminding = claimed.kind in ("repeat", "escalate")
            if alert.status == "resolved" or (alert.status == "acknowledged" and reminding):
                muted[alert.alert_id] = alert.status
                continue
            reason = routing.mute_reason(
                alert.labelled, silences=silences, sources=sources, inhibit_rules=self.config.inhibit_rules, now=now
            )
            if reason is not None:
                muted[alert.alert_id] = reason
        return muted

    def observe(self) -> None:
        current = outbox.stats(self.engine, self._clock())
        self.metrics.outbox_depth.set(current.depth)
        self.metrics.oldest_undelivered_age.set(current.oldest_age.total_seconds())
