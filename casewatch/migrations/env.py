"""Alembic's entry point: migrations always run on the connection `upgrade_to_head` opened."""

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("casewatch migrations run through casewatch.storage.connect(), which passes a connection")
# Batch mode lets later migrations alter tables on SQLite (which has little ALTER TABLE).
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
