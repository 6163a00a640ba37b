"""The database schema: the only place table and column names are spelled.

Times are integer epoch seconds (UTC): compact, fast to write in bulk, and identical on
SQLite and PostgreSQL. Days are stored per visit in the site's own time zone so reports
never have to convert zones in SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain", String(253), nullable=False, unique=True),
    Column("public_id", String(32), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("created_at", BigInteger, nullable=False),
)

# Daily salts for visitor hashes. Old salts are deleted so yesterday's hashes can no
# longer be linked to an IP address by anyone, including us.
salts = Table(
    "salts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("secret", LargeBinary(32), nullable=False),
)

visits = Table(
    "visits",
    metadata,
    # Deterministic id (hash of site, visitor and start) so a re-run import or a replayed
    # spool upserts the same visit instead of creating a second one.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=False),
    Column("pageviews", Integer, nullable=False, default=0),
    Column("events", Integer, nullable=False, default=0),
    Column("entry_path", Text, nullable=False),
    Column("exit_path", Text, nullable=False),
    Column("referrer", Text),
    Column("channel", String(16), nullable=False),
    Column("source", String(100)),
    Column("utm_campaign", String(200)),
    Column("utm_source", String(200)),
    Column("utm_medium", String(100)),
    Column("utm_term", String(200)),
    Column("utm_content", String(200)),
    Column("browser", String(64)),
    Column("os", String(64)),
    Column("device", String(16)),
    Column("country", String(2)),
    Column("ip_prefix", String(43)),
    Index(None, "site_id", "day"),
    Index(None, "site_id", "visitor", "ended"),
)

hits = Table(
    "hits",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    # 16-byte content hash of the source record: the same log line imported twice is one hit.
    Column("key", LargeBinary(16), nullable=False),
    Column("visit_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("path", Text, nullable=False),
    Column("title", Text),
    Column("name", String(200)),
    UniqueConstraint("site_id", "key"),
    Index(None, "visit_id"),
    Index(None, "site_id", "ts"),
)

# Counters of dropped hits per day and reason: the pipeline never silently loses input.
drops = Table(
    "drops",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# One row per imported file (by content fingerprint), with a checkpoint for resuming.
imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("format", String(64), nullable=False),
    Column("lines_done", BigInteger, nullable=False, default=0),
    Column("hits", BigInteger, nullable=False, default=0),
    Column("malformed", BigInteger, nullable=False, default=0),
    Column("complete", Boolean, nullable=False, default=False),
    Column("started_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("site_id", "fingerprint"),
)
