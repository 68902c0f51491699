"""Settings: the one reader of the environment. Everything else takes a Settings.

Values come from three places, the first that has a variable winning: the process
environment, a `.env` file (in the working directory, or `--env-file`), and for every
secret a `NAME_FILE` variable naming a file that holds it (Docker and Kubernetes secrets
are files). pydantic-settings reads the first two (quoting, `export`, comments in .env);
the checks below turn each value into its type with a message that names the variable.
`layered_environment` says where each value came from, for `casewatch config show`.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import create_model
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsConfigDict

from agents.rules import RulesConfig, RulesConfigError
from casewatch.redaction import database_password, mask_database_url, register_secret
from streams.kafka_security import PLAINTEXT, KafkaSecurity, KafkaSecurityError
from streams.topics import Topics

DEFAULT_ENV_FILE = Path(".env")
Source = Literal["default", "environment", ".env", "file"]


class SettingsError(ValueError):
    """A setting has a value casewatch cannot use; the message names it."""


@dataclass(frozen=True)
class Variable:
    """One environment variable: its help line (with its default), and whether it is a secret."""

    name: str
    help: str
    default: str | None = None
    secret: bool = False

    def help_line(self) -> str:
        text = self.help + (f" (default {self.default})" if self.default is not None else "")
        if self.secret:
            text += " [secret; or _FILE]"
        return f"  {self.name:<29} " + text.replace("\n", "\n" + " " * 32)


VARIABLES = (
    Variable("KAFKA_BOOTSTRAP_SERVERS", "Kafka to use (host:port,...); unset: demo starts a local broker"),
    Variable("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", "PLAINTEXT"),
    Variable("KAFKA_SSL_CA_FILE", "PEM CA certificate(s) the brokers' certificates are checked against"),
    Variable("KAFKA_SSL_CERT_FILE", "PEM client certificate, if the cluster asks for one"),
    Variable("KAFKA_SSL_KEY_FILE", "PEM private key of the client certificate"),
    Variable("KAFKA_SSL_KEY_PASSWORD", "password of that key, if it is encrypted", secret=True),
    Variable("KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    Variable("KAFKA_SASL_USERNAME", "SASL user name"),
    Variable("KAFKA_SASL_PASSWORD", "SASL password", secret=True),
    Variable("CASEWATCH_DATABASE_URL", "SQLAlchemy URL for alerts", "sqlite:///casewatch.db", secret=True),
    Variable("CASEWATCH_TOPIC_PREFIX", "prefix of every topic name", "casewatch"),
    Variable("CASEWATCH_PARTITIONS", "partitions of every topic", "6"),
    Variable("CASEWATCH_REPLICATION_FACTOR", "replication of created topics", "1"),
    Variable("CASEWATCH_APP_ID", "Faust application id / consumer group", "casewatch"),
    Variable("CASEWATCH_METRICS_PORT", "Prometheus metrics port, 0 to disable", "9108"),
    Variable("CASEWATCH_STATE_DIR", "worker state folder", ".casewatch"),
    Variable(
        "CASEWATCH_CONFIG", "YAML configuration file (rules, routing, access); --config beats it; unset: defaults"
    ),
    Variable(
        "CASEWATCH_API_TOKENS",
        "comma-separated bearer tokens for the HTTP API (32+ characters each;\n"
        "roles ingest and metrics: other roles are given in the file's access:)",
        secret=True,
    ),
    Variable(
        "CASEWATCH_SESSION_KEY", "key (32+ characters) signing the web page's sign-ins; unset: random", secret=True
    ),
    Variable("CASEWATCH_HTTP_HOST", "HTTP API address", "127.0.0.1"),
    Variable("CASEWATCH_HTTP_PORT", "HTTP API port", "8080"),
    Variable("CASEWATCH_MAX_BODY_BYTES", "largest HTTP request body in bytes", "1048576"),
    Variable("CASEWATCH_BODY_TIMEOUT", "seconds an HTTP request body may take to arrive", "30"),
    Variable("CASEWATCH_ERASURE_KEY", "HMAC key (32+ characters) naming erased children in the audit log", secret=True),
    Variable("CASEWATCH_RETENTION_DAYS", "alerts, notifications, audit rows, timelines kept this many days", "400"),
    Variable("CASEWATCH_WINDOW_MONTHS", "re-referral window in calendar months (the file may override)", "12"),
    Variable("CASEWATCH_LINK_TEMPLATE", "case-system link, e.g. https://lcs.example/child/{child_id} (likewise)"),
    Variable("CASEWATCH_CACHE_DIR", "where Kafka jars are kept", "~/.cache/casewatch"),
)
SECRETS = frozenset(v.name for v in VARIABLES if v.secret)
_NAMES = (*(v.name for v in VARIABLES), *(f"{name}_FILE" for name in sorted(SECRETS)))

ENVIRONMENT_HELP = (
    "environment (also read from ./.env or --env-file; the environment wins):\n"
    + "\n".join(v.help_line() for v in VARIABLES)
    + "\n"
)

# pydantic-settings reads the declared names only, case-sensitively (KAFKA_* and CASEWATCH_* are upper case).
_Environment = create_model(  # type: ignore[call-overload]
    "_Environment",
    __base__=BaseSettings,
    __config__=SettingsConfigDict(case_sensitive=True, extra="ignore"),
    **{name: (str | None, None) for name in _NAMES},
)


# The .env file's every variable, read at start, for `environment_value`.
_DOTENV: dict[str, str] = {}


@dataclass(frozen=True)
class LayeredEnvironment:
    """The variables casewatch reads, each with where its value came from."""

    values: dict[str, str]
    sources: dict[str, str]
    env_file: Path | None = None

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")


def layered_environment(env: Mapping[str, str] | None = None, *, env_file: Path | None = None) -> LayeredEnvironment:
    """The environment (or `env`), over the .env file, with every `NAME_FILE` secret read.

    With `env` given (tests, child processes) only an explicit `env_file` is read, so a stray
    .env in the working directory cannot change what a test sees.
    """
    if env_file is None and env is None and DEFAULT_ENV_FILE.is_file():
        env_file = DEFAULT_ENV_FILE
    dotenv: dict[str, str] = {}
    if env_file is not None:
        if not env_file.is_file():
            raise SettingsError(f"--env-file: no such file: {env_file}")
        every = DotEnvSettingsSource(_Environment, env_file=env_file)()
        dotenv = _known(every)
        if env is None:  # what the configuration file names (`password_env:`) may be in .env too
            _DOTENV.update({name: str(value) for name, value in every.items() if value is not None})
    environ = _known(EnvSettingsSource(_Environment)() if env is None else env)
    values = dotenv | environ
    sources = {name: ".env" for name in dotenv} | {name: "environment" for name in environ}
    for name in sorted(SECRETS):
        path = values.pop(f"{name}_FILE", None)
        if not path:
            continue
        if values.get(name):
            raise SettingsError(f"set {name} or {name}_FILE, not both")
        values[name] = _secret_file(f"{name}_FILE", Path(path))
        sources[name] = f"file {path}"
        if name == "KAFKA_SASL_PASSWORD":  # kept, so child processes are given the file, not the password
            values["KAFKA_SASL_PASSWORD_FILE"] = path
    return LayeredEnvironment(values=values, sources=sources, env_file=env_file)


def _known(found: Mapping[str, object]) -> dict[str, str]:
    return {name: str(value) for name, value in found.items() if name in _NAMES and value is not None}


def _secret_file(variable: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()  # a secret file usually ends in a newline
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8 text"
        raise SettingsError(f"{variable}: cannot read {path} ({reason})") from None


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
    # Alerts, notifications, audit rows and timeline events older than this many days are pruned
    # (`casewatch retention`).
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
    def from_env(cls, env: Mapping[str, str] | None = None, *, env_file: Path | None = None) -> "Settings":
        """The settings from the environment (or `env`), the .env file and the secret files."""
        env = layered_environment(env, env_file=env_file).values
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


def environment_value(name: str, env: Mapping[str, str] | None = None) -> str:
    """A variable the configuration file names, such as a receiver's secret (`password_env:`).

    Read here, so settings stays the one reader of the environment.
    """
    found = os.environ if env is None else env
    value = found.get(name) or _DOTENV.get(name)
    path = found.get(f"{name}_FILE") or _DOTENV.get(f"{name}_FILE")
    if path and value:
        raise SettingsError(f"set {name} or {name}_FILE, not both")
    if path:
        value = _secret_file(f"{name}_FILE", Path(path))
    if not value:
        raise SettingsError(f"{name} is not set, and the configuration file names it")
    register_secret(value)  # from now on scrubbed from every log line (casewatch.redaction)
    return value


def _kafka_security(env: Mapping[str, str]) -> KafkaSecurity:
    """TLS and SASL settings, checked now (files there, SASL complete, the TLS files readable)."""
    # layered_environment read KAFKA_SASL_PASSWORD_FILE; the path is kept for child processes.
    password, password_file = env.get("KAFKA_SASL_PASSWORD") or None, _path(env, "KAFKA_SASL_PASSWORD_FILE")
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
