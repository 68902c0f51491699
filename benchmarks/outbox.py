"""Storing alerts: alerts/s through the worker's persist path, and a digest of the rows it leaves.

Builds N synthetic alerts across many teams and children, then stores them as the worker
does (`storage.upsert_alerts` with the delivery outbox's hook: lifecycle rows, routing,
notifications, links) in batches into a fresh database: SQLite, and PostgreSQL too when
CASEWATCH_TEST_POSTGRES_URL names a server (in a schema of its own, dropped afterwards).
Every few batches a stand-in dispatcher sends what is due, so later batches open new
notifications after a group's last flush (group_interval), and at the end the reminders
due are added (repeat_interval). Only the stores are timed.

The digest covers every row of the alert, lifecycle, notification and link tables but
the random idempotency keys, with notifications numbered in id order (PostgreSQL's
sequence may skip ids): two versions of the code that print the same digest left the
same rows. Run it in two checkouts, in the same window, for a before and after:

    python -m benchmarks.outbox --alerts 20000
"""

import argparse
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, select, text

from casewatch.delivery import outbox, routing
from casewatch.delivery.config import DEFAULT_ROUTING, RoutingConfig, parse_routing
from casewatch.delivery.tables import alert_lifecycle, notification_alerts, notifications
from casewatch.storage import alerts_table, connect, upsert_alerts
from schemas.alerts import Alert

POSTGRES_ENV = "CASEWATCH_TEST_POSTGRES_URL"
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
RULES = ("rereferral_after_agreement", "repeat_child_protection_plan", "review_overdue", "agreement_breach")
SEVERITIES = ("high", "medium", "low")
# The docs/delivery.md example's tree (console receivers): high alerts reach two routes.
EXAMPLE_ROUTING = {
    "route": {
        "receiver": "qa",
        "group_by": ["team", "rule"],
        "routes": [
            {"matchers": ["severity=high"], "receiver": "managers", "continue": True},
            {"matchers": ['team=~"CIN .*"'], "receiver": "cin"},
            {"matchers": ["rule=rereferral_after_agreement"], "receiver": "case-system", "group_by": ["child_id"]},
        ],
    },
    "receivers": [{"name": n, "console": {}} for n in ("qa", "managers", "cin", "case-system")],
}


def synthetic_alerts(n: int, *, teams: int, seed: int = 1) -> list[Alert]:
    """N alerts over `teams` teams and n/3 children; every tenth a new version of one two batches back."""
    alerts: list[Alert] = []
    for i in range(n):
        key = i - 1000 if i % 10 == 9 and i >= 1000 else i  # a changed alert: an earlier id, new facts
        digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()
        team = f"{'CIN' if key % 3 else 'CP'} Team {key % teams:03d}"
        alerts.append(
            Alert.model_validate(
                {
                    "alert_id": digest[:32],
                    "rule": RULES[key % len(RULES)],
                    "severity": SEVERITIES[key % len(SEVERITIES)],
                    "delivery": "worklist" if key % 7 == 0 else "immediate",
                    "child_id": f"C{key % max(1, n // 3):06d}",
                    "team": team,
                    "occurred_at": START - timedelta(days=key % 400),
                    "event_ids": [f"lcs:{key}"],
                    "facts": {"days_between": str(key % 365), "version": str(i)},
                    "explanation": "A synthetic finding for the storage benchmark.",
                    "action": "None: this is a benchmark.",
                    "link": None,
                }
            )
        )
    return alerts


def store(engine: Engine, alerts: list[Alert], config: RoutingConfig, *, batch: int, send_every: int) -> float:
    """Store the alerts in batches, one minute apart; seconds spent in the stores alone."""
    tree = routing.build_tree(config)
    hook = outbox.enqueuer(config)
    spent = 0.0
    for number, start in enumerate(range(0, len(alerts), batch)):
        now = START + timedelta(minutes=number)
        began = time.perf_counter()
        upsert_alerts(engine=engine, alerts=alerts[start : start + batch], on_stored=hook, now=now)
        spent += time.perf_counter() - began
        if (number + 1) % send_every == 0:
            send_due(engine, now + timedelta(minutes=10))
    outbox.enqueue_repeats(engine, tree, START + timedelta(days=2))
    return spent


def send_due(engine: Engine, now: datetime) -> None:
    """A dispatcher that sends every due notification at `now` at once."""
    for claimed in outbox.claim(engine, owner="bench", now=now, lease=timedelta(minutes=1), limit=1_000_000):
        outbox.finish(engine, claimed.id, owner="bench", status="sent", now=now)


def digest(engine: Engine) -> str:
    """SHA-256 of every stored row but the ids and idempotency keys.

    A notification is named by (receiver, group_key, kind, created_at), one per group and
    store, and the digest keeps the order ids gave the stored ones; not the reminders',
    which `enqueue_repeats` adds in the order the database lists them (SQLite's differs
    from PostgreSQL's)."""
    n = notifications.c
    columns = [c for c in notifications.c if c.name not in ("id", "idempotency_key")]
    with engine.connect() as connection:
        rows = connection.execute(select(n.id, *columns).order_by(n.id)).all()
        names = {r.id: [r.receiver, r.group_key, r.kind, r.created_at] for r in rows}
        tables: dict[str, list[Any]] = {
            "alerts": [list(r) for r in connection.execute(select(alerts_table).order_by(alerts_table.c.alert_id))],
            "lifecycle": [
                list(r) for r in connection.execute(select(alert_lifecycle).order_by(alert_lifecycle.c.alert_id))
            ],
            "notifications": sorted((list(r[1:]) for r in rows), key=_text),
            "stored_in_order": [names[r.id] for r in rows if r.kind != "repeat"],
            "links": sorted(
                (
                    [*names[r.notification_id], r.alert_id, r.muted_by]
                    for r in connection.execute(select(notification_alerts))
                ),
                key=_text,
            ),
        }
    counts = {name: len(rows) for name, rows in tables.items() if name != "stored_in_order"}
    return f"{hashlib.sha256(_text(tables).encode()).hexdigest()[:16]} {counts}"


def _text(value: Any) -> str:
    return json.dumps(value, default=_normal, sort_keys=True)


def _normal(value: Any) -> str:
    if isinstance(value, datetime):  # SQLite reads the alerts' times back naive, PostgreSQL aware
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)


def databases(work: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of a fresh SQLite file and, when configured, a fresh PostgreSQL schema."""
    tag = uuid.uuid4().hex[:8]
    found = [("sqlite", f"sqlite:///{os.path.join(work, f'outbox-{tag}.db')}")]
    base = os.environ.get(POSTGRES_ENV)
    schema = f"bench_{tag}"
    admin = create_engine(base) if base else None
    if base and admin is not None:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        found.append(("postgresql", url.render_as_string(hide_password=False)))
    try:
        yield from found
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20_000, help="synthetic alerts to store (default 20,000)")
    parser.add_argument("--teams", type=int, default=150, help="teams they are spread over (default 150)")
    parser.add_argument("--batch", type=int, default=500, help="alerts per store, as the worker's (default 500)")
    parser.add_argument("--send-every", type=int, default=4, help="batches between dispatcher runs (default 4)")
    parser.add_argument("--routing", choices=("example", "default"), default="example",
                        help="docs/delivery.md's route tree (default) or the built-in one-route default")  # fmt: skip
    parser.add_argument("--work", default=".casewatch/bench-outbox", help="folder for the SQLite file")
    args = parser.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    config = parse_routing(EXAMPLE_ROUTING) if args.routing == "example" else DEFAULT_ROUTING
    alerts = synthetic_alerts(args.alerts, teams=args.teams)
    for name, url in databases(args.work):
        engine = connect(url)
        try:
            seconds = store(engine, alerts, config, batch=args.batch, send_every=args.send_every)
            print(f"{name}: {len(alerts)} alerts in {seconds:.2f} s = {len(alerts) / seconds:,.0f} alerts/s; "
                  f"rows {digest(engine)}")  # fmt: skip
        finally:
            engine.dispose()
        if name == "sqlite":
            os.remove(url.removeprefix("sqlite:///"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
