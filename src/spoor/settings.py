"""Spoor's settings: one table, read once from the environment, validated at start.

Every setting has a name, a default and a help text. `load(environ)` parses them all and
raises `SettingsError` listing every problem with what to do about it, so a bad
configuration fails at start and not at the first request.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """One or more settings are invalid; the message says which and how to fix them."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any]
    attr: str


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or a positive whole number")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be one of true/false, yes/no, on/off, 1/0")


def _timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone such as Europe/Amsterdam or UTC") from exc
    return text


def parse_networks(text: str) -> tuple[Network, ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not an IP address or CIDR range") from exc
    return tuple(out)


def _addresses(text: str) -> tuple[str, ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(str(ipaddress.ip_address(part)))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not an IP address") from exc
    return tuple(out)


def parse_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(re.compile(part))
        except re.error as exc:
            raise ValueError(f"{part!r} is not a valid regular expression: {exc}") from exc
    return tuple(out)


def _ip_retention(text: str) -> str:
    if text not in {"none", "truncated"}:
        raise ValueError(
            "must be 'none' (never store any part of the IP) or 'truncated' (/24, /48)"
        )
    return text


def _public_url(text: str) -> str:
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValueError("must be an http:// or https:// address, e.g. https://spoor.example.com")
    return text.rstrip("/")


def _smtp_security(text: str) -> str:
    if text not in {"none", "starttls", "tls"}:
        raise ValueError("must be none, starttls or tls")
    return text


def _log_format(text: str) -> str:
    if text not in {"text", "json"}:
        raise ValueError("must be text or json")
    return text


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be debug, info, warning or error")
    return level


def _event_store(text: str) -> str:
    if text not in {"sql", "clickhouse"}:
        raise ValueError("must be sql or clickhouse")
    return text


def _clickhouse_url(text: str) -> str:
    if text and not re.match(r"^https?://[^/\s]+", text):
        raise ValueError("must be empty or an http:// or https:// address, e.g. http://ch:8123")
    return text


def _secret_key(text: str) -> str:
    if text and len(text) < 32:
        raise ValueError("must be empty or at least 32 characters")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SPOOR_DATA_DIR",
        "./data",
        "Directory for the SQLite database, IP data and other local files. Created if missing.",
        str,
        "data_dir",
    ),
    Setting(
        "SPOOR_DATABASE_URL",
        "",
        "SQLAlchemy URL of the database. Empty means a SQLite file `spoor.db` in the data "
        "directory. For PostgreSQL: `postgresql+psycopg://user:pass@host/dbname`.",
        str,
        "database_url",
    ),
    Setting(
        "SPOOR_TIMEZONE",
        "UTC",
        "Default time zone for new sites (days, midnight visit splits and reports use the "
        "site's own zone).",
        _timezone,
        "timezone",
    ),
    Setting(
        "SPOOR_VISIT_TIMEOUT_MINUTES",
        "30",
        "A visit ends after this many minutes without a hit (Matomo and GA use 30).",
        _positive_int,
        "visit_timeout_minutes",
    ),
    Setting(
        "SPOOR_EXCLUDE_PATHS",
        "",
        "Comma-separated regular expressions; hits whose path matches one are dropped "
        "(reason `excluded_path`).",
        parse_patterns,
        "exclude_paths",
    ),
    Setting(
        "SPOOR_EXCLUDE_IPS",
        "",
        "Comma-separated IP addresses or CIDR ranges whose hits are dropped (reason "
        "`excluded_ip`), e.g. your office or monitoring hosts.",
        parse_networks,
        "exclude_ips",
    ),
    Setting(
        "SPOOR_KEEP_STATIC",
        "false",
        "Keep hits on static assets (CSS, JS, images, fonts). Off by default, as in Matomo's "
        "log importer.",
        _bool,
        "keep_static",
    ),
    Setting(
        "SPOOR_IP_RETENTION",
        "none",
        "What is kept of a visitor's IP after identification: `none`, or `truncated` "
        "(the /24 of IPv4, the /48 of IPv6).",
        _ip_retention,
        "ip_retention",
    ),
    Setting(
        "SPOOR_RETAIN_HITS_DAYS",
        "400",
        "Pageviews and events (hits) older than this many days are deleted by the daily "
        "retention job, and the day's rollups recomputed from what remains. 0: keep forever.",
        _non_negative_int,
        "retain_hits_days",
    ),
    Setting(
        "SPOOR_RETAIN_VISITS_DAYS",
        "760",
        "Visits (with their hits) of days more than this many days ago (in the site's time zone) "
        "are deleted; reports of those days then show nothing. 0: keep forever.",
        _non_negative_int,
        "retain_visits_days",
    ),
    Setting(
        "SPOOR_RETAIN_SIGNALS_DAYS",
        "400",
        "Lead signals (an organization's pageviews and forms that scoring counts) older than "
        "this many days are deleted. 0: keep forever.",
        _non_negative_int,
        "retain_signals_days",
    ),
    Setting(
        "SPOOR_RETAIN_IP_PREFIX_DAYS",
        "30",
        "With SPOOR_IP_RETENTION=truncated, the /24 or /48 kept on a visit is blanked after "
        "this many days (the visit stays). 0: keep as long as the visit.",
        _non_negative_int,
        "retain_ip_prefix_days",
    ),
    Setting(
        "SPOOR_IMPORT_BATCH",
        "20000",
        "Hits written per transaction during log import; also how often import progress "
        "is checkpointed for resuming. Larger batches import faster (fewer commits, fewer "
        "visits written twice) and hold more in memory.",
        _positive_int,
        "import_batch",
    ),
    Setting(
        "SPOOR_IMPORT_WORKERS",
        "0",
        "Processes that parse and filter log lines during import (0: one per CPU core; "
        "1: all in the importing process). Inputs under 4 MiB and W3C logs use one.",
        _non_negative_int,
        "import_workers",
    ),
    Setting(
        "SPOOR_DNS_SERVERS",
        "",
        "Comma-separated DNS servers for reverse DNS (PTR) lookups, when they are turned on "
        "(`spoor import --reverse-dns`), and for the addresses of webhook hosts. Empty: the "
        "system's resolver (/etc/resolv.conf; /etc/hosts too for webhooks).",
        _addresses,
        "dns_servers",
    ),
    Setting(
        "SPOOR_TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or ranges of reverse proxies whose X-Forwarded-For is "
        "believed (e.g. 127.0.0.1 behind nginx on the same host). Empty: the peer address.",
        parse_networks,
        "trusted_proxies",
    ),
    Setting(
        "SPOOR_TRACKING_TOKEN",
        "",
        "Secret that lets Matomo requests set the visitor address (cip) and time (cdt), as "
        "Matomo's token_auth does (for the Matomo log importer). Empty: never.",
        str,
        "tracking_token",
    ),
    Setting(
        "SPOOR_RATE_LIMIT",
        "600",
        "Tracking requests per minute accepted from one address (429 beyond).",
        _positive_int,
        "rate_limit",
    ),
    Setting(
        "SPOOR_PUBLIC_URL",
        "http://127.0.0.1:8000",
        "The address people and tracked pages reach Spoor at; used in snippets and links. "
        "When it starts with https://, the session cookie is sent over TLS only (Secure).",
        _public_url,
        "public_url",
    ),
    Setting(
        "SPOOR_SECRET_KEY",
        "",
        "Secret that signs session cookies (at least 32 characters). Empty: a random key is "
        "made once and kept in `secret_key` in the data directory.",
        _secret_key,
        "secret_key",
    ),
    Setting(
        "SPOOR_LOGIN_ATTEMPTS",
        "10",
        "Failed sign-ins allowed per address and per account within 15 minutes; beyond, "
        "sign-in answers 429 until the window has passed.",
        _positive_int,
        "login_attempts",
    ),
    Setting(
        "SPOOR_LOG_FORMAT",
        "text",
        "Log lines of `spoor serve`, its live consumer and alerts on standard error: `text` "
        "for people, `json` (one object a line) for a log collector.",
        _log_format,
        "log_format",
    ),
    Setting(
        "SPOOR_LOG_LEVEL",
        "info",
        "The least severe log lines written: debug, info, warning or error.",
        _log_level,
        "log_level",
    ),
    Setting(
        "SPOOR_METRICS_TOKEN",
        "",
        "Bearer token that /metrics requires (Prometheus `authorization` credentials). "
        "Empty: /metrics answers only requests from this machine that did not come through "
        "a proxy.",
        str,
        "metrics_token",
    ),
    Setting(
        "SPOOR_SMTP_HOST",
        "",
        "Mail server for alert and digest e-mails. Empty: e-mail channels cannot send.",
        str,
        "smtp_host",
    ),
    Setting("SPOOR_SMTP_PORT", "25", "Port of the mail server.", _positive_int, "smtp_port"),
    Setting(
        "SPOOR_SMTP_SECURITY",
        "none",
        "`none`, `starttls` or `tls` (implicit TLS, usually port 465).",
        _smtp_security,
        "smtp_security",
    ),
    Setting("SPOOR_SMTP_USER", "", "User name at the mail server (empty: none).", str, "smtp_user"),
    Setting("SPOOR_SMTP_PASSWORD", "", "Password at the mail server.", str, "smtp_password"),
    Setting(
        "SPOOR_MAIL_FROM",
        "spoor@localhost",
        "The From address of alert and digest e-mails.",
        str,
        "mail_from",
    ),
    Setting(
        "SPOOR_ALERT_RETRY_SECONDS",
        "5",
        "Wait before an alert that did not go through is tried again; doubled after each "
        "try (6 tries in all).",
        _positive_float,
        "alert_retry_seconds",
    ),
    Setting(
        "SPOOR_WEBHOOK_ALLOW",
        "",
        "Comma-separated networks (CIDR) that webhooks may reach although they are not "
        "public, e.g. `10.1.2.0/24` for a CRM on the office network. Empty: webhooks go to "
        "public addresses only, never to loopback, private, link-local or CGNAT ones.",
        parse_networks,
        "webhook_allow",
    ),
    Setting(
        "SPOOR_CLAIM_LAPSE_DAYS",
        "14",
        "A claim without a logged activity for this many days lapses: the account returns "
        "to the pool and the former owner gets an e-mail.",
        _positive_int,
        "claim_lapse_days",
    ),
    Setting(
        "SPOOR_EVENT_STORE",
        "sql",
        "Where hits and visits live: `sql` (the database above, with daily rollups) or "
        "`clickhouse` (MergeTree tables; accounts, claims and activities stay in the "
        "database above). See docs/scaling.md.",
        _event_store,
        "event_store",
    ),
    Setting(
        "SPOOR_CLICKHOUSE_URL",
        "",
        "With SPOOR_EVENT_STORE=clickhouse: a ClickHouse server's HTTP address, e.g. "
        "`http://user:pass@ch:8123/?database=spoor`. Empty: chdb, ClickHouse inside the Spoor "
        "process, with its files in `clickhouse/` in the data directory (one process only).",
        _clickhouse_url,
        "clickhouse_url",
    ),
    Setting(
        "SPOOR_DNS_PORT",
        "53",
        "Port of the DNS servers above.",
        _positive_int,
        "dns_port",
    ),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    database_url: str = field(default="", repr=False)  # may hold a password
    timezone: str = "UTC"
    visit_timeout_minutes: int = 30
    exclude_paths: tuple[re.Pattern[str], ...] = ()
    exclude_ips: tuple[Network, ...] = field(default=())
    keep_static: bool = False
    ip_retention: str = "none"
    retain_hits_days: int = 400
    retain_visits_days: int = 760
    retain_signals_days: int = 400
    retain_ip_prefix_days: int = 30
    import_batch: int = 20000
    import_workers: int = 0
    dns_servers: tuple[str, ...] = ()
    dns_port: int = 53
    trusted_proxies: tuple[Network, ...] = ()
    tracking_token: str = field(default="", repr=False)  # a secret
    rate_limit: int = 600
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = field(default="", repr=False)  # a secret
    login_attempts: int = 10
    log_format: str = "text"
    log_level: str = "INFO"
    metrics_token: str = field(default="", repr=False)  # a secret
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)  # a secret
    mail_from: str = "spoor@localhost"
    alert_retry_seconds: float = 5.0
    webhook_allow: tuple[Network, ...] = ()
    claim_lapse_days: int = 14
    event_store: str = "sql"
    clickhouse_url: str = ""

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'spoor.db').resolve()}"


# Settings that hold secrets: each may instead be read from a file named by NAME_FILE
# (systemd credentials, container secrets), so it need not sit in an environment that
# `ps e`, /proc and crash reports can show. They are never shown or logged.
SECRETS = (
    "SPOOR_DATABASE_URL",
    "SPOOR_TRACKING_TOKEN",
    "SPOOR_SECRET_KEY",
    "SPOOR_METRICS_TOKEN",
    "SPOOR_SMTP_PASSWORD",
)


def _raw(env: Mapping[str, str], setting: Setting) -> str:
    """The setting's text: from NAME, from the file NAME_FILE names, or its default."""
    path = env.get(setting.name + "_FILE", "") if setting.name in SECRETS else ""
    if not path:
        return env.get(setting.name, setting.default)
    if setting.name in env:
        raise ValueError(f"set {setting.name} or {setting.name}_FILE, not both")
    try:
        # One trailing newline is what editors and `echo` add; it is not part of the secret.
        return Path(path).read_text().removesuffix("\n").removesuffix("\r")
    except OSError as exc:
        raise ValueError(f"{setting.name}_FILE={path!r} cannot be read: {exc.strerror}") from exc


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse every setting from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        try:
            raw = _raw(env, setting)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            given = "(hidden)" if setting.name in SECRETS else repr(raw)
            problems.append(f"{setting.name}={given}: {exc}. ({setting.help})")
    url = values.get("database_url", "")
    if url and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        problems.append(
            "SPOOR_DATABASE_URL: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        )
    if problems:
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(problems))
    values["data_dir"] = Path(values["data_dir"])
    return Settings(**values)


def markdown_reference() -> str:
    """The settings reference page (docs/settings.md is this text; a test keeps them equal)."""
    lines = [
        "# Settings",
        "",
        "Spoor reads its settings once, at start, from environment variables. Invalid values",
        "stop it with a message naming the setting and what to change.",
        "",
        "| name | default | what it does |",
        "| --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        secret = f" A secret: may be read from the file `{s.name}_FILE` names." * (
            s.name in SECRETS
        )
        lines.append(f"| `{s.name}` | {default} | {s.help}{secret} |")
    lines += [
        "",
        "Secrets are never shown by `spoor settings` nor written to logs. Reading them from",
        "files (`SPOOR_SMTP_PASSWORD_FILE=/run/credentials/spoor.service/smtp`) keeps them out",
        "of the process environment; setting both `NAME` and `NAME_FILE` is an error.",
    ]
    return "\n".join(lines) + "\n"


def shown(setting: Setting, value: Any) -> str:
    """A setting's value as `spoor settings` prints it: secrets only as set or not."""
    if setting.name not in SECRETS:
        return str(value)
    if setting.name == "SPOOR_DATABASE_URL" and value:
        return _without_password(str(value))
    return "(set, hidden)" if value else "(empty)"


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
