"""casewatch.http.signed_out: sessions signed out before they expire, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from casewatch.http.signed_out import is_signed_out, record_sign_out, signed_out_sessions
from casewatch.storage import connect

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def rows(url: str) -> int:
    with connect(url).connect() as connection:
        return int(connection.execute(select(func.count()).select_from(signed_out_sessions)).scalar_one())


def test_a_signed_out_session_is_known_until_it_would_have_expired_and_then_forgotten(database_url: str) -> None:
    engine = connect(database_url)
    record_sign_out(engine, nonce="a" * 32, expires_at=NOW + timedelta(hours=8), now=NOW)
    record_sign_out(engine, nonce="a" * 32, expires_at=NOW + timedelta(hours=8), now=NOW)  # two tabs: once
    assert is_signed_out(engine, "a" * 32) and not is_signed_out(engine, "b" * 32)
    assert rows(database_url) == 1
    record_sign_out(engine, nonce="b" * 32, expires_at=NOW - timedelta(seconds=1), now=NOW)  # expired already
    assert not is_signed_out(engine, "b" * 32)  # the cookie is refused for its expiry; no row needed
    later = NOW + timedelta(hours=9)  # past the first session's expiry: the next sign-out clears it
    record_sign_out(engine, nonce="c" * 32, expires_at=later + timedelta(hours=8), now=later)
    assert not is_signed_out(engine, "a" * 32) and is_signed_out(engine, "c" * 32)
    assert rows(database_url) == 1
    engine.dispose()
