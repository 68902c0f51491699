"""Page sessions signed out before they expire: a copy of the cookie stops working at sign-out.

The session cookie is signed, not stored (casewatch/http/sessions.py), so deleting it from
the browser that signs out left any copy of it (a shared computer's profile, a proxy's
log) opening the page until it expired. Sign-out now records the session's nonce with its
expiry, and every page request of a session asks whether it has been signed out. Each
sign-out also deletes the rows already past their expiry, so the table holds no more than
the sessions signed out within one session lifetime. Every `casewatch serve` replica reads
the same database, so a sign-out on one holds on all. The table is Alembic's revision 0006;
it holds a random nonce and a time, nothing about the person.
"""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Index, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from casewatch.storage import metadata, reading

signed_out_sessions = Table(
    "signed_out_sessions",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # the cookie's own expiry
    Index("ix_signed_out_sessions_expires_at", "expires_at"),
)


def record_sign_out(engine: Engine, *, nonce: str, expires_at: datetime, now: datetime | None = None) -> None:
    """This session is over, whatever copies of its cookie exist; and forget those expired anyway."""
    now = now or datetime.now(UTC)
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(signed_out_sessions)
    with engine.begin() as connection:
        connection.execute(delete(signed_out_sessions).where(signed_out_sessions.c.expires_at <= now))
        if expires_at > now:  # a session already expired is refused without a row
            statement = insert.values(nonce=nonce, expires_at=expires_at).on_conflict_do_nothing(
                index_elements=["nonce"]
            )  # signed out twice (two tabs): once is enough
            connection.execute(statement)


def is_signed_out(engine: Engine, nonce: str) -> bool:
    query = select(signed_out_sessions.c.nonce).where(signed_out_sessions.c.nonce == nonce)
    with reading(engine) as connection:
        return connection.execute(query).first() is not None


class SignedOut:
    """The two questions the page asks, off the event loop (a database round trip each)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def record(self, nonce: str, expires_at: datetime) -> None:
        await asyncio.to_thread(record_sign_out, self.engine, nonce=nonce, expires_at=expires_at)

    async def contains(self, nonce: str) -> bool:
        return await asyncio.to_thread(is_signed_out, self.engine, nonce)
