"""Alembic environment: runs against the engine Spoor hands over (see db/engine.py)."""

from alembic import context

from spoor.db.engine import make_engine
from spoor.db.schema import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
