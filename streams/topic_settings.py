"""Keep existing topics' retention and clean-up settings in line with streams.topics.

Topics are created with their settings (streams.admin.ensure_topics), but a topic made
earlier, by another tool or by an older casewatch keeps whatever it had: a dead-letter
topic kept for ever, or an input topic compacted so that nothing ages out. `casewatch
topics` runs this after creating what is missing and prints what it changed.
"""

from dataclasses import dataclass

from kafka.admin import ConfigResource

from streams.admin import TopicSetupError, _admin
from streams.kafka_security import PLAINTEXT, KafkaSecurity
from streams.topics import Topics


@dataclass(frozen=True)
class ConfigChange:
    """One setting of an existing topic brought in line with its declaration."""

    topic: str
    key: str
    was: str | None
    now: str


def align_topic_configs(
    bootstrap_servers: str, topics: Topics, *, timeout: float = 60.0, security: KafkaSecurity = PLAINTEXT
) -> list[ConfigChange]:
    """Set each existing topic's declared settings (retention.ms, cleanup.policy) where they differ.

    Only the declared keys are touched (an incremental alter: other settings stay as they
    are). Returns what was changed.
    """
    admin = _admin(bootstrap_servers, timeout, security)  # the same wait for the cluster as ensure_topics
    try:
        existing = set(admin.list_topics())
        specs = [spec for spec in topics.specs() if spec.name in existing]
        if not specs:
            return []
        described = admin.describe_configs(
            [ConfigResource("TOPIC", s.name, list(s.config)) for s in specs], config_filter="all"
        )["topic"]
        changes = [
            ConfigChange(spec.name, key, (described[spec.name].get(key) or {}).get("value"), wanted)
            for spec in specs
            for key, wanted in spec.config.items()
            if (described[spec.name].get(key) or {}).get("value") != wanted
        ]
        if changes:
            by_topic: dict[str, dict[str, str]] = {}
            for change in changes:
                by_topic.setdefault(change.topic, {})[change.key] = change.now
            answers = admin.alter_configs(
                [ConfigResource("TOPIC", name, configs) for name, configs in by_topic.items()], incremental=True
            )["topic"]
            refused = {name: answer for name, answer in answers.items() if answer != "OK"}
            if refused:
                raise TopicSetupError(f"the cluster refused to change topic settings: {refused}")
        return changes
    finally:
        admin.close()
