import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from agents.rules.rereferral_after_agreement import RULE as REREFERRAL
from casewatch.event_loop import use_uvloop
from casewatch.metrics import Metrics, at_most_every
from casewatch.settings import Settings, SettingsError
from casewatch.worker import directory_bytes


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.bootstrap_servers is None
    assert settings.database_url == "sqlite:///casewatch.db"
    assert settings.topics.alerts == "casewatch.alerts"
    assert settings.rules.of(REREFERRAL).window_months == 12


def test_environment_is_read() -> None:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
            "CASEWATCH_PARTITIONS": "12",
            "CASEWATCH_TOPIC_PREFIX": "la201",
            "CASEWATCH_WINDOW_MONTHS": "6",
            "CASEWATCH_LINK_TEMPLATE": "https://lcs/{child_id}",
            "CASEWATCH_STATE_DIR": "/var/lib/cw",
            "CASEWATCH_API_TOKENS": "a, b,,",
        }
    )
    assert settings.bootstrap_servers == "k:9092"
    assert settings.topics.inputs[0].startswith("la201.") and settings.topics.partitions == 12
    assert settings.rules.of(REREFERRAL).window_months == 6 and settings.rules.link("C1") == "https://lcs/C1"
    assert settings.state_dir == Path("/var/lib/cw")
    assert settings.api_tokens == frozenset({"a", "b"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CASEWATCH_PARTITIONS": "six"}, "CASEWATCH_PARTITIONS must be a whole number"),
        ({"CASEWATCH_PARTITIONS": "0"}, "CASEWATCH_PARTITIONS must be at least 1"),
        ({"CASEWATCH_LINK_TEMPLATE": "https://lcs/"}, "must contain {child_id}"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_metrics_follow_prometheus_naming_on_the_registry_given() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.events_consumed.labels(event_type="referral").inc()
    metrics.alerts_raised.labels(rule="r", severity="high").inc(2)
    metrics.event_to_alert_latency.observe(0.03)
    text = generate_latest(registry).decode()
    assert 'casewatch_events_consumed_total{event_type="referral"} 1.0' in text
    assert 'casewatch_alerts_raised_total{rule="r",severity="high"} 2.0' in text
    assert "casewatch_event_to_alert_latency_seconds_bucket" in text
    assert registry.get_sample_value("casewatch_event_to_alert_latency_seconds_count") == 1


def test_deployment_env_reads_back_as_the_same_deployment(tmp_path: Path) -> None:
    settings = Settings(
        bootstrap_servers="127.0.0.1:9", topic_prefix="t1", partitions=3, app_id="a1",
        database_url="sqlite:///x.db", metrics_port=0, state_dir=tmp_path, config_path=tmp_path / "c.yaml",
    )  # fmt: skip
    assert Settings.from_env(settings.deployment_env()) == settings


def test_the_state_store_gauge_counts_the_bytes_of_every_file_under_the_state_directory(tmp_path: Path) -> None:
    (tmp_path / "child-state-0").mkdir()
    (tmp_path / "child-state-0" / "000012.sst").write_bytes(b"x" * 1000)
    (tmp_path / "child-state-0" / "LOG").write_bytes(b"y" * 24)
    (tmp_path / "MANIFEST").write_bytes(b"z" * 7)
    assert directory_bytes(tmp_path) == 1031
    assert directory_bytes(tmp_path / "not-there-yet") == 0  # a worker that has stored nothing


def test_a_costly_gauge_is_read_again_only_once_its_interval_has_passed() -> None:
    now, reads = [100.0], []

    def read() -> float:  # how many times it has been read
        reads.append(now[0])
        return float(len(reads))

    gauge = at_most_every(10.0, read, clock=lambda: now[0])
    assert gauge() == 1.0 and gauge() == 1.0  # the second within the interval: the first value
    now[0] = 109.9
    assert gauge() == 1.0 and reads == [100.0]
    now[0] = 110.0
    assert gauge() == 2.0 and reads == [100.0, 110.0]


def test_the_worker_makes_its_event_loops_with_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not built for this platform")
    before = asyncio.get_event_loop_policy()
    try:
        use_uvloop()
        loop = asyncio.new_event_loop()  # as Faust, its consumer thread and the store make theirs
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(before)
