"""`spoor backup` and `spoor restore`: one tar file with the database and what the data
directory holds that the database does not.

A backup holds:

- the database: SQLite through its online backup API (one step, so one consistent
  snapshot while the live consumer and imports go on writing in WAL mode), PostgreSQL
  through `pg_dump --format=custom` (one transaction, so one snapshot too);
- the live spool's segments: hits acknowledged to trackers but not stored yet. They are
  copied *before* the database snapshot is taken, so every hit acknowledged before the
  backup began is in one or the other; restore puts back the lines the snapshot had not
  stored, and stores them;
- `secret_key`, when the data directory has one (session cookies survive a restore);
- with the ClickHouse event store inside Spoor (chdb, files in the data directory): its
  hits and visits, merged, as ClickHouse Native files. chdb lives in one process, so this
  backup needs the server stopped. The tables of a ClickHouse *server* are not in it: back
  them up with ClickHouse's own BACKUP (docs/scaling.md); the result says so.

Not in it: the downloaded IP files in `ipdb/` (the IP data itself is in the database;
`spoor ipdb update` fetches the files again) and `spool/rejected.jsonl` (hits the store
refused, with their addresses: kept no longer than they must be).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, func, inspect, literal, select, table
from sqlalchemy.engine import URL

from spoor import events
from spoor.db.engine import alembic_config, make_engine, open_database
from spoor.db.schema import hits, spool
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.identify.resolver import LiveResolver
from spoor.ingest.consumer import Consumer
from spoor.ingest.spool import SPOOL_NAME, segment_path, segments
from spoor.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
SECRET_KEY = "secret_key"
SPOOL_MEMBER = re.compile(rf"^spool/{SPOOL_NAME}-\d{{10}}\.jsonl$")
# Debian and Ubuntu keep each PostgreSQL version's tools here, not on PATH.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
CHUNK = 1 << 20
CLICKHOUSE_DIR = "clickhouse"  # members clickhouse/TABLE.native (ClickHouseEventStore.dump)
SERVER_NOT_INCLUDED = (
    "hits and visits are on the ClickHouse server (SPOOR_CLICKHOUSE_URL) and not in this "
    "backup: back them up with ClickHouse's BACKUP (docs/scaling.md)"
)
CHDB_IN_SERVER = (
    "a Spoor server is running on this data directory with the ClickHouse event store "
    "inside it (chdb), which no other process may open: stop it for the backup"
)


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass
class BackupResult:
    path: str
    dialect: str
    revision: str | None
    bytes: int
    spool_lines: int
    secret_key: bool
    seconds: float
    events: str = "sql"  # where hits and visits live: sql, chdb or server (see `event_store`)
    note: str = ""  # what the backup does not hold

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreResult:
    path: str
    dialect: str
    revision: str | None
    hits: int
    replayed: int  # hits from the backup's spool stored by the restore
    secret_key: bool
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --- backup -------------------------------------------------------------------------------


def default_name(now: datetime) -> str:
    return f"spoor-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar"


def backup(settings: Settings, path: Path | None, *, now: datetime) -> BackupResult:
    """Write a backup to `path` (a file, or a directory for the default name)."""
    started = time.perf_counter()
    target = Path(path) if path is not None else Path.cwd()
    if target.is_dir():
        target = target / default_name(now)
    if target.exists():
        raise BackupError(f"{target} exists: choose another name or remove it first")
    target.parent.mkdir(parents=True, exist_ok=True)
    where = event_store(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        dialect = engine.dialect.name
        pg_dump = find_pg_tool("pg_dump") if dialect == "postgresql" else None
        revision = _revision(engine)
        # In the target's directory: the same file system, and private until renamed.
        with (
            tempfile.TemporaryDirectory(dir=target.parent, prefix=".spoor-backup-") as tmp,
            _chdb_alone(settings, where),
        ):
            staging = Path(tmp)
            # The spool before the database: see the module's docstring.
            lines = _copy_spool(settings.data_dir / "spool", staging / "spool")
            if pg_dump is not None:
                member = PG_MEMBER
                _pg_dump(pg_dump, engine.url, staging / member)
            else:
                member = SQLITE_MEMBER
                _sqlite_snapshot(_sqlite_path(engine), staging / member)
            stored_events: dict[str, Any] = {"store": where}
            if where == "chdb":  # after the database, as ingest writes: nothing goes missing
                (staging / CLICKHOUSE_DIR).mkdir()
                stored_events["rows"] = _clickhouse_store(settings).dump(staging / CLICKHOUSE_DIR)
            secret = settings.data_dir / SECRET_KEY
            has_secret = secret.is_file()
            if has_secret:
                shutil.copyfile(secret, staging / SECRET_KEY)
            manifest = {
                "format": FORMAT,
                "spoor": _spoor_version(),
                "created_at": now.isoformat(),
                "dialect": dialect,
                "revision": revision,
                "database": member,
                "events": stored_events,
                "spool_lines": lines,
                "files": {},
            }
            _write_tar(staging, target, manifest)
    finally:
        engine.dispose()
    return BackupResult(
        str(target),
        dialect,
        revision,
        target.stat().st_size,
        lines,
        has_secret,
        time.perf_counter() - started,
        where,
        SERVER_NOT_INCLUDED if where == "server" else "",
    )


def event_store(settings: Settings) -> str:
    """Where hits and visits live: "sql" (the database), "chdb" (ClickHouse inside Spoor,
    in the data directory) or "server" (a ClickHouse server). Opens nothing."""
    opened = events.store_for(settings.sqlalchemy_url)  # one this process registered
    if isinstance(opened, ClickHouseEventStore):
        return "chdb" if opened.embedded else "server"
    if settings.event_store != "clickhouse":
        return "sql"
    return "server" if settings.clickhouse_url else "chdb"


def _clickhouse_store(settings: Settings) -> ClickHouseEventStore:
    store = events.configure(settings)
    assert isinstance(store, ClickHouseEventStore)
    return store


def _chdb_alone(settings: Settings, where: str) -> AbstractContextManager[None]:
    """chdb's files are opened by one process at a time: a server's, or this one's."""
    if where != "chdb":
        return nullcontext()
    return _no_server(settings.data_dir / "spool", CHDB_IN_SERVER)


def _copy_spool(source: Path, dest: Path) -> int:
    """Copy the spool's segments, each up to its last whole line; the lines copied."""
    dest.mkdir(parents=True)
    lines = 0
    for number in segments(source) if source.is_dir() else []:
        try:
            data = segment_path(source, number).read_bytes()
        except FileNotFoundError:  # stored and deleted meanwhile: the snapshot holds it
            continue
        data = data[: data.rfind(b"\n") + 1]  # a line being written was not acknowledged
        if data:
            segment_path(dest, number).write_bytes(data)
            lines += data.count(b"\n")
    return lines


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    path = Path(database)
    if not path.is_file():
        raise BackupError(f"no database at {path}: nothing to back up")
    return path


def _sqlite_snapshot(source: Path, dest: Path) -> None:
    """SQLite's online backup in one step: a consistent snapshot while writers go on."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # all pages in one step, inside one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the tar
    finally:
        dst.close()
        src.close()


def _write_tar(staging: Path, target: Path, manifest: dict[str, Any]) -> None:
    """The tar, written under a temporary name and renamed: never a half backup."""
    members = sorted(p for p in staging.rglob("*") if p.is_file())
    for member in members:
        manifest["files"][member.relative_to(staging).as_posix()] = _sha256(member)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    partial = target.with_name(target.name + ".partial")
    # 0600: it holds password hashes, the session secret and API token digests.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w") as tar:
            tar.add(staging / MANIFEST, MANIFEST)  # first, so a reader finds it at once
            for member in members:
                tar.add(member, member.relative_to(staging).as_posix())
            tar.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# --- restore ------------------------------------------------------------------------------


def restore(settings: Settings, path: Path, *, force: bool = False) -> RestoreResult:
    """Restore a backup into the configured database and data directory.

    Refuses a target that holds data unless `force`, and a data directory a running
    server uses. Then migrates to this version's schema and stores the backup's spool.
    """
    started = time.perf_counter()
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    with tarfile.open(path, "r:*") as tar:
        manifest = _manifest(tar)
        engine = make_engine(settings.sqlalchemy_url)
        try:
            dialect = engine.dialect.name
            if manifest["dialect"] != dialect:
                raise BackupError(
                    f"the backup is of a {manifest['dialect']} database and the target "
                    f"(SPOOR_DATABASE_URL) is {dialect}: restore into a {manifest['dialect']} "
                    "database"
                )
            _check_revision(engine, manifest["revision"])
            where = _check_event_store(settings, manifest)
            pg_restore = find_pg_tool("pg_restore") if dialect == "postgresql" else None
            with _no_server(settings.data_dir / "spool"):
                store = _clickhouse_store(settings) if where == "chdb" else None
                if not force and _holds_data(engine, settings, store):
                    raise BackupError(
                        "the target database or spool already holds data: restore into an "
                        "empty one, or add --force to replace it"
                    )
                with tempfile.TemporaryDirectory(prefix=".spoor-restore-") as tmp:
                    dump = _extract(tar, manifest, manifest["database"], Path(tmp) / "db")
                    engine.dispose()
                    if pg_restore is not None:
                        # --clean also when the schema is there but empty (e.g. migrated).
                        clean = bool(inspect(engine).get_table_names())
                        engine.dispose()
                        _pg_restore(pg_restore, engine.url, dump, clean=clean)
                    else:
                        _sqlite_restore(dump, _sqlite_target(engine))
                    if store is not None:
                        _restore_clickhouse(tar, manifest, store, Path(tmp))
                has_secret = SECRET_KEY in manifest["files"]
                if has_secret:
                    _restore_secret(tar, manifest, settings.data_dir / SECRET_KEY)
        finally:
            engine.dispose()
        # The database's own schema first: the spool is placed from its position.
        engine = open_database(settings)
        try:
            _place_spool(tar, manifest, engine, settings.data_dir / "spool")
            replayed = _store_spool(engine, settings)
            with engine.connect() as conn:
                store_now = events.store_of(conn)
                if isinstance(store_now, ClickHouseEventStore):
                    stored = store_now.counts()[0]
                else:
                    stored = int(conn.execute(select(func.count()).select_from(hits)).scalar_one())
            revision = _revision(engine)
        finally:
            engine.dispose()
    return RestoreResult(
        str(path),
        dialect,
        revision,
        stored,
        replayed,
        has_secret,
        time.perf_counter() - started,
    )


def _manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError("not a Spoor backup: it has no manifest.json")
    manifest: dict[str, Any] = json.load(member)
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"backup format {manifest.get('format')!r} is not one this Spoor reads ({FORMAT})"
        )
    return manifest


def _check_revision(engine: Engine, revision: str | None) -> None:
    if revision is None:
        return
    try:
        known = ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema ({revision}) was made by a newer Spoor: upgrade Spoor first"
        )


def _check_event_store(settings: Settings, manifest: dict[str, Any]) -> str:
    """Where the target keeps hits and visits, which must be where the backup's were (a
    backup from before the manifest said is not checked)."""
    where = event_store(settings)
    made = manifest.get("events", {}).get("store")
    if made is not None and made != where:
        names = {"sql": "in the SQL database (SPOOR_EVENT_STORE=sql)",
                 "chdb": "in ClickHouse inside Spoor (SPOOR_EVENT_STORE=clickhouse, no "
                         "SPOOR_CLICKHOUSE_URL)",
                 "server": "on a ClickHouse server (SPOOR_CLICKHOUSE_URL)"}  # fmt: skip
        raise BackupError(
            f"the backup's hits and visits were {names[made]}; the target keeps them "
            f"{names[where]}: restore with the same event store"
        )
    return where


def _restore_clickhouse(
    tar: tarfile.TarFile, manifest: dict[str, Any], store: ClickHouseEventStore, tmp: Path
) -> None:
    """Replace the store's hits and visits with the backup's."""
    folder = tmp / CLICKHOUSE_DIR
    folder.mkdir()
    for name in store.COLUMNS:
        _extract(tar, manifest, f"{CLICKHOUSE_DIR}/{name}.native", folder / f"{name}.native")
    store.empty()
    store.load(folder)


@contextmanager
def _no_server(
    spool_dir: Path, why: str = "a Spoor server is running on this data directory: stop it first"
) -> Iterator[None]:
    """Hold the live consumer's lock: no server may run on this data directory meanwhile."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    with (spool_dir / "consumer.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(why) from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# Tables a fresh, migrated schema already has rows in (the default deal stages).
SEEDED = {"alembic_version", "deal_stages"}


def _holds_data(engine: Engine, settings: Settings, store: ClickHouseEventStore | None) -> bool:
    """Any row in any table (a freshly migrated, empty schema counts as empty), in the
    ClickHouse event store, or spool lines waiting to be stored."""
    spool_dir = settings.data_dir / "spool"
    if any(segment_path(spool_dir, n).stat().st_size for n in segments(spool_dir)):
        return True
    if store is not None and any(store.counts()):
        return True
    if engine.dialect.name == "sqlite" and not _sqlite_target(engine).exists():
        return False
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            if name in SEEDED:
                continue
            if conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first():
                return True
    return False


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], name: str, dest: Path) -> Path:
    """A member to `dest`, checked against the manifest's SHA-256."""
    expected = manifest["files"].get(name)
    source = tar.extractfile(name) if expected else None
    if source is None:
        raise BackupError(f"the backup lacks {name}: it is incomplete")
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        _copy_hashing(source, out, digest)
    if digest.hexdigest() != expected:
        raise BackupError(f"{name} in the backup is damaged (its SHA-256 does not match)")
    return dest


def _copy_hashing(source: IO[bytes], out: IO[bytes], digest: Any) -> None:
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)


def _sqlite_target(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("cannot restore into an in-memory SQLite database")
    return Path(database)


def _sqlite_restore(snapshot: Path, target: Path) -> None:
    """Through the backup API as well: the target's WAL and locks are SQLite's business,
    so a stale -wal file can never be replayed over the restored pages."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(snapshot)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _restore_secret(tar: tarfile.TarFile, manifest: dict[str, Any], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    _extract(tar, manifest, SECRET_KEY, partial)
    os.replace(partial, dest)


def _place_spool(
    tar: tarfile.TarFile, manifest: dict[str, Any], engine: Engine, spool_dir: Path
) -> None:
    """The backup's spool lines that its database had not stored, where the consumer
    looks for them: from the restored database's spool position on."""
    for old in segments(spool_dir):
        segment_path(spool_dir, old).unlink()
    with engine.connect() as conn:
        row = conn.execute(
            select(spool.c.segment, spool.c.committed).where(spool.c.name == SPOOL_NAME)
        ).first()
    done = (int(row.segment), int(row.committed)) if row else (0, 0)
    for name in manifest["files"]:
        if not SPOOL_MEMBER.match(name):
            continue
        number = int(name.rsplit("-", 1)[1].split(".")[0])
        if number < done[0]:
            continue  # wholly stored before the snapshot
        dest = segment_path(spool_dir, number)
        _extract(tar, manifest, name, dest)
        if number == done[0] and dest.stat().st_size < done[1]:
            dest.unlink()  # the snapshot stored lines written after this copy: all of it


def _store_spool(engine: Engine, settings: Settings) -> int:
    """Store the placed spool lines now, as the live consumer would at a server's start."""
    spool_dir = settings.data_dir / "spool"
    if not segments(spool_dir):
        return 0
    consumer = Consumer(engine, settings, LiveResolver(engine), interval=0.05)
    consumer.run(lambda: True)
    return consumer.stored


# --- PostgreSQL's tools -------------------------------------------------------------------


def find_pg_tool(name: str) -> Path:
    """`name` on PATH, else the newest under /usr/lib/postgresql/*/bin (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = [Path(d) / name for d in glob.glob(PG_BIN_GLOB)]
    candidates = [c for c in candidates if os.access(c, os.X_OK)]
    if candidates:
        return max(candidates, key=lambda c: _version_key(c.parent.parent.name))
    raise BackupError(
        f"{name} was not found on PATH or under {PG_BIN_GLOB}: install the PostgreSQL client "
        f"tools of your server's version or newer (Debian: apt-get install postgresql-client)"
    )


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)) or (0,)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment that holds it
    (a password on the command line would show in `ps`)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def _run_pg(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip()[-2000:] or f"exit status {done.returncode}"
        hint = ""
        if "version mismatch" in detail:
            hint = " (use the tools of the server's PostgreSQL version or newer: put them on PATH)"
        raise BackupError(f"{what} failed: {detail}{hint}")


def _pg_dump(tool: Path, url: URL, dest: Path) -> None:
    uri, env = _libpq(url)
    args = [str(tool), "--format=custom", "--no-owner", "--no-privileges"]
    _run_pg([*args, f"--file={dest}", f"--dbname={uri}"], env, "pg_dump")


def _pg_restore(tool: Path, url: URL, dump: Path, *, clean: bool) -> None:
    uri, env = _libpq(url)
    args = [str(tool), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run_pg([*args, f"--dbname={uri}", str(dump)], env, "pg_restore")


# --- small things -------------------------------------------------------------------------


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _spoor_version() -> str:
    try:
        return version("spoor")
    except PackageNotFoundError:
        return "unknown"
