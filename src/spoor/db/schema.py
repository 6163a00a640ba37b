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
    Float,
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
    false,
    func,
    literal_column,
    true,
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
    # Host names hits may come from, comma-separated; empty: the domain and its subdomains.
    Column("hosts", Text),
    Column("honor_dnt", Boolean, nullable=False, server_default="1"),
    # This site's own exclusions (comma-separated), on top of SPOOR_EXCLUDE_IPS / _PATHS.
    Column("exclude_ips", Text),
    Column("exclude_paths", Text),
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
    Column("org_id", BigInteger),
    Index(None, "site_id", "day"),
    Index(None, "site_id", "org_id", "day"),
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
    Column("props", Text),  # JSON object of an event's properties (engaged time, targets)
    UniqueConstraint("site_id", "key"),
    Index(None, "site_id", "ts"),
)
# A visit's hits, and whether it viewed a page before (the rollups ask with every batch):
# the path's start, since PostgreSQL cannot index paths as long as a URL may be. Constants
# inline, as a query must repeat the expression exactly for the index to serve it.
PAGE_KEY_LENGTH = 100
PAGE_KEY = func.substr(hits.c.path, literal_column("1"), literal_column(str(PAGE_KEY_LENGTH)))
Index("ix_hits_visit_id_page", hits.c.visit_id, PAGE_KEY)

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
    # The hashing secret for days older than yesterday, kept only while the import is
    # incomplete, so a resumed import continues its visits (visitors.ImportSalts).
    Column("secret", LargeBinary(32)),
    Column("started_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("site_id", "fingerprint"),
)

# IP datasets: one source per imported file kind, replaced whole on re-import.
ip_sources = Table(
    "ip_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("format", String(32), nullable=False),
    Column("version", String(100)),
    Column("file", Text, nullable=False),
    Column("records", Integer, nullable=False),
    Column("bad_rows", Integer, nullable=False),
    Column("overlapping", Integer, nullable=False),
    Column("details", Text),  # JSON: reader metadata, bad row examples
    Column("imported_at", BigInteger, nullable=False),
)

# Addresses as 16-byte big-endian integers (IPv4 too): sortable and alike in both databases.
ip_ranges = Table(
    "ip_ranges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("ip_sources.id", ondelete="CASCADE"), nullable=False),
    Column("version", SmallInteger, nullable=False),
    Column("first", LargeBinary(16), nullable=False),
    Column("last", LargeBinary(16), nullable=False),
    Column("asn", BigInteger),
    Column("org", Text),
    Column("country", String(2)),
    Column("domain", String(253)),
    Column("isp", Text),
    Column("user_type", String(32)),
    Column("connection_type", String(32)),
    Column("anonymous", String(100)),
    Column("netname", String(100)),
    Column("descr", Text),
    Column("network_type", String(64)),
    Index(None, "source_id"),
)

organizations = Table(
    "organizations",
    metadata,
    # Deterministic id (hash of the key), so every process names an organization alike.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("key", String(300), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("domain", String(253)),
    Column("country", String(2)),
    Column("type", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("asn", BigInteger),
    Column("source", String(100)),
    Column("evidence", Text),  # JSON list of plain-language reasons
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
)

# The team's corrections: they win over every dataset and survive updates.
org_corrections = Table(
    "org_corrections",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text),
    Column("type", String(16)),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("relation", String(16)),  # customer | competitor
    Column("merged_into", BigInteger),
    Column("target", Boolean, nullable=False, server_default=false()),  # a named target account
    Column("updated_at", BigInteger, nullable=False),
)

known_ranges = Table(
    "known_ranges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("version", SmallInteger, nullable=False),
    Column("first", LargeBinary(16), nullable=False),
    Column("last", LargeBinary(16), nullable=False),
    Column("note", Text),
    Column("created_at", BigInteger, nullable=False),
)

# What classification sources (CAIDA AS classification, PeeringDB) say of each AS.
asn_types = Table(
    "asn_types",
    metadata,
    Column("source_id", Integer, ForeignKey("ip_sources.id", ondelete="CASCADE"), primary_key=True),
    Column("asn", BigInteger, primary_key=True, autoincrement=False),
    Column("network_type", String(64), nullable=False),
    Column("name", Text),
)

# How far the live spool (an append-only file of accepted hits) is written to the store;
# updated in the same transaction as the hits, so a restart replays exactly the rest.
spool = Table(
    "spool",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("segment", BigInteger, nullable=False, server_default="0"),
    Column("committed", BigInteger, nullable=False),
)

# People who sign in to the web app. Passwords are argon2 hashes; `session_epoch` grows
# when the password changes, which signs out every other session of that user.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200)),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("timezone", String(64)),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("session_epoch", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
)

# JSON API tokens: only a SHA-256 of the token is stored; the token is shown once.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger),
)

# Rollups, kept current by every write of visits and hits (ingest/rollups.py), so reports
# over months of traffic read a few thousand rows instead of millions. Per site and local
# day; `dimension` is a key of analytics.stats.DIMENSIONS, or "" for the day's totals.
rollup_days = Table(
    "rollup_days",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("visits", BigInteger, nullable=False),
    Column("visitors", BigInteger, nullable=False),  # distinct visitors: totals rows only
    Column("pageviews", BigInteger, nullable=False),
    Column("bounces", BigInteger, nullable=False),
    Column("duration", BigInteger, nullable=False),
)

# Pages per day, for everyone (org_id 0) and per organization (its top pages, the
# "visited page" filter). `visits`: distinct visits that viewed the page that day.
rollup_pages = Table(
    "rollup_pages",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("path", Text, primary_key=True),
    Column("pageviews", BigInteger, nullable=False),
    Column("visits", BigInteger, nullable=False),
    Index(None, "site_id", "org_id", "day"),  # one organization's pages (its top pages)
)

# Visits per day and organization (as resolved; corrections apply when reading).
rollup_orgs = Table(
    "rollup_orgs",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("visits", BigInteger, nullable=False),
    Column("visitors", BigInteger, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
)

# The lead signal ledger: what each identified organization did that scoring counts, kept
# at ingest (leads/ledger.py). Paths are classified when scoring, so rule changes apply
# at once; `spoor leads rescore` rebuilds it from hits.
lead_signals = Table(
    "lead_signals",
    metadata,
    # In the order stored: alerts follow the ledger by id.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", SmallInteger, nullable=False),  # HitKind.PAGEVIEW or HitKind.FORM
    Column("path", Text, nullable=False),
    Column("visitor", BigInteger, nullable=False),
    Column("hit_key", LargeBinary(16), nullable=False),
    UniqueConstraint("site_id", "hit_key"),
    Index(None, "site_id", "org_id", "ts"),
    Index(None, "site_id", "ts"),
)

# The team's lead scoring rules as TOML (leads/rules.py); one row, absent = the defaults.
lead_rules = Table(
    "lead_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Where alerts go: an e-mail address, a generic webhook (JSON, HMAC-SHA256 signed), or a
# Slack- or Teams-compatible incoming webhook. A channel that keeps failing is disabled.
channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # email | webhook | slack | teams
    Column("target", Text, nullable=False),  # address or URL
    Column("secret", String(128)),  # webhook signing secret
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("failures", Integer, nullable=False, server_default="0"),  # in a row
    Column("disabled_reason", Text),
    Column("created_at", BigInteger, nullable=False),
)

# When to alert: a hand-raise, or a priority crossing a threshold, per site or all sites.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("trigger", String(32), nullable=False),  # hand_raise | priority_above | entered_feed
    Column("threshold", Float),
    Column("feed_id", Integer),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE")),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("cooldown_minutes", Integer, nullable=False, server_default="240"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("created_at", BigInteger, nullable=False),
)

# Per rule and organization: when it last fired and the last priority seen (crossings).
alert_state = Table(
    "alert_state",
    metadata,
    Column("rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("last_fired_at", Float),
    Column("last_value", Float),
)

# Each alert to send, with every try logged in `attempts` (JSON list).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", Integer, nullable=False),
    Column("org_id", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),  # JSON: what the alert says
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Text, nullable=False),  # JSON list of {at, ok, detail}
    Column("event_at", Float, nullable=False),  # when the triggering hit was stored
    Column("next_try_at", Float, nullable=False),
    Column("sent_at", Float),
    Column("created_at", Float, nullable=False),
    Index(None, "status", "next_try_at"),
)

# Saved lead filters ("feeds"), shared by the team; the filter is JSON (leads/feeds.py).
feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("filters", Text, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", BigInteger, nullable=False),
)

# The daily lead digest e-mails sent, one per person and local day.
digests = Table(
    "digests",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sent_at", Float, nullable=False),
)

# Who hunts which account: one owner at a time (the primary key makes a second claim fail
# in the database itself, on SQLite and PostgreSQL alike).
claims = Table(
    "claims",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("claimed_at", Float, nullable=False),
    Column("last_activity_at", Float),  # a logged activity keeps the claim alive
    Index(None, "user_id"),
)

# Claims that ended, and why (released, reassigned, lapsed): the history and the notices.
claim_history = Table(
    "claim_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("claimed_at", Float, nullable=False),
    Column("ended_at", Float, nullable=False),
    Column("reason", String(16), nullable=False),  # released | reassigned | lapsed | escalated
    Column("notified", Boolean, nullable=False, server_default=false()),
)

# What a rep did about an account: a call, an e-mail, a LinkedIn message, a meeting, a note.
activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("kind", String(16), nullable=False),  # call | email | linkedin | meeting | note
    Column("outcome", String(24)),
    Column("note", Text),
    Column("at", Float, nullable=False),
    Index(None, "org_id", "at"),
    Index(None, "user_id", "at"),
)

# The people at an account, entered by reps (Spoor never identifies people from traffic).
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("role", String(200)),
    Column("email", String(254)),
    Column("phone", String(64)),
    Column("linkedin", String(500)),
    Column("opted_out", Boolean, nullable=False, server_default=false()),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", Float, nullable=False),
)

# An account working through a cadence (a sequence of touches); it stops on a reply, a
# meeting or an opt-out, or when its steps run out.
cadence_runs = Table(
    "cadence_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("cadence", String(32), nullable=False),  # a key of prospecting.cadences.CADENCES
    Column("started_at", Float, nullable=False),
    Column("stopped_at", Float),
    Column("stop_reason", String(24)),  # replied | meeting_booked | opted_out | finished | ...
    Index(None, "org_id", "stopped_at"),
)

# Follow-up tasks: one-off, or a cadence's next step (then `run_id` and `step` are set).
tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # call | email | linkedin | meeting | todo
    Column("title", String(300), nullable=False),
    Column("due_at", Float, nullable=False),
    Column("status", String(8), nullable=False, server_default="open"),  # open|done|skipped
    Column("closed_at", Float),
    Column("reason", String(300)),  # why it was skipped or snoozed
    Column("run_id", Integer, ForeignKey("cadence_runs.id", ondelete="CASCADE")),
    Column("step", SmallInteger),
    Column("created_at", Float, nullable=False),
    Index(None, "user_id", "status", "due_at"),
    Index(None, "org_id", "status"),
)

# Speed-to-lead events a hand-raise passed: escalated (60 minutes untouched: the manager is
# told and the claim opened) and went_cold (24 hours); one row each, so each fires once.
sla_events = Table(
    "sla_events",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("raised_at", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(12), primary_key=True),  # escalated | went_cold
    Column("owner_id", Integer),  # who held the account then, if anyone
    Column("at", Float, nullable=False),
)

# Golden hours: each rep's weekly prospecting blocks, in the rep's own time zone.
prospecting_blocks = Table(
    "prospecting_blocks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("weekday", SmallInteger, nullable=False),  # 0 Monday .. 6 Sunday
    Column("start_minute", SmallInteger, nullable=False),  # minutes after local midnight
    Column("end_minute", SmallInteger, nullable=False),
    Column("reminded_on", Date),  # the last day a reminder went out for this block
)

# Activity goals and the interruptions a rep logs during golden hours.
goals = Table(
    "goals",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("daily", SmallInteger, nullable=False),
    Column("weekly", SmallInteger, nullable=False),
    Column("remind_webhook", String(500)),  # block reminders go here too, when set
    Column("calendar_hash", LargeBinary(32), unique=True),  # SHA-256 of the iCalendar secret
)

interruptions = Table(
    "interruptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("minutes", SmallInteger, nullable=False),
    Column("note", String(300)),
    Index(None, "user_id", "at"),
)

# The team's deal stages, in order (Spoor serves one team, so one set). `probability` is the
# team's own guess, shown next to the forecast's measured win rates; won and lost close a deal.
deal_stages = Table(
    "deal_stages",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("position", SmallInteger, nullable=False),  # "order" is an SQL keyword
    Column("probability", Float, nullable=False),
    Column("is_won", Boolean, nullable=False, server_default=false()),
    Column("is_lost", Boolean, nullable=False, server_default=false()),
)

# Opportunities: one per account and attempt. Days are epoch seconds like every other time;
# `expected_close` is a calendar day. `stage` is a deal_stages key (not a foreign key, so a
# renamed or removed stage never deletes history).
deals = Table(
    "deals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("name", String(200), nullable=False),
    Column("amount", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("expected_close", Date),
    Column("created_at", Float, nullable=False),
    Column("closed_at", Float),
    Column("outcome", String(4)),  # won | lost, once closed
    Column("loss_reason", String(200)),
    Column("competitor", String(200)),  # who won it, when lost to a competitor
    Column("source", String(32)),  # hand_raiser | target | identified | ...
    Index(None, "org_id", "created_at"),
    Index(None, "user_id", "closed_at"),
)

# Every stage a deal entered and when: the forecast's win rates by stage and age need it.
deal_stage_history = Table(
    "deal_stage_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("deal_id", Integer, ForeignKey("deals.id", ondelete="CASCADE"), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("entered_at", Float, nullable=False),
    Index(None, "deal_id", "entered_at"),
)

# The record that an erasure or a retention run happened: when, by whom, what kind, and the
# rows deleted per table. It names no organization, address or visitor, so it can be kept.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(254), nullable=False),  # a user's e-mail, "cli" or "retention"
    Column("kind", String(16), nullable=False),  # organization | ip_range | time_range | retention
    Column("scope", Text, nullable=False),  # e.g. "1 organization", "www.example.com 2025-01"
    Column("counts", Text, nullable=False),  # JSON object: table -> rows deleted
    Index(None, "kind", "at"),
)
