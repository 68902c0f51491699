"""How every casewatch Kafka client encrypts and authenticates: TLS and SASL, in one place.

casewatch.settings reads the KAFKA_SECURITY_PROTOCOL and KAFKA_SSL_* / KAFKA_SASL_* variables
into a KafkaSecurity; each client takes its arguments from it: `client_options()` for
kafka-python and aiokafka (the two take the same keyword names), `faust_credentials()` for
the worker's Faust app. The default, PLAINTEXT, adds nothing, as the local demo and tests need.

One SSL context serves every client: the council's CA (or the system's trust store when no
CA file is given), the client certificate if the cluster asks for one, and the broker's host
name checked against its certificate.
"""

import ssl
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSecurityError(ValueError):
    """The security settings cannot work together; the message names the variable to fix."""


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL settings, checked when made: a KafkaSecurityError lists every problem."""

    protocol: str = "PLAINTEXT"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    key_password: str | None = field(default=None, repr=False)
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # Where the password was read from, so child processes are given the file, not the value.
    password_file: Path | None = None

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:  # all of them at once: one restart fixes them all
            raise KafkaSecurityError("; ".join(problems))

    def _problems(self) -> list[str]:
        if self.protocol not in PROTOCOLS:
            return [f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}"]
        problems: list[str] = []
        if self.uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                shown = "not set" if self.sasl_mechanism is None else f"{self.sasl_mechanism!r}"
                problems.append(f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)} with "
                                f"{self.protocol}; it is {shown}")  # fmt: skip
            if not self.username:
                problems.append(f"KAFKA_SASL_USERNAME is needed with KAFKA_SECURITY_PROTOCOL={self.protocol}")
            if not self.password:
                problems.append(f"KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) is needed with "
                                f"KAFKA_SECURITY_PROTOCOL={self.protocol}")  # fmt: skip
        elif self.sasl_mechanism or self.username or self.password:
            problems.append(f"KAFKA_SASL_* settings are given but KAFKA_SECURITY_PROTOCOL is {self.protocol}: "
                            "set SASL_SSL (or SASL_PLAINTEXT) to use them")  # fmt: skip
        files = {"KAFKA_SSL_CA_FILE": self.ca_file, "KAFKA_SSL_CERT_FILE": self.cert_file,
                 "KAFKA_SSL_KEY_FILE": self.key_file}  # fmt: skip
        given = {name: path for name, path in files.items() if path is not None}
        if given and not self.uses_tls:
            problems.append(f"{', '.join(given)} given but KAFKA_SECURITY_PROTOCOL is {self.protocol}: "
                            "set SSL or SASL_SSL to use them")  # fmt: skip
        if self.key_file is not None and self.cert_file is None:
            problems.append("KAFKA_SSL_KEY_FILE is given without KAFKA_SSL_CERT_FILE (the client certificate)")
        problems += [f"{name}: no file {path}" for name, path in given.items() if not path.is_file()]
        return problems

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context every client shares (None without TLS); unreadable files are a KafkaSecurityError."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (ssl.SSLError, OSError) as error:
            raise KafkaSecurityError(
                f"KAFKA_SSL_CA_FILE {self.ca_file} holds no usable CA certificate: {_reason(error)}"
            ) from None
        if self.cert_file is not None:
            try:
                key = str(self.key_file) if self.key_file else None
                context.load_cert_chain(str(self.cert_file), key, password=self.key_password)
            except (ssl.SSLError, OSError) as error:
                raise KafkaSecurityError(
                    "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are not a PEM certificate and its key"
                    f"{' (or KAFKA_SSL_KEY_PASSWORD is wrong)' if self.key_password else ''}: {_reason(error)}"
                ) from None
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for a kafka-python or aiokafka client (producer, consumer, admin)."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context
        if self.uses_sasl:
            options.update(
                sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.username, sasl_plain_password=self.password
            )
        return options

    def faust_credentials(self) -> Any:
        """Faust's `broker_credentials` (None for PLAINTEXT): Faust passes them to each of its aiokafka clients."""
        import faust  # here: the CLI's other commands do not load Faust

        if self.uses_sasl:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context,
                mechanism=self.sasl_mechanism,
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context)
        return None

    def environment(self) -> dict[str, str]:
        """The variables that give these settings again (for child processes); the inverse of settings' reading."""
        values = {
            "KAFKA_SECURITY_PROTOCOL": self.protocol,
            "KAFKA_SSL_CA_FILE": self.ca_file,
            "KAFKA_SSL_CERT_FILE": self.cert_file,
            "KAFKA_SSL_KEY_FILE": self.key_file,
            "KAFKA_SSL_KEY_PASSWORD": self.key_password,
            "KAFKA_SASL_MECHANISM": self.sasl_mechanism,
            "KAFKA_SASL_USERNAME": self.username,
            "KAFKA_SASL_PASSWORD_FILE": self.password_file,
            "KAFKA_SASL_PASSWORD": None if self.password_file else self.password,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


PLAINTEXT = KafkaSecurity()


def _reason(error: OSError) -> str:
    return str(error.strerror or error)
