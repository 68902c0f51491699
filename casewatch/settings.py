"""Settings: the one reader of the environment. Everything else takes a Settings."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from agents.rules import RulesConfig, RulesConfigError
from casewatch.redaction import database_password, mask_database_url, register_secret
from streams.kafka_security import PLAINTEXT, KafkaSecurity, KafkaSecurityError
from streams.topics import Topics


class SettingsError(ValueError):
    """A setting has a value casewatch cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """How to reach Kafka and the database, and how this deployment is named.

    Every field has an environment variable (shown in `casewatch --help`).
    """

    bootstrap_servers: str | None = None
    # TLS and SASL for every Kafka client (streams.kafka_security); PLAINTEXT by default.
    kafka_security: KafkaSecurity = PLAINTEXT
    topic_prefix: str = "casewatch"
    partitions: int = 6
    replication_factor: int = 1
    app_id: str = "casewatch"
    database_url: str = "sqlite:///casewatch.db"
    metrics_port: int = 9108
    state_dir: Path = Path(".casewatch")
    # The YAML configuration file (rules, routing); None means the documented defaults.
    config_path: Path | None = None
    # Bearer tokens accepted by the HTTP API (ingest, alert lifecycle, silences).
    api_tokens: frozenset[str] = frozenset()
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Largest request body the HTTP API reads; a bigger one is refused (413) before it is read.
    max_body_bytes: int = 1024 * 1024
    # Seconds a request body may take to arrive; a slower one is ended with 408.
    body_timeout_seconds: int = 30
    # Key of the HMAC by which the audit log names an erased child (never the ID itself).
    erasure_key: str | None = None
    # Key signing the page's session cookies; None: a random key per process (a restart signs everyone out).
    session_key: str | None = None
    # Alerts, notifications and audit rows older than this many days are pruned (`casewatch retention`).
    retention_days: int = 400
    rules: RulesConfig = field(default_factory=RulesConfig)

    @property
    def database_url_masked(self) -> str:
        """The database URL to print or log: its password, if any, shown as ***."""
        return mask_database_url(self.database_url)

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix, partitions=self.partitions)

    def with_bootstrap(self, servers: str) -> "Settings":
        return replace(self, bootstrap_servers=servers)

    def deployment_env(self) -> dict[str, str]:
        """The environment that names this deployment, for starting its processes (worker,
        dispatcher, CLI) as children: the inverse of from_env for those settings."""
        env = {
            "CASEWATCH_TOPIC_PREFIX": self.topic_prefix,
            "CASEWATCH_PARTITIONS": str(self.partitions),
            "CASEWATCH_APP_ID": self.app_id,
            "CASEWATCH_DATABASE_URL": self.database_url,
            "CASEWATCH_METRICS_PORT": str(self.metrics_port),
            "CASEWATCH_STATE_DIR": str(self.state_dir),
        }
        if self.bootstrap_servers:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        env.update(self.kafka_security.environment())
        if self.config_path:
            env["CASEWATCH_CONFIG"] = str(self.config_path)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        default = cls()
        # The environment gives the rules' base; the file at CASEWATCH_CONFIG, read when the
        # worker or replay starts (casewatch.config_file), overrides what it sets.
        window = _int(env, "CASEWATCH_WINDOW_MONTHS", 0, minimum=1)
        link = env.get("CASEWATCH_LINK_TEMPLATE") or None
        if link is not None and "{child_id}" not in link:
            raise SettingsError("CASEWATCH_LINK_TEMPLATE must contain {child_id}")
        rules = replace(default.rules, link_template=link)
        if window:
            try:
                rules = rules.with_params("rereferral_after_agreement", window_months=window)
            except RulesConfigError as error:
                raise SettingsError(f"CASEWATCH_WINDOW_MONTHS: {error.reason}") from None
        settings = cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            kafka_security=_kafka_security(env),
            topic_prefix=env.get("CASEWATCH_TOPIC_PREFIX", default.topic_prefix),
            partitions=_int(env, "CASEWATCH_PARTITIONS", default.partitions, minimum=1),
            replication_factor=_int(env, "CASEWATCH_REPLICATION_FACTOR", default.replication_factor, minimum=1),
            app_id=env.get("CASEWATCH_APP_ID", default.app_id),
            database_url=env.get("CASEWATCH_DATABASE_URL", default.database_url),
            metrics_port=_int(env, "CASEWATCH_METRICS_PORT", default.metrics_port, minimum=0),
            state_dir=Path(env.get("CASEWATCH_STATE_DIR", str(default.state_dir))),
            config_path=Path(env["CASEWATCH_CONFIG"]) if env.get("CASEWATCH_CONFIG") else None,
            api_tokens=frozenset(t.strip() for t in env.get("CASEWATCH_API_TOKENS", "").split(",") if t.strip()),
            http_host=env.get("CASEWATCH_HTTP_HOST", default.http_host),
            http_port=_int(env, "CASEWATCH_HTTP_PORT", default.http_port, minimum=0),
            max_body_bytes=_int(env, "CASEWATCH_MAX_BODY_BYTES", default.max_body_bytes, minimum=1),
            body_timeout_seconds=_int(env, "CASEWATCH_BODY_TIMEOUT", default.body_timeout_seconds, minimum=1),
            erasure_key=env.get("CASEWATCH_ERASURE_KEY") or None,
            session_key=env.get("CASEWATCH_SESSION_KEY") or None,
            retention_days=_int(env, "CASEWATCH_RETENTION_DAYS", default.retention_days, minimum=1),
            rules=rules,
        )
        kafka = settings.kafka_security
        for secret in (
            *settings.api_tokens,
            database_password(settings.database_url),
            settings.erasure_key,
            settings.session_key,
            kafka.password,
            kafka.key_password,
        ):
            register_secret(secret)  # scrubbed from every log line from now on (casewatch.redaction)
        return settings


ENVIRONMENT_HELP = """\
environment:
  KAFKA_BOOTSTRAP_SERVERS       Kafka to use (host:port,...); unset: demo starts a local broker
  KAFKA_SECURITY_PROTOCOL       PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
  KAFKA_SSL_CA_FILE             PEM CA certificate(s) the brokers' certificates are checked against
  KAFKA_SSL_CERT_FILE           PEM client certificate, if the cluster asks for one
  KAFKA_SSL_KEY_FILE            PEM private key of the client certificate
  KAFKA_SSL_KEY_PASSWORD        password of that key, if it is encrypted
  KAFKA_SASL_MECHANISM          PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
  KAFKA_SASL_USERNAME           SASL user name
  KAFKA_SASL_PASSWORD           SASL password (or KAFKA_SASL_PASSWORD_FILE: a file holding it)
  CASEWATCH_DATABASE_URL        SQLAlchemy URL for alerts (default sqlite:///casewatch.db)
  CASEWATCH_TOPIC_PREFIX        prefix of every topic name (default casewatch)
  CASEWATCH_PARTITIONS          partitions of every topic (default 6)
  CASEWATCH_REPLICATION_FACTOR  replication of created topics (default 1)
  CASEWATCH_APP_ID              Faust application id / consumer group (default casewatch)
  CASEWATCH_METRICS_PORT        Prometheus metrics port, 0 to disable (default 9108)
  CASEWATCH_STATE_DIR           worker state folder (default .casewatch)
  CASEWATCH_CONFIG              YAML configuration file (rules, routing); unset: defaults
  CASEWATCH_API_TOKENS          comma-separated bearer tokens for the HTTP API (32+ characters each;
                                roles ingest and metrics: other roles are given in the file's access:)
  CASEWATCH_SESSION_KEY         key (32+ characters) signing the web page's sign-ins; unset: random
  CASEWATCH_HTTP_HOST           HTTP API address (default 127.0.0.1)
  CASEWATCH_HTTP_PORT           HTTP API port (default 8080)
  CASEWATCH_MAX_BODY_BYTES      largest HTTP request body in bytes (default 1048576, 1 MiB)
  CASEWATCH_BODY_TIMEOUT        seconds an HTTP request body may take to arrive (default 30)
  CASEWATCH_ERASURE_KEY         HMAC key (32+ characters) naming erased children in the audit log
  CASEWATCH_RETENTION_DAYS      alerts, notifications and audit rows kept this many days (default 400)
  CASEWATCH_WINDOW_MONTHS       re-referral window in calendar months (default 12; the file may override)
  CASEWATCH_LINK_TEMPLATE       case-system link, e.g. https://lcs.example/child/{child_id} (likewise)
  CASEWATCH_CACHE_DIR           where Kafka jars are kept (default ~/.cache/casewatch)
"""


def environment_value(name: str, env: Mapping[str, str] | None = None) -> str:
    """A variable the configuration file names, such as a receiver's secret (`password_env:`).

    Read here, so settings stays the one reader of the environment.
    """
    value = (os.environ if env is None else env).get(name)
    if not value:
        raise SettingsError(f"{name} is not set, and the configuration file names it")
    register_secret(value)  # from now on scrubbed from every log line (casewatch.redaction)
    return value


def _kafka_security(env: Mapping[str, str]) -> KafkaSecurity:
    """TLS and SASL settings, checked now (files there, SASL complete, the TLS files readable)."""
    password, password_file = env.get("KAFKA_SASL_PASSWORD") or None, _path(env, "KAFKA_SASL_PASSWORD_FILE")
    if password_file is not None:
        if password is not None:
            raise SettingsError("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
        try:
            password = password_file.read_text().strip()  # a secret file usually ends in a newline
        except OSError as error:
            raise SettingsError(f"KAFKA_SASL_PASSWORD_FILE: cannot read {password_file} ({error.strerror})") from None
    try:
        security = KafkaSecurity(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL", "").strip().upper() or "PLAINTEXT",
            ca_file=_path(env, "KAFKA_SSL_CA_FILE"),
            cert_file=_path(env, "KAFKA_SSL_CERT_FILE"),
            key_file=_path(env, "KAFKA_SSL_KEY_FILE"),
            key_password=env.get("KAFKA_SSL_KEY_PASSWORD") or None,
            sasl_mechanism=(env.get("KAFKA_SASL_MECHANISM") or "").strip().upper() or None,
            username=env.get("KAFKA_SASL_USERNAME") or None,
            password=password,
            password_file=password_file,
        )
        security.ssl_context  # noqa: B018  # built now: a bad certificate or key stops start-up here
    except KafkaSecurityError as error:
        raise SettingsError(str(error)) from None
    return security


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value
