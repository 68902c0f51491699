"""Create casewatch's topics, as declared in streams.topics, on a Kafka cluster."""

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import AuthorizationError, KafkaError, SaslAuthenticationFailedError, TopicAlreadyExistsError

from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import Topics

# Seconds of one attempt to reach a first broker (kafka-python's bootstrap_timeout_ms).
ATTEMPT_SECONDS = 3.0


class TopicSetupError(RuntimeError):
    """A topic exists with the wrong shape, or the cluster refused to create one."""


def ensure_topics(
    bootstrap_servers: str,
    topics: Topics,
    *,
    replication_factor: int = 1,
    timeout: float = 60.0,
    app_id: str | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> list[str]:
    """Create the missing topics; check that existing ones have the declared partitions.

    With `app_id`, the worker's table changelogs too. Returns the names created. A partition
    count that differs from the declaration is an error: it would break co-partitioning by child.
    """
    specs = topics.specs() + (topics.changelogs(app_id) if app_id is not None else [])
    admin = _admin(bootstrap_servers, timeout, security)
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            # Another worker may create them at the same moment: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.config) for s in missing]
                )
        _check_partitions(admin, topics, [s.name for s in specs])
        return [s.name for s in missing]
    finally:
        admin.close()


def _admin(bootstrap_servers: str, timeout: float, security: KafkaSecurity = PLAINTEXT) -> KafkaAdminClient:
    """An admin client, trying for `timeout` seconds; one clear error when Kafka cannot be used.

    kafka-python logs every failed attempt and takes a refused SASL sign-in for an unreachable
    broker (it would retry for the whole timeout): the attempts' log lines are watched
    instead of shown, and a refused sign-in ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    with _watched_kafka_log() as watch:
        while True:
            try:
                # kafka-python waits 30 s for a first broker, and through a refused sign-in too: short
                # attempts let the watch below see a refusal after one of them, and keep the deadline.
                attempt_ms = int(min(ATTEMPT_SECONDS, max(deadline - time.monotonic(), 1.0)) * 1000)
                return KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="casewatch-admin",
                                        bootstrap_timeout_ms=attempt_ms, **security.client_options())  # fmt: skip
            except KafkaError as error:
                if watch.refused is not None:
                    raise TopicSetupError(
                        f"Kafka at {bootstrap_servers} refused the sign-in ({watch.refused}): check "
                        "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM"
                    ) from error
                if time.monotonic() + 0.5 > deadline:
                    raise TopicSetupError(f"cannot reach Kafka at {bootstrap_servers} after {timeout:g} s") from error
                time.sleep(0.5)


class _SignInWatch(logging.Handler):
    """Keeps kafka-python's log records to itself, noting a refused sign-in among them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.refused: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, SaslAuthenticationFailedError | AuthorizationError):
                self.refused = str(arg).removeprefix(f"{type(arg).__name__}: ").strip() or "no reason given"


@contextlib.contextmanager
def _watched_kafka_log() -> Iterator[_SignInWatch]:
    logger = logging.getLogger("kafka")
    watch = _SignInWatch()
    propagate, level = logger.propagate, logger.level
    logger.addHandler(watch)
    logger.propagate = False
    logger.setLevel(logging.ERROR)  # a refused sign-in is logged as an error; retries below that are noise
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.propagate, logger.level = propagate, level


def _check_partitions(
    admin: KafkaAdminClient, topics: Topics, names: list[str] | None = None, *, timeout: float = 30.0
) -> None:
    """Every topic has the declared partitions. A topic created a moment ago may not be in
    the cluster's metadata yet (an error code, or no partitions): ask again until it is, for
    at most `timeout` seconds. kafka-python 3 names a topic `name` where 2.x said `topic`."""
    names = names if names is not None else [s.name for s in topics.specs()]
    deadline = time.monotonic() + timeout
    while True:
        descriptions = admin.describe_topics(names)
        ready = [d for d in descriptions if _described(d)]
        if len(ready) == len(names):
            break
        if time.monotonic() > deadline:
            missing = sorted(set(names) - {_name(d) for d in ready})
            raise TopicSetupError(f"Kafka did not describe the topics {', '.join(missing)} within {timeout:g}s")
        time.sleep(0.25)
    for description in ready:
        count = len(description["partitions"])
        if count != topics.partitions:
            raise TopicSetupError(
                f"topic {_name(description)} has {count} partitions, but casewatch is set to "
                f"{topics.partitions}: every topic must have the same count (CASEWATCH_PARTITIONS)"
            )


def _described(description: dict[str, Any]) -> bool:
    return description.get("error_code", 0) == 0 and bool(_name(description)) and bool(description.get("partitions"))


def _name(description: dict[str, Any]) -> str:
    return str(description.get("topic") or description.get("name") or "")
