"""Create casewatch's topics, as declared in streams.topics, on a Kafka cluster."""

import contextlib
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

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
) -> list[str]:
    """Create the missing topics; check that existing ones have the declared partitions.

    With `app_id`, the worker's table changelogs too. Returns the names created. A partition
    count that differs from the declaration is an error: it would break co-partitioning by child.
    """
    specs = topics.specs() + (topics.changelogs(app_id) if app_id is not None else [])
    admin = _admin(bootstrap_servers, timeout)
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


def _admin(bootstrap_servers: str, timeout: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="casewatch-admin")
        except KafkaError as error:
            if time.monotonic() > deadline:
                raise TopicSetupError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from error
            time.sleep(1)


def _check_partitions(admin: KafkaAdminClient, topics: Topics, names: list[str]) -> None:
    for description in admin.describe_topics(names):
        count = len(description["partitions"])
        if count != topics.partitions:
            raise TopicSetupError(
                f"topic {description['topic']} has {count} partitions, but casewatch is set to "
                f"{topics.partitions}: every topic must have the same count (CASEWATCH_PARTITIONS)"
            )
