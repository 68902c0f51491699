"""The local broker's SASL_SSL listener, as configured (the broker itself runs in
tests/integration/test_kafka_security.py)."""

from pathlib import Path

import pytest

from casewatch.local_kafka import KafkaSetupError, LocalKafka, SaslSslListener


def listener(tmp_path: Path, **users: str) -> SaslSslListener:
    return SaslSslListener(keystore=tmp_path / "k.p12", truststore=tmp_path / "t.p12", store_password="store-pw",
                           users=users or {"casewatch": "pw-1"})  # fmt: skip


def properties(broker: LocalKafka) -> dict[str, str]:
    lines = broker._write_config().read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_the_only_client_listener_is_sasl_ssl_with_client_certificates_required(tmp_path: Path) -> None:
    broker = LocalKafka(data_dir=tmp_path, sasl_ssl=listener(tmp_path))
    config = properties(broker)
    assert config["listeners"].startswith(f"SASL_SSL://127.0.0.1:{broker.port},CONTROLLER://127.0.0.1:")
    assert config["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    # The broker-wide ssl.client.auth would not apply to a SASL_SSL listener: it must be prefixed.
    assert config["listener.name.sasl_ssl.ssl.client.auth"] == "required"
    assert config["sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    assert 'user_casewatch="pw-1"' in config["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert broker._scram_users() == [
        "--add-scram", "SCRAM-SHA-256=[name=casewatch,password=pw-1]",
        "--add-scram", "SCRAM-SHA-512=[name=casewatch,password=pw-1]",
    ]  # fmt: skip


def test_plaintext_stays_the_default(tmp_path: Path) -> None:
    broker = LocalKafka(data_dir=tmp_path)
    config = properties(broker)
    assert config["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{broker.port}"
    assert not any(key.startswith(("sasl.", "ssl.", "listener.name.")) for key in config)
    assert broker._scram_users() == []


def test_a_password_that_would_break_the_jaas_quoting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KafkaSetupError, match="without quotes or backslashes"):
        listener(tmp_path, casewatch='pw"; user_admin="x')
