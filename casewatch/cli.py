"""The `casewatch` command: demo, worker, ingest, dead-letters, replay, report, alerts, simulate, broker, topics."""

import argparse
import logging
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from casewatch import __version__, errors
from casewatch.config_cli import configure as configure_config
from casewatch.dead_letters_cli import configure as configure_dead_letters
from casewatch.delivery import commands as delivery
from casewatch.ingest import configure as configure_ingest
from casewatch.output import add_format, print_json, print_table
from casewatch.redaction import install_log_redaction, redact
from casewatch.replay_cli import configure as configure_replay
from casewatch.report.cli import configure as configure_report
from casewatch.roles import ROLES
from casewatch.settings import ENVIRONMENT_HELP, Settings, SettingsError
from casewatch.simulate_cli import configure as configure_simulate

EPILOG = ENVIRONMENT_HELP + "\n" + errors.EXIT_CODES_HELP
DESCRIPTION = """\
casewatch watches children's social care case events (referrals, assessments, written
agreements, closures) on Kafka and alerts managers when patterns from the peer review
appear, first of all a re-referral after a written agreement."""
# Metrics have no authentication, so they listen on this machine only unless told otherwise.
METRICS_HOST_HELP = (
    "address for the port serving /metrics, /healthz and /readyz (default 127.0.0.1; 0.0.0.0 exposes it to the network)"
)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # a usage error is argparse's message and exit code 2
    if not hasattr(args, "run"):
        parser.print_help()
        return errors.USAGE
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    settings: Settings | None = None
    try:
        settings = load_settings(args)
        return int(args.run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and cut short: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return errors.OK
    except Exception as error:  # the user gets one clear line; details are in --debug
        if getattr(args, "debug", False):
            raise
        said = errors.describe(
            error,
            kafka=settings.bootstrap_servers if settings else None,
            database=settings.database_url_masked if settings else None,
        )
        print(redact(f"casewatch: {said.message}"), file=sys.stderr)
        return said.code


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings, with `--env-file` read and `--config` beating CASEWATCH_CONFIG."""
    settings = Settings.from_env(env_file=getattr(args, "env_file", None))
    config = getattr(args, "config", None)
    return replace(settings, config_path=config) if config is not None else settings


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """--config, --env-file and --debug on this parser and every sub-command's, before or after its name.

    SUPPRESS as the default: a sub-command's parser would otherwise reset what was given before it.
    """
    parser.add_argument("--config", type=Path, metavar="PATH", default=argparse.SUPPRESS,
                        help="the YAML configuration file (beats CASEWATCH_CONFIG)")  # fmt: skip
    parser.add_argument("--env-file", type=Path, metavar="PATH", default=argparse.SUPPRESS,
                        help="read variables from this file, not ./.env (the environment still wins)")  # fmt: skip
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
    for action in parser._actions:  # argparse has no public walk over its sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _add_common_options(sub)


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="casewatch", description=DESCRIPTION, epilog=EPILOG, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"casewatch {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary, epilog=EPILOG, formatter_class=formatter)

    demo = command("demo", "Run the whole pipeline on this machine and print the alerts it raises.")
    demo.add_argument("--children", type=_positive, default=300, help="children to simulate (default 300)")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    demo.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the alerts (default 240)")
    demo.add_argument("--serve", action="store_true", help="keep the managers' page up after the demo, until Ctrl-C")
    demo.set_defaults(run=_demo)

    worker = command("worker", "Run the production worker (Faust agents) until SIGTERM.")
    worker.add_argument("--loglevel", choices=("crit", "error", "warn", "info", "debug"), default="warn")
    worker.add_argument(
        "--role", choices=ROLES, default="all",
        help="all (default): the agents and the store consumers in one process; correlate: only the agents "
        "(no database); store: only the consumers that write alerts and timelines into the database. Run one "
        "store beside the correlate workers to give the storing a core of its own (docs/deployment.md)",
    )  # fmt: skip
    worker.add_argument("--metrics-host", default="127.0.0.1", help=METRICS_HOST_HELP)
    worker.set_defaults(run=_worker)

    configure_ingest(command("ingest", "Validate source files (CIN census, Annex A, agreements CSV, JSON lines) "
                                       "and publish their events to the topics."))  # fmt: skip
    configure_dead_letters(command("dead-letters", "List the dead-letter topic's records (`list`), explain one "
                                   "(`show`), and publish fixed ones again (`redrive`)."))  # fmt: skip
    configure_replay(
        command("replay", "Run the rules offline over source files; print alerts and re-referral figures.")
    )

    configure_report(
        command("report", "Write the QA report (one self-contained HTML page, or JSON) from source files: "
                          "re-referrals against England's 22.6% and CASEWATCH_CONFIG's report.comparators, written "
                          "agreements, practice measures, alert load; and audit samples (docs/report.md).")
    )  # fmt: skip

    alerts = command("alerts", "List the alerts stored in the database.")
    alerts.add_argument("--rule", help="only this rule")
    alerts.add_argument("--child", help="only this child ID")
    alerts.add_argument("--team", help="only this team")
    alerts.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    add_format(alerts)
    alerts.set_defaults(run=_alerts)

    simulate = command("simulate", "Write a seeded synthetic stream of case events (JSON lines, CIN census, CSV).")
    simulate.add_argument("--children", type=_positive, default=200, help="children (default 200)")
    simulate.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    simulate.add_argument("--start", type=date.fromisoformat, default=date(2023, 4, 1), help="first day (ISO)")
    simulate.add_argument("--months", type=_positive, default=24, help="period in months (default 24)")
    simulate.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    configure_simulate(simulate)

    broker = command("broker", "Fetch or run the local Apache Kafka broker used by the demo and tests.")
    broker.add_argument("action", choices=("fetch", "run"), help="fetch the jars, or run a broker until Ctrl-C")
    broker.add_argument("--port", type=int, default=9092, help="port for `run` (default 9092)")
    broker.set_defaults(run=_broker)

    topics = command(
        "topics",
        "Create casewatch's topics (idempotent), bring existing topics' retention.ms and "
        "cleanup.policy in line with their declaration, and list them with what changed.",
    )
    topics.add_argument("--timeout", type=float, default=15.0,
                        help="seconds to keep trying to reach Kafka (default 15)")  # fmt: skip
    add_format(topics)
    topics.set_defaults(run=_topics)

    erase = command(
        "erase",
        "Erase a child: workers' state, changelog (tombstone), alerts and notifications; "
        "the audit log keeps only a keyed hash of the ID (docs/security.md).",
    )
    erase.add_argument("child_id", metavar="CHILD_ID", help="the case system's child ID")
    erase.add_argument("--by", help="who erases, for the audit log (default: your login)")
    add_format(erase)
    erase.set_defaults(run=_erase)
    retention = command(
        "retention",
        "Delete alerts, finished notifications, audit rows and timeline events older than "
        "CASEWATCH_RETENTION_DAYS (default 400); the dispatcher does it daily too.",
    )
    retention.add_argument("--days", type=_positive, help="keep this many days instead")
    add_format(retention)
    retention.set_defaults(run=_retention)

    serve = command(
        "serve", "Serve the HTTP API (POST /v1/events, GET /openapi.json) and the managers' page (/ui) until SIGTERM."
    )
    serve.set_defaults(run=_serve)
    password = command(
        "password",
        "Print a line for the page's password file (access.password_file): NAME and a scrypt hash of the "
        "password read from standard input (asked for twice on a terminal).",
    )
    password.add_argument("name", metavar="NAME", help="the user name, as access.users names it")
    password.set_defaults(run=_password)
    # Delivery (casewatch/delivery/commands.py has the handlers; docs/delivery.md the guide).
    dispatch = command(
        "dispatch",
        "Send the outbox's notifications (Teams, email, webhooks, console) and each team's weekly worklist "
        "when due, until SIGTERM.",
    )
    dispatch.add_argument("--once", action="store_true", help="send what is due now, then exit")
    dispatch.add_argument(
        "--metrics-port",
        type=int,
        default=9109,
        help="port for /metrics, /healthz and /readyz, 0 to disable (default 9109)",
    )
    dispatch.add_argument("--metrics-host", default="127.0.0.1", help=METRICS_HOST_HELP)
    dispatch.add_argument("--loglevel", choices=("error", "warning", "info", "debug"), default="warning")
    dispatch.set_defaults(run=delivery.dispatch)
    worklist = command("worklist", "Show each team's weekly worklist, built from the stored alerts as the dispatcher "
                       "builds it (docs/delivery.md).")  # fmt: skip
    worklist.add_argument("--week", metavar="YYYY-Www",
                          help="ISO week, Europe/London, e.g. 2024-W07 (default: the newest list due now)")  # fmt: skip
    worklist.add_argument("--team", help="only this team's list")
    add_format(worklist)
    worklist.set_defaults(run=delivery.worklist)
    notifications = command("notifications", "List notifications, newest first; `resend ID` retries a failed one.")
    notifications.add_argument("--failed", action="store_true", help="only those parked as failed")
    notifications.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    add_format(notifications)
    notifications.set_defaults(run=delivery.notifications)
    resend = notifications.add_subparsers(title="actions", metavar="ACTION").add_parser("resend", help="resend one")
    resend.add_argument("id", type=_positive, metavar="ID")
    resend.add_argument("--by", help="who resends it, for the audit log (default: your login)")
    resend.set_defaults(run=delivery.resend)
    silence = command("silence", "Mute alerts matching labels until an expiry: add, list, remove.")
    silence_actions = silence.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    silence_add = silence_actions.add_parser("add", help='e.g. silence add team="CIN East" rule=x --for 2h')
    silence_add.add_argument("matchers", nargs="+", metavar="MATCHER", help="label=value, label!=value, label=~regex")
    silence_add.add_argument("--for", dest="duration", default="2h", help="how long: 30m, 2h, 1d (default 2h)")
    silence_add.add_argument("--until", type=_aware_time, help="or until this ISO time")
    silence_add.add_argument("--comment", help="why (no case details)")
    silence_list = silence_actions.add_parser("list", help="active and future silences")
    silence_list.add_argument("--all", action="store_true", help="expired and removed ones too")
    add_format(silence_list)
    silence_remove = silence_actions.add_parser("remove", help="end a silence now")
    silence_remove.add_argument("id", type=_positive, metavar="ID")
    for sub in (silence_add, silence_remove):
        sub.add_argument("--by", help="who, for the audit log (default: your login)")
    silence.set_defaults(run=delivery.silence)
    alert = command("alert", "Acknowledge, assign or resolve an alert; show its history.")
    alert_actions = alert.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    for name, summary in (("ack", "acknowledge: someone is on it"), ("assign", "assign to someone"),
                          ("resolve", "resolve: dealt with"), ("history", "who did what, when")):  # fmt: skip
        sub = alert_actions.add_parser(name, help=summary)
        sub.add_argument("id", metavar="ID", help="the alert_id")
        if name != "history":
            sub.add_argument("--by", required=True, help="who (user name or address), for the audit log")
        if name == "assign":
            sub.add_argument("--to", required=True, help="the assignee (user name or address)")
        if name == "resolve":
            sub.add_argument(
                "--outcome", required=True, help='one of the configured outcomes (access.outcomes), e.g. "data error"'
            )
            sub.add_argument("--note", help="a short note (200 characters); stays in the database, never sent")
        if name == "history":
            add_format(sub)
    alert.set_defaults(run=delivery.alert)
    configure_config(command("config", "Show the effective settings and where each came from (`show`), check the "
                             "configuration file (`check`), print the example file (`example`)."))  # fmt: skip
    migrate = command("migrate", "Create the database, or bring its schema to this version's (the worker and "
                      "dispatcher do it too when they start).")  # fmt: skip
    migrate.set_defaults(run=_migrate)
    _add_common_options(parser)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _aware_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.demo import DemoOptions, run_demo

    return run_demo(
        settings, DemoOptions(children=args.children, seed=args.seed, timeout=args.timeout, serve=args.serve)
    )


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.worker import run_worker

    run_worker(settings, loglevel=args.loglevel, metrics_host=args.metrics_host, role=args.role)
    return 0


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.storage import connect, list_alerts

    engine = connect(settings.database_url, create=False)
    found = list_alerts(engine=engine, rule=args.rule, child_id=args.child, team=args.team, limit=args.limit)
    if args.format == "json":
        print_json([a.model_dump(mode="json") for a in found])
        return 0
    rows = [(a.occurred_at.date(), a.severity, a.rule, a.child_id or "(whole team)", a.team, a.alert_id) for a in found]
    print_table(("occurred", "severity", "rule", "child", "team", "alert_id"), rows,
                empty=f"No alerts stored in {settings.database_url_masked}.")  # fmt: skip
    return 0


def _broker(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.local_kafka import KAFKA_VERSION, LocalKafka, fetch

    if args.action == "fetch":
        print(f"Apache Kafka {KAFKA_VERSION} jars in {fetch()}")
        return 0

    # A handler, set before the broker starts, turns SIGTERM into the same unwinding as Ctrl-C,
    # so the Java process is stopped whenever the signal comes (a bare sigwait without
    # blocking the signals first let SIGTERM end Python and leave Java running).
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    broker = LocalKafka(port=args.port)
    try:
        broker.start()
        print(f"Apache Kafka {broker.version} at {broker.bootstrap_servers}; Ctrl-C stops it.", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        broker.stop()
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.admin import TopicSetupError, ensure_topics
    from streams.topic_settings import align_topic_configs

    bootstrap = _require_bootstrap(settings)
    security = settings.kafka_security
    try:
        created = ensure_topics(bootstrap, settings.topics, replication_factor=settings.replication_factor,
                                security=security, timeout=args.timeout)  # fmt: skip
        changes = align_topic_configs(bootstrap, settings.topics, security=security, timeout=args.timeout)
    except TopicSetupError as error:
        raise errors.CommandError(str(error)) from None
    aligned = {change.topic for change in changes}
    marks = {s.name: "created" if s.name in created else "aligned" if s.name in aligned else "exists"
             for s in settings.topics.specs()}  # fmt: skip
    if args.format == "json":
        print_json({
            "topics": [{"name": s.name, "partitions": s.partitions, "state": marks[s.name], "purpose": s.purpose}
                       for s in settings.topics.specs()],
            "changes": [{"topic": c.topic, "key": c.key, "was": c.was, "now": c.now} for c in changes],
        })  # fmt: skip
        return 0
    for spec in settings.topics.specs():
        print(f"{spec.name:<32} {spec.partitions:>3} partitions  {marks[spec.name]:<8} {spec.purpose}")
    for change in changes:
        print(f"changed {change.topic} {change.key}: {change.was} -> {change.now}")
    if not changes:
        print("Every existing topic's retention and clean-up settings match streams/topics.py.")
    return 0


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.delivery.commands import _os_user
    from casewatch.erasure import erase_child
    from casewatch.storage import connect

    done = erase_child(settings, args.child_id, actor=args.by or _os_user(), now=datetime.now(UTC),
                       engine=connect(settings.database_url))  # fmt: skip
    if args.format == "json":
        print_json({"alerts": done.alerts, "notifications": done.notifications, "audit_rows": done.audit_rows,
                    "timeline_events": done.timeline_events, "tombstones": done.tombstones,
                    "audit_subject": done.subject})  # fmt: skip
        return 0
    print(f"erased: {done.alerts} alerts, {done.notifications} notifications, {done.audit_rows} audit rows, "
          f"{done.timeline_events} timeline events; "
          f"{done.tombstones} changelog tombstones and an erase message to the workers; "
          f"audit entry child {done.subject[:16]}...")  # fmt: skip
    print("Events already on the input topics stay until their retention ends (docs/security.md).")
    return 0


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from casewatch.erasure import prune
    from casewatch.storage import connect

    days = args.days or settings.retention_days
    done = prune(connect(settings.database_url), older_than=timedelta(days=days), now=datetime.now(UTC))
    if args.format == "json":
        print_json({"older_than_days": days, "alerts": done.alerts, "notifications": done.notifications,
                    "audit_rows": done.audit_rows, "timeline_events": done.timeline_events})  # fmt: skip
        return 0
    print(f"older than {days} days: deleted {done.alerts} alerts, {done.notifications} notifications, "
          f"{done.audit_rows} audit rows, {done.timeline_events} timeline events")  # fmt: skip
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.migrations import head
    from casewatch.storage import connect

    connect(settings.database_url).dispose()
    print(f"database {settings.database_url_masked} is at schema revision {head()}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.http.app import serve

    return serve(settings)


def _password(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from casewatch.access import ACTOR
    from casewatch.passwords import hash_password

    if not ACTOR.match(args.name):
        print("casewatch: NAME must be a user name or address (letters, digits, . _ @ + -)", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("casewatch: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("casewatch: a password must be at least 12 characters", file=sys.stderr)
        return 1
    print(f"{args.name}:{hash_password(password)}")
    return 0


def _require_bootstrap(settings: Settings) -> str:
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set (try `casewatch broker run` for a local one)")
    return settings.bootstrap_servers
