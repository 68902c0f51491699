"""The databases storage and delivery tests run on: SQLite always, PostgreSQL when
CASEWATCH_TEST_POSTGRES_URL names a server (`.ci/postgres` starts Debian's and prints it).

Each test gets a fresh database: a new SQLite file, or a new schema on the PostgreSQL
server, dropped afterwards. The PostgreSQL URL carries the schema as its search_path, so
a `casewatch` subprocess given the URL works in it too. Without the variable the
PostgreSQL variants skip, saying so; under CI=true they fail instead, so CI cannot pass
on SQLite alone by accident.
"""

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

POSTGRES_ENV = "CASEWATCH_TEST_POSTGRES_URL"
_used: Counter[str] = Counter()
_servers: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        _used["sqlite"] += 1
        yield f"sqlite:///{tmp_path / 'casewatch.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is unset under CI=true: .ci/run must start PostgreSQL and export it")
        pytest.skip(f"{POSTGRES_ENV} is unset, so there is no PostgreSQL server to test on (.ci/postgres starts one)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base)
        _servers.add(f"PostgreSQL {version} at {url.host}:{url.port or 5432}/{url.database}")
        _used["postgresql"] += 1
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def database_summary() -> list[str]:
    if not _used:
        return []
    lines = [f"databases: SQLite for {_used['sqlite']} tests"]
    if _used["postgresql"]:
        lines.append(f"databases: {', '.join(sorted(_servers))} for {_used['postgresql']} tests")
    else:
        lines.append(f"databases: no PostgreSQL ({POSTGRES_ENV} unset): its variants did not run")
    return lines
