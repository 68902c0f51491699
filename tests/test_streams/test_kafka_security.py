"""The security settings: read and checked at start, then each client library's arguments."""

import ssl
from pathlib import Path

import faust
import pytest

from casewatch.cli import main
from casewatch.redaction import REDACTED, redact
from casewatch.settings import Settings, SettingsError
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from tests.kafka_certs import Certificates, make_certificates

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def sasl_ssl_env(certificates: Certificates, **more: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "KAFKA_SSL_CA_FILE": str(certificates.ca),
        "KAFKA_SSL_CERT_FILE": str(certificates.client_cert),
        "KAFKA_SSL_KEY_FILE": str(certificates.client_key),
        "KAFKA_SASL_MECHANISM": "scram-sha-512",
        "KAFKA_SASL_USERNAME": "casewatch",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        **more,
    }


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert Settings.from_env({}).kafka_security == PLAINTEXT
    assert PLAINTEXT.client_options() == {} and PLAINTEXT.faust_credentials() is None
    assert PLAINTEXT.environment() == {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}


def test_sasl_ssl_gives_every_library_the_same_tls_and_sasl(certificates: Certificates) -> None:
    security = Settings.from_env(sasl_ssl_env(certificates)).kafka_security
    options = security.client_options()
    context = options.pop("ssl_context")
    assert options == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                       "sasl_plain_username": "casewatch", "sasl_plain_password": PASSWORD}  # fmt: skip
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # the broker's name is checked
    credentials = security.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert credentials.ssl_context is context  # one context for every client
    assert PASSWORD not in repr(security) and PASSWORD not in repr(credentials)


def test_tls_without_sasl_gives_ssl_credentials(certificates: Certificates) -> None:
    security = KafkaSecurity(protocol="SSL", ca_file=certificates.ca)
    assert set(security.client_options()) == {"security_protocol", "ssl_context"}
    assert isinstance(security.faust_credentials(), faust.SSLCredentials)


def test_the_password_is_read_from_its_file_registered_as_a_secret_and_passed_on_as_the_file(
    certificates: Certificates, tmp_path: Path
) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-the-secret-file\n")
    env = sasl_ssl_env(certificates, KAFKA_SASL_PASSWORD="", KAFKA_SASL_PASSWORD_FILE=str(secret))
    settings = Settings.from_env(env)
    assert settings.kafka_security.password == "from-the-secret-file"
    assert redact("login from-the-secret-file failed") == f"login {REDACTED} failed"
    passed_on = settings.deployment_env()
    assert "KAFKA_SASL_PASSWORD" not in passed_on and passed_on["KAFKA_SASL_PASSWORD_FILE"] == str(secret)
    assert Settings.from_env(passed_on) == settings


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL"),
        ({"KAFKA_SASL_MECHANISM": ""}, "KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM must be one of .* it is 'GSSAPI'"),
        ({"KAFKA_SASL_USERNAME": ""}, "KAFKA_SASL_USERNAME is needed with KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"KAFKA_SASL_PASSWORD": ""}, r"KAFKA_SASL_PASSWORD \(or KAFKA_SASL_PASSWORD_FILE\) is needed"),
        ({"KAFKA_SASL_PASSWORD_FILE": "/nowhere/kafka-password"}, "not both"),
        ({"KAFKA_SASL_PASSWORD": "", "KAFKA_SASL_PASSWORD_FILE": "/nowhere/pw"}, "cannot read /nowhere/pw"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SASL_\\* settings are given but KAFKA_SECURITY_PROTOCOL is SSL"),
        ({"KAFKA_SSL_CA_FILE": "/nowhere/ca.pem"}, "KAFKA_SSL_CA_FILE: no file /nowhere/ca.pem"),
        ({"KAFKA_SSL_CERT_FILE": ""}, "KAFKA_SSL_KEY_FILE is given without KAFKA_SSL_CERT_FILE"),
        (
            {"KAFKA_SSL_KEY_FILE": "{ca}"},
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not a PEM certificate and its key",
        ),
        ({"KAFKA_SSL_CA_FILE": "{key}"}, "KAFKA_SSL_CA_FILE .*client.key holds no usable CA certificate"),
    ],
)
def test_settings_that_cannot_work_stop_start_up_naming_the_variable(
    certificates: Certificates, changes: dict[str, str], message: str
) -> None:
    env = sasl_ssl_env(
        certificates, **{k: v.format(ca=certificates.ca, key=certificates.client_key) for k, v in changes.items()}
    )
    with pytest.raises(SettingsError, match=message) as refused:
        Settings.from_env(env)
    assert PASSWORD not in str(refused.value)


def test_tls_files_need_a_tls_protocol(certificates: Certificates) -> None:
    with pytest.raises(SettingsError, match="KAFKA_SSL_CA_FILE given but KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT"):
        Settings.from_env(sasl_ssl_env(certificates, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                                       KAFKA_SSL_CERT_FILE="", KAFKA_SSL_KEY_FILE=""))  # fmt: skip


def test_the_cli_names_every_problem_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    assert main(["topics"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("casewatch: setting error: KAFKA_SASL_MECHANISM must be one of")
    assert "KAFKA_SASL_USERNAME is needed" in error and PASSWORD not in error and "Traceback" not in error
