"""Create casewatch's topics, as declared in streams.topics, on a Kafka cluster."""

import contextlib
import time
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import Topics


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
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap_servers, client_id="casewatch-admin", **security.client_options()
            )
        except KafkaError as error:
            if time.monotonic() > deadline:
                raise TopicSetupError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from error
            time.sleep(1)


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
