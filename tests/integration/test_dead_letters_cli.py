"""`casewatch dead-letters` through the real CLI process, the real broker and the real worker."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from casewatch.storage import connect, list_alerts
from schemas.events import CaseEvent
from streams.codec import encode
from streams.publish import Publisher
from tests.integration.support import Deployment, running_worker, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL


def dead_letters(cli: Callable[..., subprocess.CompletedProcess[str]], *args: str) -> subprocess.CompletedProcess[str]:
    """`casewatch dead-letters ...` with a read bound a loaded machine cannot reach (the default is 30 s)."""
    return cli("dead-letters", *args, "--timeout", "120")


def of(child: str, event: CaseEvent) -> CaseEvent:
    return event.model_copy(update={"child_id": child, "event_id": f"{event.event_id}-{child}"})


def test_fixed_dead_letters_redriven_raise_their_alert_once_and_a_second_redrive_changes_nothing(
    deployment: Deployment, tmp_path: Path
) -> None:
    settings = deployment.settings
    topics = settings.topics
    cli = deployment.run_cli
    agreements = topics.for_event_type("agreement")
    # C1 keyed wrong, C2's referral on the agreements topic, C3's agreement in a file with a field it must not have.
    bad_file, fixed_file = tmp_path / "bad.jsonl", tmp_path / "fixed.jsonl"
    with_notes = of("C3", AGREEMENT).model_dump(mode="json") | {"notes": "a note"}
    bad_file.write_text(json.dumps(with_notes) + "\n" + of("C3", REFERRAL).model_dump_json() + "\n")
    fixed_file.write_text(of("C3", AGREEMENT).model_dump_json() + "\n" + of("C3", REFERRAL).model_dump_json() + "\n")
    with running_worker(deployment) as worker:
        with Publisher(str(settings.bootstrap_servers), topics) as publisher:
            publisher.raw(agreements, key=b"C9", value=encode(of("C1", AGREEMENT)))
            publisher.event(of("C1", REFERRAL))
            publisher.event(of("C2", AGREEMENT))
            publisher.raw(agreements, key=b"C2", value=encode(of("C2", REFERRAL)))
        ingested = cli("ingest", str(bad_file))
        assert ingested.returncode == 3, ingested.stderr  # a record refused (and dead-lettered)
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= 3, 60, worker.describe)
        wait_until(lambda: worker.metric("casewatch_events_dead_lettered_total") >= 2, 30, worker.describe)
        database = connect(settings.database_url)
        assert list_alerts(engine=database) == []

        listed = dead_letters(cli, "list", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        letters = {d["code"]: d for d in json.loads(listed.stdout)}
        assert sorted(letters) == ["key_mismatch", "schema", "wrong_topic"]
        assert (letters["key_mismatch"]["topic"], letters["wrong_topic"]["topic"]) == (agreements, agreements)
        assert letters["schema"]["topic"].endswith("bad.jsonl:1")
        assert all(d["id"].startswith(f"{topics.dead_letter}:") for d in letters.values())
        table = dead_letters(cli, "list", "--reason", "key_mismatch")
        assert table.returncode == 0 and letters["key_mismatch"]["id"] in table.stdout
        assert letters["wrong_topic"]["id"] not in table.stdout and "key_mismatch" in table.stdout

        shown = dead_letters(cli, "show", letters["key_mismatch"]["id"])
        assert shown.returncode == 0, shown.stderr
        assert "the message key is not the event's child_id" in shown.stdout
        assert f"still on {agreements}[" in shown.stdout and "redrivable:    yes" in shown.stdout
        from_file = json.loads(dead_letters(cli, "show", letters["schema"]["id"], "--format", "json").stdout)
        assert from_file["redrivable"] is False and "--file" in from_file["why_not"]

        dry = dead_letters(cli, "redrive", "--all", "--dry-run")
        assert dry.returncode == 1 and "would redrive 2 of 3 dead-letter records; 1 skipped" in dry.stdout
        assert f"would redrive {letters['key_mismatch']['id']}" in dry.stdout

        # Fixed: C1 and C2 from where they were on their topic, C3 from the corrected file.
        redriven = dead_letters(cli, "redrive", letters["key_mismatch"]["id"], letters["wrong_topic"]["id"])
        assert redriven.returncode == 0, redriven.stdout + redriven.stderr
        assert "redrove 2 of 2" in redriven.stdout
        from_fixed = dead_letters(cli, "redrive", "--file", str(fixed_file))
        assert from_fixed.returncode == 0, from_fixed.stderr
        assert "accepted 2 events, rejected 0" in from_fixed.stdout
        expected = [("C1", "rereferral_after_agreement"), ("C2", "rereferral_after_agreement"),
                    ("C3", "rereferral_after_agreement")]  # fmt: skip
        wait_until(lambda: sorted((a.child_id, a.rule) for a in list_alerts(engine=database)) == expected, 60,
                   worker.describe)  # fmt: skip
        consumed = worker.metric("casewatch_events_consumed_total")

        # Again: the same event ids, so the worker reads them and raises nothing new.
        again = dead_letters(cli, "redrive", "--reason", "key_mismatch", "--reason", "wrong_topic")
        assert again.returncode == 0 and "redrove 2 of 2" in again.stdout, again.stdout + again.stderr
        assert dead_letters(cli, "redrive", "--file", str(fixed_file)).returncode == 0
        wait_until(lambda: worker.metric("casewatch_events_consumed_total") >= consumed + 4, 60, worker.describe)
        assert worker.metric("casewatch_alerts_raised_total") == 3
    assert sorted((a.child_id, a.rule) for a in list_alerts(engine=database)) == expected


def test_a_redrive_refuses_what_it_cannot_check_and_says_why(deployment: Deployment) -> None:
    """A record whose digest does not match what is at its position is not published; usage errors say so."""
    settings = deployment.settings
    topics = settings.topics
    agreements = topics.for_event_type("agreement")
    with Publisher(str(settings.bootstrap_servers), topics) as publisher:
        publisher.raw(agreements, key=b"C1", value=encode(of("C1", AGREEMENT)))
        # A dead-letter record naming that position, but another message's digest.
        forged = {"code": "schema", "reason": "r", "topic": agreements, "partition": topics.partition_for("C1"),
                  "offset": 0, "dead_lettered_at": "2026-12-01T00:00:00+00:00",
                  "original_sha256": "0" * 64, "original_size": 10}  # fmt: skip
        publisher.raw(topics.dead_letter, key=None, value=json.dumps(forged).encode(), partition=0)
    cli = deployment.run_cli
    refused = dead_letters(cli, "redrive", "--all")
    assert refused.returncode == 1
    assert "does not match the dead-letter record's SHA-256" in refused.stdout
    assert "redrove 0 of 1" in refused.stdout
    nothing = dead_letters(cli, "redrive")
    assert nothing.returncode == 2 and "name the records to redrive" in nothing.stderr
    bad_id = dead_letters(cli, "show", "elsewhere:0:1")
    assert bad_id.returncode == 2 and "not on this deployment's dead-letter topic" in bad_id.stderr
    absent = dead_letters(cli, "show", f"{topics.dead_letter}:0:99")
    assert absent.returncode == 1 and "no dead-letter record at" in absent.stderr
    assert "Traceback" not in refused.stderr + nothing.stderr + bad_id.stderr + absent.stderr
