"""`spoor demo`: simulate the demo company's traffic, import it for real, report on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from spoor.analytics.companies import CompanyRow, IdentifyReport, companies, identify_report
from spoor.analytics.query import parse_period
from spoor.analytics.stats import Report, report
from spoor.db.engine import open_database
from spoor.demo.deals import add_demo_deals
from spoor.demo.ipdata import write_as2types, write_asn_csv, write_rpsl
from spoor.demo.simulator import DEFAULT_VISITS_PER_DAY, demo_company, write_log
from spoor.demo.team import seed_team
from spoor.identify.asntypes import read_asn_types
from spoor.identify.ipdb import import_asn_types, import_dataset
from spoor.ingest.logimport import ImportSummary, Progress, import_logs
from spoor.leads.service import Lead, leads
from spoor.settings import Settings
from spoor.sites import add_site
from spoor.users import Role, add_user


@dataclass
class DemoResult:
    database: Path
    log: Path
    summary: ImportSummary
    report: Report
    companies: list[CompanyRow]
    identified: IdentifyReport
    leads: list[Lead]


# Who can sign in to the demo (printed by `spoor demo`; a demo database only).
DEMO_PASSWORD = "spoor-demo-password"
DEMO_USERS = (
    ("admin@demo.spoor", Role.ADMIN, "Ada Admin"),
    ("rep@demo.spoor", Role.REP, "Remi Rep"),
)


def build_demo(
    demo_dir: Path,
    *,
    days: int = 120,
    seed: int = 7,
    progress: Progress | None = None,
    visits_per_day: float = DEFAULT_VISITS_PER_DAY,
) -> DemoResult:
    """A fresh demo database in `demo_dir` (anything there before is replaced)."""
    demo_dir.mkdir(parents=True, exist_ok=True)
    database = demo_dir / "spoor.db"
    for stale in demo_dir.glob("spoor.db*"):
        stale.unlink()
    company = demo_company(seed)
    now = datetime.now(ZoneInfo(company.timezone))
    log = demo_dir / "access.log"
    write_log(log, days=days, end=now, seed=seed, visits_per_day=visits_per_day)
    settings = Settings(data_dir=demo_dir, timezone=company.timezone)
    engine = open_database(settings)
    stamp = int(datetime.now(UTC).timestamp())
    # The simulated world's IP data, imported through the real importers.
    asn_file, registry_file = demo_dir / "demo-asn.csv", demo_dir / "demo-registry.db"
    write_asn_csv(company, asn_file)
    write_rpsl(company, registry_file)
    import_dataset(engine, asn_file, stamp, "csv", "demo-asn")
    import_dataset(engine, registry_file, stamp, "rpsl", "demo-registry")
    types_file = demo_dir / "demo.as2types.txt"
    write_as2types(company, types_file)
    types, read = read_asn_types(types_file)
    import_asn_types(engine, "demo-as2types", read.format, str(types_file), types, stamp)
    with engine.begin() as conn:
        site = add_site(conn, company.domain, company.timezone, stamp)
        reps = [add_user(conn, email, DEMO_PASSWORD, role, stamp, name)
                for email, role, name in DEMO_USERS]  # fmt: skip
    summary = import_logs(engine, settings, [str(log)], site=site.domain, progress=progress)
    with engine.begin() as conn:
        top = leads(conn, site, int(now.timestamp()), limit=40)
        seed_team(conn, [u for u in reps if u.role is Role.REP], top, now, DEMO_PASSWORD, seed)
    add_demo_deals(engine, now.date(), seed)  # two years of prospecting and deals, with a gap
    month = parse_period("30d", now.date())
    with engine.connect() as conn:
        result = report(conn, site, month)
        visitors = companies(conn, site, month, limit=15, leads_only=True)
        identified = identify_report(conn, site, month)
        ranked = leads(conn, site, int(now.timestamp()), limit=10)
    engine.dispose()
    return DemoResult(database, log, summary, result, visitors, identified, ranked)
