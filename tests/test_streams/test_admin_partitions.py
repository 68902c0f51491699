"""_check_partitions on the answers a broker gives just after creating a topic (issue 14, 10b)."""

from typing import Any

import pytest

from streams.admin import TopicSetupError, _check_partitions
from streams.topics import Topics

TOPICS = Topics(prefix="cw", partitions=3)


class Answers:
    """describe_topics answering from a script: the metadata a broker has at each call."""

    def __init__(self, *rounds: list[dict[str, Any]]) -> None:
        self.rounds = list(rounds)
        self.calls = 0

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.calls += 1
        return self.rounds[min(self.calls, len(self.rounds)) - 1]


def described(partitions: int, key: str = "name") -> list[dict[str, Any]]:
    return [{"error_code": 0, key: s.name, "partitions": [{}] * partitions} for s in TOPICS.specs()]


@pytest.mark.parametrize("key", ["name", "topic"])  # kafka-python 3 and 2
def test_a_topic_not_yet_in_the_metadata_is_asked_about_again(key: str) -> None:
    not_yet = [{"error_code": 3, key: s.name, "partitions": []} for s in TOPICS.specs()]
    admin = Answers(not_yet, described(3, key))
    _check_partitions(admin, TOPICS, timeout=5)  # type: ignore[arg-type]
    assert admin.calls == 2


def test_a_wrong_partition_count_is_still_an_error() -> None:
    with pytest.raises(TopicSetupError, match="has 2 partitions, but casewatch is set to 3"):
        _check_partitions(Answers(described(2)), TOPICS, timeout=5)  # type: ignore[arg-type]


def test_metadata_that_never_comes_is_an_error_in_bounded_time() -> None:
    with pytest.raises(TopicSetupError, match="did not describe the topics"):
        _check_partitions(Answers([]), TOPICS, timeout=0.5)  # type: ignore[arg-type]
