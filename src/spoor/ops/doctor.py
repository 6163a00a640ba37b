"""`spoor doctor`: is this installation fit to run, and if not, what to do about it.

Each check says ok, warn or fail, what it found, and the fix. The doctor only reads: it
never creates or migrates the database (it has to be able to say the schema is behind).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from spoor import events
from spoor.db.engine import alembic_config, make_engine
from spoor.db.schema import channels, imports, ip_sources, sites, spool, users
from spoor.events.clickhouse import (
    Chdb,
    ClickHouseEventStore,
    Http,
    Transport,
    chdb_path,
    database_of,
    literal,
)
from spoor.ingest.spool import SPOOL_NAME, complete_lines
from spoor.ops.backup import BackupError, event_store, find_pg_tool
from spoor.settings import Settings, SettingsError, load

Status = Literal["ok", "warn", "fail"]
GiB = 1 << 30
DISK_FAIL_BYTES = GiB // 4  # below this the spool soon refuses hits (503)
DISK_WARN_BYTES = 2 * GiB
IP_DATA_WARN_DAYS = 45  # the free datasets are released monthly
BACKLOG_WARN = 10_000
STALE_IMPORT_SECONDS = 3600


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, message: str) -> Check:
    return Check(name, "ok", message)


def examine(environ: Mapping[str, str] | None = None, *, now: float | None = None) -> list[Check]:
    """Every check, in the order a person would fix them."""
    now = time.time() if now is None else now
    try:
        settings = load(environ)
    except SettingsError as exc:
        return [Check("settings", "fail", str(exc), "Correct the settings named above.")]
    checks = [
        ok("settings", "every setting is valid"),
        check_data_dir(settings),
        check_disk(settings),
        check_secret_key(settings),
        check_public_url(settings),
    ]
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None and not sqlite_file.is_file():
        # Connecting would create an empty file: say what is missing instead.
        checks.append(
            Check(
                "database",
                "fail",
                f"no database at {sqlite_file}",
                "Create it with `spoor db upgrade`, or restore a backup with `spoor restore`.",
            )
        )
        return checks
    engine = make_engine(settings.sqlalchemy_url)
    try:
        reachable = check_database(engine)
        checks.append(reachable)
        if reachable.status != "fail":
            checks.append(check_migrations(engine))
            checks.extend(_guarded(check, engine, settings, now) for check in DATABASE_CHECKS)
    finally:
        engine.dispose()
    checks.append(check_event_store(settings))
    checks.append(check_backup_tools(settings))
    return checks


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" for c in checks)


# --- without the database -----------------------------------------------------------------


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    if not path.exists():
        return Check(
            "data directory",
            "warn",
            f"{path} does not exist yet",
            "It is made on first use; or create it: mkdir -p " + str(path),
        )
    if not os.access(path, os.W_OK | os.X_OK):
        return Check(
            "data directory",
            "fail",
            f"{path} is not writable by this user",
            f"Run Spoor as the directory's owner, or: chown -R $(id -un) {path}",
        )
    return ok("data directory", f"{path.resolve()} is writable")


def check_disk(settings: Settings) -> Check:
    path = _existing(settings.data_dir)
    usage = shutil.disk_usage(path)
    free = usage.free
    share = free / usage.total if usage.total else 0.0
    found = f"{free / GiB:.1f} GiB free ({share:.0%}) on the data directory's file system"
    fix = "Free space, move SPOOR_DATA_DIR to a larger disk, or shorten data retention."
    if free < DISK_FAIL_BYTES:
        return Check("disk space", "fail", found + ": the spool will soon refuse hits", fix)
    if free < DISK_WARN_BYTES or share < 0.05:
        return Check("disk space", "warn", found, fix)
    return ok("disk space", found)


def check_secret_key(settings: Settings) -> Check:
    if settings.secret_key:
        return ok("secret key", "from SPOOR_SECRET_KEY")
    path = settings.data_dir / "secret_key"
    if not path.exists():
        return ok("secret key", f"{path} is made at the first `spoor serve`")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check(
            "secret key",
            "fail",
            f"{path} is readable by other users (mode {mode:04o}): they could forge sessions",
            f"chmod 600 {path}",
        )
    if len(path.read_text().strip()) < 32:
        return Check(
            "secret key",
            "fail",
            f"{path} holds fewer than 32 characters",
            f"Remove {path} (a new one is made; everyone signs in again) or set SPOOR_SECRET_KEY.",
        )
    return ok("secret key", f"{path} (mode {mode:04o})")


def check_public_url(settings: Settings) -> Check:
    url = settings.public_url
    host = urlsplit(url).hostname or ""
    if url.startswith("https://") or _loopback(host):
        return ok("public address", url)
    return Check(
        "public address",
        "warn",
        f"{url} is not https: sign-in and session cookies travel unencrypted",
        "Serve Spoor behind a TLS proxy (docs/deploy.md) and set SPOOR_PUBLIC_URL=https://...",
    )


def check_event_store(settings: Settings) -> Check:
    """With hits and visits in ClickHouse: it answers and holds Spoor's tables. Creates
    nothing: Spoor makes the tables when it opens the store (`spoor serve`)."""
    where = event_store(settings)
    if where == "sql":
        return ok("event store", "hits and visits are in the database")
    opened = events.store_for(settings.sqlalchemy_url)  # one this process opened already
    transport: Transport
    if isinstance(opened, ClickHouseEventStore):
        transport, database, name = opened.transport, opened.db, "ClickHouse"
    elif where == "server":
        url = urlsplit(settings.clickhouse_url)
        name = f"the ClickHouse server at {url.hostname}:{url.port or 8123}"
        transport, database = Http(settings.clickhouse_url, timeout=10), database_of(url.geturl())
    else:
        path = chdb_path(settings)
        if server_running(settings.data_dir / "spool"):
            return ok("event store", f"ClickHouse inside the running server (chdb) at {path}")
        if not path.is_dir():
            return Check("event store", "warn", f"no ClickHouse data at {path} yet",
                         "`spoor serve` makes it at its first start.")  # fmt: skip
        try:
            transport, database, name = Chdb(path), "spoor", f"ClickHouse (chdb) at {path}"
        except ImportError:
            return Check("event store", "fail", "SPOOR_EVENT_STORE=clickhouse needs chdb, "
                         "which is not installed", "pip install 'spoor[clickhouse]'")  # fmt: skip
    try:
        started = time.perf_counter()
        ((version,),) = transport.query("SELECT version()")
        ms = (time.perf_counter() - started) * 1000
        tables = {r[0] for r in transport.query(
            f"SELECT name FROM system.tables WHERE database = {literal(database)}")}  # fmt: skip
    except Exception as exc:  # the transport's own words, whatever failed
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Check("event store", "fail", f"{name} does not answer: {reason}",
                     "Start the ClickHouse server, or correct SPOOR_CLICKHOUSE_URL (host, "
                     "port, user, password, ?database=).")  # fmt: skip
    missing = sorted({"hits", "visits"} - tables)
    if missing:
        return Check("event store", "fail",
                     f"{name} answers, but database {database} lacks {', '.join(missing)}",
                     "`spoor serve` creates them at start: check that the ClickHouse user may "
                     f"create tables in {database}.")  # fmt: skip
    return ok("event store", f"{name} answers ({ms:.0f} ms, version {version}); "
              f"{database}.hits and {database}.visits are there")  # fmt: skip


def check_backup_tools(settings: Settings) -> Check:
    if not settings.sqlalchemy_url.startswith("postgresql"):
        return ok("backup tools", "SQLite is backed up by Spoor itself")
    try:
        return ok("backup tools", f"pg_dump at {find_pg_tool('pg_dump')}")
    except BackupError as exc:
        return Check("backup tools", "warn", str(exc), "apt-get install postgresql-client")


# --- the database -------------------------------------------------------------------------


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.sqlalchemy_url)
    return Path(url.database or "") if url.get_backend_name() == "sqlite" else None


def check_database(engine: Engine) -> Check:
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        ms = (time.perf_counter() - started) * 1000
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's own words, without SQL
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return Check(
            "database",
            "fail",
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {reason}",
            "Start the database server, or correct SPOOR_DATABASE_URL (host, port, user, "
            "password, database name).",
        )
    return ok("database", f"{engine.dialect.name} answers ({ms:.0f} ms)")


def check_migrations(engine: Engine) -> Check:
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return ok("migrations", f"the schema is at the latest revision ({head})")
    if current is None:
        return Check(
            "migrations", "fail", "the database has no Spoor schema", "Run `spoor db upgrade`."
        )
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        return Check(
            "migrations",
            "fail",
            f"the schema ({current}) was made by a newer Spoor than this one",
            "Upgrade Spoor to the version that migrated this database.",
        )
    return Check(
        "migrations",
        "fail",
        f"the schema is at {current}, behind the latest ({head})",
        "Run `spoor db upgrade` (also done at the next start of `spoor serve`).",
    )


DatabaseCheck = Callable[[Connection, Settings, float], Check]


def _guarded(check: DatabaseCheck, engine: Engine, settings: Settings, now: float) -> Check:
    name = check.__name__.removeprefix("check_").replace("_", " ")
    try:
        with engine.connect() as conn:
            return check(conn, settings, now)
    except SQLAlchemyError as exc:  # e.g. a schema far behind: that check says so already
        first = str(exc).strip().splitlines()[0]
        return Check(name, "warn", f"could not be checked: {first}", "Run `spoor db upgrade`.")


def check_ip_data(conn: Connection, settings: Settings, now: float) -> Check:
    rows = conn.execute(select(ip_sources.c.name, ip_sources.c.imported_at)).all()
    if not rows:
        return Check(
            "ip data",
            "fail",
            "no IP data: visits cannot be tied to organizations",
            "Run `spoor ipdb update` (or `spoor ipdb import FILE` for a dataset you have).",
        )
    newest = max(int(r.imported_at) for r in rows)
    days = (now - newest) / 86400
    found = f"{len(rows)} sources, the newest imported {days:.0f} days ago"
    if days > IP_DATA_WARN_DAYS:
        return Check(
            "ip data",
            "warn",
            found + ": networks change hands, identification gets worse",
            "Run `spoor ipdb update` (monthly, e.g. from a systemd timer; docs/deploy.md).",
        )
    return ok("ip data", found)


def check_sites_and_users(conn: Connection, settings: Settings, now: float) -> Check:
    site_count = conn.execute(select(func.count()).select_from(sites)).scalar_one()
    admins = conn.execute(
        select(func.count()).select_from(users).where(users.c.role == "admin")
    ).scalar_one()
    if not site_count:
        return Check(
            "sites and users", "warn", "no site yet", "Run `spoor site add www.example.com`."
        )
    if not admins:
        return Check(
            "sites and users",
            "warn",
            "no admin can sign in",
            "Run `spoor user add you@example.com --role admin`.",
        )
    return ok("sites and users", f"{site_count} sites, {admins} admins")


def check_spool(conn: Connection, settings: Settings, now: float) -> Check:
    spool_dir = settings.data_dir / "spool"
    row = conn.execute(
        select(spool.c.segment, spool.c.committed).where(spool.c.name == SPOOL_NAME)
    ).first()
    done = (int(row.segment), int(row.committed)) if row else (0, 0)
    waiting = complete_lines(spool_dir, done, 1 << 62) if spool_dir.is_dir() else 0
    rejected = spool_dir / "rejected.jsonl"
    set_aside = rejected.read_bytes().count(b"\n") if rejected.exists() else 0
    running = server_running(spool_dir)
    found = f"{waiting} hits wait to be stored" + (
        " by the running server" if running else " (no server is running)"
    )
    if set_aside:
        return Check(
            "spool",
            "warn",
            f"{found}; {set_aside} hits the database refused are in {rejected}",
            "Look at the consumer's log lines for why; the file can be removed once read.",
        )
    if waiting and not running:
        return Check("spool", "warn", found, "Start `spoor serve`: it stores them first.")
    if waiting > BACKLOG_WARN:
        return Check(
            "spool",
            "warn",
            found + ": the consumer is falling behind",
            "Check the database's speed and the consumer's log lines; /metrics shows the trend.",
        )
    return ok("spool", found)


def check_imports(conn: Connection, settings: Settings, now: float) -> Check:
    stalled = conn.execute(
        select(imports.c.name, imports.c.lines_done).where(
            imports.c.complete.is_(False), imports.c.updated_at < now - STALE_IMPORT_SECONDS
        )
    ).all()
    if stalled:
        names = ", ".join(f"{r.name} (line {r.lines_done})" for r in stalled[:3])
        return Check(
            "imports",
            "warn",
            f"{len(stalled)} imports stopped part way: {names}",
            "Run the same `spoor import` again: it continues where it stopped.",
        )
    return ok("imports", "no import stopped part way")


def check_alerts(conn: Connection, settings: Settings, now: float) -> Check:
    rows = conn.execute(select(channels.c.name, channels.c.kind, channels.c.enabled)).all()
    disabled = [r.name for r in rows if not r.enabled]
    mail = [r.name for r in rows if r.kind == "email" and r.enabled]
    if mail and not settings.smtp_host:
        return Check(
            "alerts",
            "fail",
            f"e-mail channels ({', '.join(mail)}) but no mail server: their alerts fail",
            "Set SPOOR_SMTP_HOST (and _PORT, _SECURITY, _USER, _PASSWORD).",
        )
    if mail and not _reachable(settings.smtp_host, settings.smtp_port):
        return Check(
            "alerts",
            "warn",
            f"the mail server {settings.smtp_host}:{settings.smtp_port} does not answer",
            "Check SPOOR_SMTP_HOST and SPOOR_SMTP_PORT, and the firewall.",
        )
    if disabled:
        return Check(
            "alerts",
            "warn",
            f"channels disabled after failing: {', '.join(disabled)}",
            "Correct their address on the Alerts page and enable them again.",
        )
    smtp = f"mail via {settings.smtp_host}" if settings.smtp_host else "no mail server set"
    return ok("alerts", f"{len(rows)} channels, none failing; {smtp}")


DATABASE_CHECKS: tuple[DatabaseCheck, ...] = (
    check_ip_data,
    check_sites_and_users,
    check_spool,
    check_imports,
    check_alerts,
)


# --- helpers ------------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def server_running(spool_dir: Path) -> bool:
    """The live consumer holds this lock while a server runs on the data directory."""
    lock_path = spool_dir / "consumer.lock"
    if not lock_path.exists():
        return False
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def summary(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": not failed(checks),
        "checks": [c.as_json() for c in checks],
    }
