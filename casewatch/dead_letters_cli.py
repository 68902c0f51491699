"""`casewatch dead-letters list|show|redrive`: what was refused, why, and sending it again once fixed.

The data team's workflow (docs/ingest.md): `list` what is on the dead-letter topic (by
reason, source topic and time), `show` one record with its source position and whether the
original is still on its input topic, then `redrive` once the cause is fixed: from the
original position (the bytes checked against the record's SHA-256 and validated as ingest
validates them), or from a corrected file through `casewatch ingest`'s own path. Event ids
are kept, so a redrive repeated changes nothing (the engine is idempotent).
"""

import argparse
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casewatch.config_file import load_input_policy
from casewatch.ingest import add_source_options, missing_file, publish_files
from casewatch.settings import Settings, SettingsError
from schemas.events import CaseEvent
from streams.admission import InputPolicy
from streams.dead_letters import (
    DeadLetter,
    DeadLetterError,
    Selection,
    Skipped,
    letter_id,
    parse_id,
    redrive_event,
)

if TYPE_CHECKING:
    from streams.dead_letters import TopicReader

TIMEOUT_HELP = "seconds at most to read a topic (default 30)"
REASON_CUT = 70  # characters of the reason in the table; `show` and --format json give it whole


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    listing = actions.add_parser("list", help="the dead-letter records, oldest first",
                                 description="List the dead-letter records, oldest first.")  # fmt: skip
    _add_selection(listing)
    listing.add_argument("--limit", type=int, help="only the newest this many")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="default: table")
    listing.set_defaults(run=_guarded(run_list))

    show = actions.add_parser(
        "show",
        help="one record: reason, source position, digest, and the original's fate",
        description="One dead-letter record, and whether its original can be redriven.",
    )
    show.add_argument("id", metavar="ID", help="TOPIC:PARTITION:OFFSET of the dead-letter record, as `list` shows")
    show.add_argument("--original", action="store_true",
                      help="also print the original message as its input topic still holds it (it may hold what "
                           "was sent by mistake: names, notes; it is never on the dead-letter topic)")  # fmt: skip
    show.add_argument("--format", choices=("table", "json"), default="table", help="default: table")
    show.add_argument("--timeout", type=float, default=30.0, help=TIMEOUT_HELP)
    show.set_defaults(run=_guarded(run_show))

    redrive = actions.add_parser(
        "redrive",
        help="publish the refused events again, once fixed, through ingest's validation",
        description="Publish dead-lettered events again: each original read back from its input topic "
        "(checked against the record's SHA-256) and validated as `casewatch ingest` validates, or a "
        "corrected file through ingest itself. Event ids are kept: redriving twice changes nothing.",
    )
    redrive.add_argument("ids", nargs="*", metavar="ID", help="dead-letter records (TOPIC:PARTITION:OFFSET)")
    _add_selection(redrive)
    redrive.add_argument("--all", action="store_true", help="every dead-letter record the filters leave")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be redriven, publish nothing")
    redrive.add_argument("--file", dest="files", action="append", type=Path, metavar="FILE",
                         help="a corrected source file (repeatable), published as `casewatch ingest FILE` "
                              "would; for records refused from a file, or no longer on their topic")  # fmt: skip
    add_source_options(redrive)
    redrive.set_defaults(run=_guarded(run_redrive))


def _guarded(run: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace, Settings], int]:
    """The action, with Kafka's and our own errors as one line and exit status 1."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace, settings: Settings) -> int:
        from kafka.errors import KafkaError

        try:
            return run(args, settings)
        except DeadLetterError as error:
            return _fail(str(error))
        except KafkaError as error:
            return _fail(f"Kafka at {settings.bootstrap_servers}: {_said(error)}")

    return guarded


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", action="append", metavar="CODE",
                        help="only this reason code (repeatable): schema, key_mismatch...")  # fmt: skip
    parser.add_argument("--topic", help="only messages refused from this input topic (or this file)")
    parser.add_argument("--since", type=_moment, metavar="TIME",
                        help="only those dead-lettered at or after this ISO date or time (UTC if no zone)")  # fmt: skip
    parser.add_argument("--until", type=_moment, metavar="TIME", help="only those dead-lettered before this")
    parser.add_argument("--timeout", type=float, default=30.0, help=TIMEOUT_HELP)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    selection = _selection(args)
    with _reader(args, settings) as reader:
        letters = [letter for letter in _every(reader, settings) if selection.matches(letter)]
    if args.limit is not None:
        letters = letters[-args.limit :] if args.limit > 0 else []
    if args.format == "json":
        print(json.dumps([letter.as_json() for letter in letters], indent=2))
        return 0
    if not letters:
        print(f"No dead-letter records match on {settings.topics.dead_letter}.")
        return 0
    width = max(len(letter.id) for letter in letters)
    print(f"{'id':<{width}}  {'dead-lettered (UTC)':<19}  {'code':<18} {'source':<34} {'bytes':>7}  reason")
    for letter in letters:
        size = "" if letter.original_size is None else str(letter.original_size)
        print(f"{letter.id:<{width}}  {_when(letter):<19}  {letter.code:<18} {letter.source:<34} {size:>7}  "
              f"{_cut(letter.reason)}")  # fmt: skip
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    position = _position(args.id, settings)
    if position is None:
        return 2
    with _reader(args, settings) as reader:
        letter = _letter_at(reader, settings, *position)
        if letter is None:
            return _fail(f"no dead-letter record at {args.id}")
        original, retained = _original(reader, letter, settings)
    fate = redrive_event(letter, original, settings.topics, retained=retained, policy=load_input_policy(settings))
    why_not = fate.reason if isinstance(fate, Skipped) else None
    if args.format == "json":
        document: dict[str, Any] = letter.as_json() | {"retained": retained, "redrivable": why_not is None}
        if why_not is not None:
            document["why_not"] = why_not
        if args.original:
            document["original"] = original.decode("utf-8", "replace") if original is not None else None
        print(json.dumps(document, indent=2))
        return 0
    rows = [("id", letter.id), ("code", letter.code), ("reason", letter.reason), ("source", letter.source),
            ("dead-lettered", letter.dead_lettered_at.isoformat() if letter.dead_lettered_at else "(unknown)"),
            ("sha256", letter.original_sha256 or "(none)"),
            ("size", "(unknown)" if letter.original_size is None else f"{letter.original_size} bytes"),
            ("original", _fate(letter, retained, settings)),
            ("redrivable", "yes" if why_not is None else f"no: {why_not}")]  # fmt: skip
    for name, value in rows:
        print(f"{name + ':':<15}{value}")
    if args.original and original is not None:
        print(original.decode("utf-8", "replace"))
    return 0


def run_redrive(args: argparse.Namespace, settings: Settings) -> int:
    if args.files:
        return _redrive_files(args, settings)
    selection = _selection(args)
    if not (args.ids or selection != Selection() or args.all):
        return _fail("name the records to redrive: IDs, --reason/--topic/--since/--until, or --all", code=2)
    positions = [_position(text, settings) for text in args.ids]
    if None in positions:
        return 2
    policy = load_input_policy(settings)
    with _reader(args, settings) as reader:
        if args.ids:
            found = {text: _letter_at(reader, settings, *p) for text, p in zip(args.ids, positions, strict=True) if p}
            missing = [text for text, letter in found.items() if letter is None]
            if missing:
                return _fail(f"no dead-letter record at {', '.join(missing)}")
            letters = [letter for letter in found.values() if letter is not None and selection.matches(letter)]
        else:
            letters = [letter for letter in _every(reader, settings) if selection.matches(letter)]
        verdicts = _verdicts(reader, letters, settings, policy)
    events: list[tuple[DeadLetter, CaseEvent]] = []
    for letter, verdict in verdicts:
        if not isinstance(verdict, (Skipped, DeadLetter)):
            events.append((letter, verdict))
    failed = {} if args.dry_run else _publish(events, settings)
    for letter, verdict in verdicts:
        if isinstance(verdict, DeadLetter):
            print(f"repeat    {letter.id}  the same message as {verdict.id}: sent once")
        elif isinstance(verdict, Skipped) or letter.id in failed:
            why = verdict.reason if isinstance(verdict, Skipped) else failed[letter.id]
            print(f"skipped   {letter.id}  {letter.source}: {why}")
        else:
            verb = "would redrive" if args.dry_run else "redriven "
            print(f"{verb} {letter.id}  {letter.source} -> {settings.topics.for_event_type(verdict.event_type)}"
                  f"  {verdict.event_type} {verdict.event_id}")  # fmt: skip
    skipped = sum(isinstance(v, Skipped) for _, v in verdicts) + len(failed)
    print(f"{'would redrive' if args.dry_run else 'redrove'} {len(events) - len(failed)} of {len(letters)} "
          f"dead-letter records; {skipped} skipped")  # fmt: skip
    return 1 if skipped else 0


Verdict = CaseEvent | Skipped | DeadLetter  # the event to publish, why not, or the letter it repeats


def _verdicts(
    reader: "TopicReader", letters: list[DeadLetter], settings: Settings, policy: InputPolicy
) -> list[tuple[DeadLetter, Verdict]]:
    """What to do with each letter. A message dead-lettered twice (delivery is at least once)
    is one source position: redriven once, the other letter a repeat."""
    first: dict[tuple[str | None, int | None, int | None], DeadLetter] = {}
    verdicts: list[tuple[DeadLetter, Verdict]] = []
    for letter in letters:
        source = (letter.topic, letter.partition, letter.offset)
        if source in first:
            verdicts.append((letter, first[source]))
            continue
        first[source] = letter
        original, retained = _original(reader, letter, settings)
        verdicts.append((letter, redrive_event(letter, original, settings.topics, retained=retained, policy=policy)))
    return verdicts


def _publish(events: list[tuple[DeadLetter, CaseEvent]], settings: Settings) -> dict[str, str]:
    """Publish the events as ingest does; the ids of the letters whose event Kafka did not take, and why."""
    from streams.publish import Publisher

    with Publisher(_bootstrap(settings), settings.topics, security=settings.kafka_security) as publisher:
        sent = [(letter, publisher.event(event)) for letter, event in events]
        publisher.flush()
    return {
        letter.id: f"Kafka did not acknowledge it ({_said(future.exception) if future.exception else 'no answer'})"
        for letter, future in sent
        if not future.succeeded()
    }


def _redrive_files(args: argparse.Namespace, settings: Settings) -> int:
    """A corrected file, through ingest's own path (its readers, validation and dead letters)."""
    if args.ids or _selection(args) != Selection() or args.all:
        return _fail("--file publishes a corrected file; give no IDs or filters with it", code=2)
    if args.dry_run:
        return _fail("for a dry run of a file, use `casewatch ingest --dry-run FILE`", code=2)
    if missing_file(args.files):
        return 2
    print(publish_files(args.files, args, _bootstrap(settings), settings).summary())
    return 0


def _every(reader: "TopicReader", settings: Settings) -> list[DeadLetter]:
    topic = settings.topics.dead_letter
    parsed = (DeadLetter.parse(letter_id(topic, r.partition, r.offset), r.value) for r in reader.read_all(topic))
    return sorted((p for p in parsed if p is not None), key=_order)


def _letter_at(reader: "TopicReader", settings: Settings, partition: int, offset: int) -> DeadLetter | None:
    topic = settings.topics.dead_letter
    record, _ = reader.record_at(topic, partition, offset)
    return None if record is None else DeadLetter.parse(letter_id(topic, partition, offset), record.value)


def _original(reader: "TopicReader", letter: DeadLetter, settings: Settings) -> tuple[bytes | None, bool]:
    """The bytes at the letter's source position, and whether its input topic still has it."""
    if letter.topic not in settings.topics.inputs or letter.partition is None or letter.offset is None:
        return None, False
    record, retained = reader.record_at(letter.topic, letter.partition, letter.offset)
    return (record.value if record is not None else None), retained


def _reader(args: argparse.Namespace, settings: Settings) -> "TopicReader":
    from kafka.errors import KafkaError

    from streams.dead_letters import TopicReader

    bootstrap = _bootstrap(settings)
    # kafka-python logs every failed connection attempt; the command says it once, in one line.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        return TopicReader(bootstrap, timeout=args.timeout, security=settings.kafka_security)
    except KafkaError as error:
        raise DeadLetterError(f"cannot reach Kafka at {bootstrap}: {_said(error)}") from None


def _bootstrap(settings: Settings) -> str:
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set (try `casewatch broker run` for a local one)")
    return settings.bootstrap_servers


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(codes=frozenset(args.reason or ()), topic=args.topic, since=args.since, until=args.until)


def _position(text: str, settings: Settings) -> tuple[int, int] | None:
    try:
        return parse_id(text, settings.topics)
    except DeadLetterError as error:
        _fail(str(error))
        return None


def _said(error: Exception) -> str:
    """What a kafka-python error says, without its class name (which its text starts with)."""
    return str(error).removeprefix(f"{type(error).__name__}: ") or "no answer"


def _fate(letter: DeadLetter, retained: bool, settings: Settings) -> str:
    if letter.topic not in settings.topics.inputs:
        return "never on an input topic (refused by ingest or the HTTP API)"
    return f"still on {letter.source}" if retained else f"no longer on {letter.topic} (retention)"


def _fail(message: str, *, code: int = 1) -> int:
    print(f"casewatch dead-letters: {message}", file=sys.stderr)
    return code


def _order(letter: DeadLetter) -> tuple[datetime, str]:
    return letter.dead_lettered_at or datetime.min.replace(tzinfo=UTC), letter.id


def _when(letter: DeadLetter) -> str:
    when = letter.dead_lettered_at
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when is not None else "(unknown)"


def _cut(text: str) -> str:
    return text if len(text) <= REASON_CUT else text[: REASON_CUT - 1] + "…"


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("an ISO date or time, e.g. 2026-12-01 or 2026-12-01T09:30") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
