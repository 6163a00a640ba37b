from sqlalchemy import Engine, inspect

from spoor.db.engine import is_current, make_engine, open_database
from spoor.db.schema import metadata
from spoor.settings import Settings


def test_migrations_create_the_whole_schema(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert is_current(engine)


def test_open_database_migrates_on_first_use(settings: Settings) -> None:
    engine = open_database(settings)
    try:
        assert is_current(engine)
        # A second open finds the schema current and changes nothing.
        assert is_current(open_database(settings))
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
