"""Alembic environment for the desk journal; always run with a connection passed in."""

from alembic import context

from app.models.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run journal migrations through app.models.db.migrate()")

# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table.
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=True
)
with context.begin_transaction():
    context.run_migrations()
