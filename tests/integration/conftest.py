from pathlib import Path

import pytest

from streams.admin import ensure_topics
from tests.integration.support import Deployment


@pytest.fixture
def deployment(kafka_bootstrap: str, tmp_path: Path) -> Deployment:
    """A fresh deployment (own topics, consumer group, database) on the session's broker."""
    created = Deployment.create(kafka_bootstrap, tmp_path)
    ensure_topics(kafka_bootstrap, created.settings.topics)
    return created


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)
