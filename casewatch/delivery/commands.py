"""Handlers of the delivery commands (`casewatch dispatch`, `notifications`, `silence`, `alert`).

casewatch/cli.py registers them; each takes the parsed arguments and the settings and
returns the exit code. Heavy imports wait until a command runs, to keep `--help` quick.
"""

import argparse
import json
import logging
import os
import pwd
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from casewatch.errors import CommandError
from casewatch.output import print_json, print_table
from casewatch.settings import Settings, SettingsError


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from prometheus_client import REGISTRY

    from casewatch.delivery.channels import build_channels
    from casewatch.delivery.config import load_routing
    from casewatch.delivery.dispatcher import Dispatcher
    from casewatch.delivery.metrics import DeliveryMetrics
    from casewatch.ops_http import serve_ops
    from casewatch.settings import environment_value
    from casewatch.storage import connect

    logging.getLogger("casewatch").setLevel(args.loglevel.upper())
    config = load_routing(settings.config_path)
    channels = build_channels(config, environment_value)  # a missing secret fails now, not at 3 a.m.
    metrics = DeliveryMetrics.create(REGISTRY)
    metrics.start_at_zero((r.kind, r.name) for r in config.receivers)
    dispatcher = Dispatcher(engine=connect(settings.database_url), config=config, channels=channels, metrics=metrics)
    receivers = ", ".join(f"{r.name} ({r.kind})" for r in config.receivers)
    if args.once:
        handled = 0
        while count := dispatcher.run_once():
            handled += count
        print(f"handled {handled} notifications for {receivers}")
        return 0
    if args.metrics_port:
        serve_ops(args.metrics_port, args.metrics_host, REGISTRY, dispatcher.unready)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=_prune_daily, args=(dispatcher.engine, settings, stop), daemon=True,
                     name="casewatch-retention").start()  # fmt: skip
    print(f"dispatching to {receivers}; SIGTERM or Ctrl-C stops", file=sys.stderr, flush=True)
    dispatcher.run(stop)
    return 0


def worklist(args: argparse.Namespace, settings: Settings) -> int:
    from agents.worklist import MARK_TEXT, monday_of
    from casewatch.delivery.config import load_routing
    from casewatch.delivery.worklists import due_week, stored_worklists
    from casewatch.storage import connect

    config = load_routing(settings.config_path)
    week = args.week or due_week(_now(), config.worklist_settings())
    try:
        monday_of(week)
    except ValueError as error:
        raise SettingsError(f"--week: {error}") from None
    lists = stored_worklists(connect(settings.database_url, create=False), config, week)
    if args.team is not None:
        lists = {team: found for team, found in lists.items() if team == args.team}
    if args.format == "json":
        print_json([found.to_dict() for found in lists.values()])
        return 0
    if not lists:
        print(f"No worklists for week {week}.")
    for found in lists.values():
        counts = found.counts()
        print(f"{found.team}, week {week}: {counts['lines']} lines ({counts['new']} new, {counts['open']} still open, "
              f"{counts['overdue']} overdue)")  # fmt: skip
        for line in found.lines:
            rules = ", ".join(line.rules)
            print(f"  {line.severity:<6} {line.child_id or '(team)':<14} {MARK_TEXT[line.mark]:<10} "
                  f"{line.latest.isoformat()}  {rules}")  # fmt: skip
    return 0


def notifications(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.delivery.outbox import list_notifications
    from casewatch.storage import connect

    rows = list_notifications(
        connect(settings.database_url, create=False), status="failed" if args.failed else None, limit=args.limit
    )
    if args.format == "json":
        print_json([r.__dict__ for r in rows])
        return 0
    if not rows:
        print("No failed notifications." if args.failed else "No notifications.")
        return 0
    print(f"{'id':>6} {'status':<8} {'kind':<9} {'receiver':<16} {'alerts':>6} {'tries':>5} {'created':<20} error")
    for r in rows:
        print(
            f"{r.id:>6} {r.status:<8} {r.kind:<9} {r.receiver:<16} {r.alerts:>6} {r.attempts:>5} "
            f"{r.created_at.isoformat(timespec='seconds')[:19]:<20} {r.last_error or ''}"
        )
    if args.failed:
        print("\nResend one with: casewatch notifications resend ID")
    return 0


def resend(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.delivery.lifecycle import resend_notification
    from casewatch.storage import connect

    resend_notification(connect(settings.database_url), args.id, actor=args.by or _os_user(), now=_now())
    print(f"notification {args.id} is queued again; the dispatcher sends it on its next turn")
    return 0


def silence(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.config_file import load_limits
    from casewatch.delivery.config import parse_duration
    from casewatch.delivery.silences import add_silence, list_silences, remove_silence
    from casewatch.storage import connect

    engine, now = connect(settings.database_url, create=args.action != "list"), _now()
    if args.action == "add":
        ends_at = args.until if args.until else now + parse_duration(args.duration)
        row = add_silence(engine, args.matchers, ends_at=ends_at, actor=args.by or _os_user(), now=now,
                          comment=args.comment, max_days=load_limits(settings).max_silence_days)  # fmt: skip
        print(f"silence {row.id} mutes {' '.join(map(str, row.matchers))} until {row.ends_at.isoformat()}")
    elif args.action == "remove":
        row = remove_silence(engine, args.id, actor=args.by or _os_user(), now=now)
        print(f"silence {row.id} removed")
    else:
        rows = list_silences(engine, include_ended=args.all, now=now)
        if args.format == "json":
            print_json([{"id": r.id, "state": r.state(now), "matchers": [str(m) for m in r.matchers],
                         "ends_at": r.ends_at, "created_by": r.created_by} for r in rows])  # fmt: skip
            return 0
        print_table(("id", "state", "until", "by", "matchers"),
                    [(r.id, r.state(now), r.ends_at.isoformat(timespec="minutes"), r.created_by,
                      " ".join(map(str, r.matchers))) for r in rows], empty="No silences.")  # fmt: skip
    return 0


def alert(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.config_file import load_limits
    from casewatch.delivery.lifecycle import Action, audit_trail, change
    from casewatch.storage import alert_exists, connect

    engine = connect(settings.database_url, create=args.action != "history")
    if args.action == "history":
        entries = audit_trail(engine, subject="alert", subject_id=args.id)
        if not entries and not alert_exists(engine, args.id):
            raise CommandError(f"no alert {args.id} in {settings.database_url_masked}")
        if args.format == "json":
            print_json([{"at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail} for e in entries])
            return 0
        print_table(("at", "actor", "action", "detail"),
                    [(e.at, e.actor, e.action, json.dumps(e.detail, sort_keys=True)) for e in entries],
                    empty=f"alert {args.id}: nothing done to it yet")  # fmt: skip
        return 0
    actions: dict[str, Action] = {"ack": "acknowledge", "assign": "assign", "resolve": "resolve"}
    action = actions[args.action]
    state = change(engine, args.id, action, actor=args.by, now=_now(), assignee=getattr(args, "to", None),
                   outcome=getattr(args, "outcome", None), note=getattr(args, "note", None),
                   outcomes=load_limits(settings).outcomes)  # fmt: skip
    print(f"alert {state.alert_id}: {state.status}" + (f", assigned to {state.assignee}" if state.assignee else ""))
    return 0


RETENTION_INTERVAL_SECONDS = 24 * 3600


def _prune_daily(engine: Any, settings: Settings, stop: threading.Event) -> None:
    """The retention schedule: prune at start, then once a day, until the dispatcher stops."""
    from datetime import timedelta

    from casewatch.erasure import prune

    log = logging.getLogger("casewatch.retention")
    while not stop.is_set():
        try:
            done = prune(engine, older_than=timedelta(days=settings.retention_days), now=_now())
            log.info("retention %d days: deleted %d alerts, %d notifications, %d audit rows, %d timeline events",
                     settings.retention_days, done.alerts, done.notifications, done.audit_rows,
                     done.timeline_events)  # fmt: skip
        except Exception:  # the next day tries again; delivery is unaffected
            log.exception("retention pruning failed")
        stop.wait(RETENTION_INTERVAL_SECONDS)


def _now() -> datetime:
    return datetime.now(UTC)


def _os_user() -> str:
    """Who ran the command, from the account database (not the environment, which settings owns)."""
    return pwd.getpwuid(os.getuid()).pw_name
