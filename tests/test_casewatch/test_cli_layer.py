"""The CLI's one settings and output layer, through `casewatch.cli.main`: where each setting
comes from (environment, .env, secret files, --config), `config show` with secrets masked,
`--format json` on every listing, the exit codes, and read-only commands that create nothing."""

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from alembic import command
from sqlalchemy import create_engine, inspect

from casewatch import redaction
from casewatch.cli import main
from casewatch.delivery.config import load_routing
from casewatch.delivery.outbox import enqueuer
from casewatch.local_kafka import free_port
from casewatch.migrations import alembic_config, head, revision
from casewatch.settings import SECRETS, VARIABLES, Settings
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert

SECRET_VALUES = {name: f"s3cret-{name.lower()}-" + "x" * 32 for name in SECRETS}
SECRET_VALUES["CASEWATCH_DATABASE_URL"] = "postgresql+psycopg://casewatch:pg-s3cret-password@db.example/casewatch"
SECRET_VALUES["KAFKA_SSL_KEY_PASSWORD"] = "key-s3cret-password"  # no key file: the protocol stays PLAINTEXT


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """`casewatch ARGS` in an empty folder, with no CASEWATCH_ or KAFKA_ variable from this machine."""
    for name in [*(v.name for v in VARIABLES), *(f"{s}_FILE" for s in SECRETS)]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # A command registers the secrets it reads (the database password) for this process's
    # log filter: each test gets its own registry, so none is scrubbed from later tests' lines.
    monkeypatch.setattr(redaction, "_secrets", set())

    def cli(*args: str) -> Run:
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse's usage errors
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield cli


def sasl_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """What SASL needs besides its password, so the password alone can be tested."""
    for name, value in (("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"), ("KAFKA_SASL_MECHANISM", "PLAIN"),
                        ("KAFKA_SASL_USERNAME", "casewatch")):  # fmt: skip
        monkeypatch.setenv(name, value)


def settings_shown(done: Run) -> dict[str, dict[str, str | None]]:
    assert done.code == 0, done.err
    rows = done.json()
    assert isinstance(rows, list)
    return {row["name"]: row for row in rows}


def test_config_show_masks_every_secret_and_names_each_source(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sasl_without_password(monkeypatch)
    names = sorted(SECRETS)
    from_env, from_dotenv, from_file = names[0::3], names[1::3], names[2::3]
    for name in from_env:
        monkeypatch.setenv(name, SECRET_VALUES[name])
    (tmp_path / ".env").write_text("".join(f'{name}="{SECRET_VALUES[name]}"\n' for name in from_dotenv))
    for name in from_file:
        (tmp_path / name).write_text(SECRET_VALUES[name] + "\n")
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
    done = run("config", "show", "--format", "json")
    shown = settings_shown(done)
    for name, value in SECRET_VALUES.items():
        assert value not in done.out and value not in done.err, name
    assert "pg-s3cret-password" not in done.out
    for name in names:
        expected = "postgresql+psycopg://casewatch:***@db.example/casewatch" if "DATABASE" in name else "***"
        assert shown[name]["value"] == expected, name
    assert {shown[n]["source"] for n in from_env} == {"environment"}
    assert {shown[n]["source"] for n in from_dotenv} == {".env"}
    assert [shown[n]["source"] for n in from_file] == [f"file {tmp_path / n}" for n in from_file]
    assert shown["CASEWATCH_PARTITIONS"] == {"name": "CASEWATCH_PARTITIONS", "value": "6", "source": "default"}
    table = run("config", "show")
    assert table.code == 0 and "CASEWATCH_ERASURE_KEY" in table.out
    assert not any(value in table.out for value in SECRET_VALUES.values())


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_secret_file_is_read_and_setting_both_is_refused(run, tmp_path, monkeypatch, name: str) -> None:  # type: ignore[no-untyped-def]
    if name == "KAFKA_SASL_PASSWORD":
        sasl_without_password(monkeypatch)
    (tmp_path / "secret").write_text(SECRET_VALUES[name] + "\n")
    monkeypatch.setenv(f"{name}_FILE", str(tmp_path / "secret"))
    read = Settings.from_env()
    value = {
        "CASEWATCH_API_TOKENS": ",".join(sorted(read.api_tokens)),
        "CASEWATCH_DATABASE_URL": read.database_url,
        "CASEWATCH_ERASURE_KEY": read.erasure_key,
        "CASEWATCH_SESSION_KEY": read.session_key,
        "KAFKA_SASL_PASSWORD": read.kafka_security.password,
        "KAFKA_SSL_KEY_PASSWORD": read.kafka_security.key_password,
    }[name]
    assert value == SECRET_VALUES[name]  # the file's final newline is not part of it
    monkeypatch.setenv(name, "also-" + SECRET_VALUES[name])
    both = run("config", "show")
    assert both.code == 2
    assert both.err.strip() == f"casewatch: setting error: set {name} or {name}_FILE, not both"


def test_dotenv_is_read_and_the_environment_beats_it(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("# deployment\nCASEWATCH_TOPIC_PREFIX=la201\nexport CASEWATCH_APP_ID='from-file'\n")
    monkeypatch.setenv("CASEWATCH_APP_ID", "from-environment")
    shown = settings_shown(run("config", "show", "--format", "json"))
    assert (shown["CASEWATCH_TOPIC_PREFIX"]["value"], shown["CASEWATCH_TOPIC_PREFIX"]["source"]) == ("la201", ".env")
    assert (shown["CASEWATCH_APP_ID"]["value"], shown["CASEWATCH_APP_ID"]["source"]) == (
        "from-environment", "environment"
    )  # fmt: skip
    other = tmp_path / "other.env"
    other.write_text("CASEWATCH_TOPIC_PREFIX=la999\n")
    elsewhere = settings_shown(run("--env-file", str(other), "config", "show", "--format", "json"))
    assert elsewhere["CASEWATCH_TOPIC_PREFIX"]["value"] == "la999"
    missing = run("config", "show", "--env-file", str(tmp_path / "nope.env"))
    assert missing.code == 2 and "--env-file: no such file" in missing.err


@pytest.mark.parametrize(
    "where",
    [
        ["--config", "{path}", "config", "show", "--format", "json"],
        ["config", "--config", "{path}", "show", "--format", "json"],
        ["config", "show", "--format", "json", "--config", "{path}"],
    ],
)
def test_config_option_before_or_after_the_command_beats_the_environment(  # type: ignore[no-untyped-def]
    run, tmp_path, monkeypatch, where: list[str]
) -> None:
    given = tmp_path / "given.yaml"
    given.write_text(yaml.safe_dump({"rules": {"rereferral_after_agreement": {"window_months": 9}}}))
    monkeypatch.setenv("CASEWATCH_CONFIG", str(tmp_path / "not-this.yaml"))
    shown = settings_shown(run(*(part.format(path=given) for part in where)))
    assert shown["CASEWATCH_CONFIG"] == {"name": "CASEWATCH_CONFIG", "value": str(given), "source": "--config"}
    window = shown["rules.rereferral_after_agreement.window_months"]
    assert (window["value"], window["source"]) == ("9", "file")
    assert shown["rules.agreement_review_overdue.grace_days"]["source"] == "default"


def test_config_check_and_example(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    example = run("config", "example")
    assert example.code == 0 and "rules:" in example.out
    (tmp_path / "casewatch.yaml").write_text(example.out)
    good = run("config", "check", "--config", "casewatch.yaml")
    assert good.code == 0, good.err
    (tmp_path / "bad.yaml").write_text("rules:\n  rereferral_after_agreement:\n    window_months: -1\n")
    bad = run("config", "check", "--config", "bad.yaml")
    assert bad.code == 2 and bad.err.startswith("casewatch: setting error: bad.yaml: rules.rereferral_after_agreement")
    assert run("config", "check").code == 2  # nothing to check


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A real SQLite database made by the migrations, with an alert and its notification."""
    url = f"sqlite:///{tmp_path / 'casewatch.db'}"
    engine = connect(url)
    upsert_alerts(engine=engine, alerts=[make_alert("cli-layer")], on_stored=enqueuer(load_routing(None)))
    engine.dispose()
    return url


@pytest.fixture
def events(run) -> Path:  # type: ignore[no-untyped-def]
    done = run("simulate", "--children", "40", "--seed", "3", "-o", "events.jsonl")
    assert done.code == 0, done.err
    return Path("events.jsonl").resolve()


ALERT_ID = make_alert("cli-layer").alert_id
LISTINGS = [
    (["alerts"], list),
    (["worklist", "--week", "2024-W19"], list),
    (["notifications"], list),
    (["notifications", "--failed"], list),
    (["silence", "list", "--all"], list),
    (["alert", "history", ALERT_ID], list),
    (["config", "show"], list),
    (["retention", "--days", "10000"], dict),
    (["ingest", "--dry-run", "{events}"], dict),
    (["replay", "{events}"], dict),
    (["report", "{events}"], dict),
]


@pytest.mark.parametrize(("command", "kind"), LISTINGS, ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_format_json_gives_one_parseable_document(  # type: ignore[no-untyped-def]
    run, monkeypatch, database, events, command: list[str], kind: type
) -> None:
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", database)
    done = run(*(part.format(events=events) for part in command), "--format", "json")
    assert done.code == 0, done.err
    assert isinstance(done.json(), kind)


def test_json_listings_hold_what_the_database_holds(run, monkeypatch, database) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", database)
    assert [a["alert_id"] for a in run("alerts", "--format", "json").json()] == [ALERT_ID]  # type: ignore[union-attr]
    assert run("silence", "add", "team=CIN East", "--for", "1h", "--by", "team.manager").code == 0
    silences = run("silence", "list", "--format", "json").json()
    assert [(s["state"], s["created_by"]) for s in silences] == [("active", "team.manager")]  # type: ignore[union-attr, index]


def test_exit_codes(run, tmp_path, monkeypatch, database, events) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", database)
    assert run("alerts", "--no-such-option").code == 2  # usage
    monkeypatch.setenv("CASEWATCH_PARTITIONS", "many")
    assert run("alerts").code == 2  # configuration
    monkeypatch.delenv("CASEWATCH_PARTITIONS")
    assert run("ingest", "--dry-run", str(events)).code == 0  # every record accepted
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text(events.read_text() + '{"event_type": "phone_call"}\n')
    partly = run("ingest", "--dry-run", str(rejected), "--format", "json")
    assert partly.code == 3 and partly.json()["rejected"] == 1  # type: ignore[index]
    unknown = run("alert", "history", "f" * 32)
    assert unknown.code == 1
    assert unknown.err.strip() == f"casewatch: no alert {'f' * 32} in {database}"
    assert "nothing done to it yet" in run("alert", "history", ALERT_ID).out


def test_errors_are_one_sentence_without_class_names(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "junk.db").write_text("this is not a database\n" * 200)
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'junk.db'}")
    done = run("alerts")
    assert done.code == 1
    junk = f"sqlite:///{tmp_path / 'junk.db'}"
    assert done.err == f"casewatch: cannot use the database at {junk}: file is not a database\n"
    port = free_port()  # a PostgreSQL server that is not there: refused at once, the password never shown
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", f"postgresql+psycopg://casewatch:pw-s3cret@127.0.0.1:{port}/cw")
    refused = run("alerts")
    assert refused.code == 1 and refused.err.count("\n") == 1 and "pw-s3cret" not in refused.err
    assert refused.err.startswith(
        f"casewatch: cannot use the database at postgresql+psycopg://casewatch:***@127.0.0.1:{port}/cw: "
    )
    assert "Connection refused" in refused.err
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", junk)
    monkeypatch.setenv("CASEWATCH_ERASURE_KEY_FILE", str(tmp_path / "absent"))
    unreadable = run("alerts")
    assert unreadable.code == 2
    assert unreadable.err.strip() == (
        f"casewatch: setting error: CASEWATCH_ERASURE_KEY_FILE: cannot read {tmp_path / 'absent'} "
        "(No such file or directory)"
    )
    with pytest.raises(Exception, match="file is not a database"):  # --debug keeps the traceback
        monkeypatch.delenv("CASEWATCH_ERASURE_KEY_FILE")
        main(["alerts", "--debug"])


READ_ONLY = [
    ["alerts"],
    ["worklist", "--week", "2024-W19"],
    ["notifications"],
    ["alert", "history", ALERT_ID],
    ["silence", "list"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_no_database(run, tmp_path, monkeypatch, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "data" / "casewatch.db"
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", f"sqlite:///{path}")
    done = run(*command)
    assert done.code == 1
    assert done.err.startswith(f"casewatch: no database at {path} (`casewatch migrate` creates it")
    assert not path.exists() and not path.parent.exists()
    assert not (tmp_path / "casewatch.db").exists()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_leave_an_empty_database_empty(run, database_url, monkeypatch, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A server's empty database (or an empty SQLite file): an error saying to migrate, and no tables made."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).touch()
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", database_url)
    done = run(*command)
    assert done.code == 1
    # Not the word "casewatch": the test server's password is that word, so messages show it redacted.
    assert "tables in the database at" in done.err and "migrate` creates them)" in done.err
    assert _tables(database_url) == set()


def test_a_read_only_command_on_an_older_schema_says_to_migrate_and_leaves_it(run, database_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    older = "0005"
    engine = create_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, older)
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", database_url)
    done = run("alerts")
    assert done.code == 1
    assert f"schema {older}, older than this version's {head()}" in done.err
    assert "migrate` brings it up to date" in done.err
    assert revision(engine) == older
    assert run("migrate").code == 0 and revision(engine) == head()
    engine.dispose()
    assert run("alerts", "--format", "json").json() == []


def test_report_from_a_database_that_is_not_there_creates_none(run, tmp_path, events) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "typo.db"
    done = run("report", str(events), "--format", "json", "--database-url", f"sqlite:///{path}")
    assert done.code == 1 and "no database at" in done.err and not path.exists()


def test_migrate_creates_the_database_the_read_only_commands_then_read(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    assert run("migrate").code == 0
    assert run("alerts", "--format", "json").json() == []


def test_an_unreachable_broker_is_one_line_within_the_bound(tmp_path: Path) -> None:
    """A closed port on this machine: `topics` gives up after --timeout with one line, no log flood."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    done = subprocess.run([sys.executable, "-m", "casewatch", "topics", "--timeout", "2"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=20)  # fmt: skip  # kafka-python alone waits 30 s
    assert done.returncode == 1
    assert done.stderr == f"casewatch: cannot reach Kafka at 127.0.0.1:{port} after 2 s\n"
    assert done.stdout == ""


def test_docs_list_every_variable_and_the_help_gives_the_exit_codes(run) -> None:  # type: ignore[no-untyped-def]
    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert [v.name for v in VARIABLES if f"| `{v.name}` |" not in documented] == []
    shown = run("--help")
    assert shown.code == 0 and "exit codes:" in shown.out and "3  input rejected" in shown.out
