"""Alembic's entry point: migrate the connection `reciprocal` hands over, or (for the `alembic`
command line) the database named by `-x db=URL`, else `$RECIPROCAL_DATABASE_URL`, else
./reciprocal.db, just as `reciprocal --db` resolves it."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from reciprocal.storage import Database, resolve_url

config = context.config
target_metadata = SQLModel.metadata


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    # `reciprocal init` / `reciprocal db upgrade`: the caller holds the write lock and commits.
    run(connection)
elif context.is_offline_mode():
    context.configure(url=resolve_url(context.get_x_argument(as_dictionary=True).get("db")),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    database = Database(resolve_url(context.get_x_argument(as_dictionary=True).get("db")))
    with database.engine.connect() as conn:
        run(conn)
        conn.commit()
