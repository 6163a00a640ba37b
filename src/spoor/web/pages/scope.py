"""What a report page is about: the site (switcher) and the period (picker), from the URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request

from spoor.analytics.query import Period, PeriodError, period_in_zone
from spoor.sites import Site, list_sites

PERIODS = (("today", "Today"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"),
           ("365d", "12 months"), ("all", "All time"))  # fmt: skip
DEFAULT_PERIOD = "30d"


@dataclass(frozen=True)
class Scope:
    sites: list[Site]
    site: Site | None
    period: Period
    period_text: str

    def query(self, **extra: object) -> str:
        """The query string of this scope with `extra` parameters (None drops one)."""
        params: dict[str, object] = {"period": self.period_text}
        if self.site:
            params["site"] = self.site.domain
        params.update(extra)
        return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def load_scope(conn: Connection, request: Request) -> Scope:
    sites = list_sites(conn)
    wanted = request.query_params.get("site")
    site = next((s for s in sites if s.domain == wanted), None) if wanted else None
    if wanted and site is None:
        raise HTTPException(404, f"no site {wanted!r}")
    site = site or (sites[0] if sites else None)
    text = request.query_params.get("period") or DEFAULT_PERIOD
    start, end = request.query_params.get("from"), request.query_params.get("to")
    if start and end:
        text = f"{start}..{end}"
    try:
        period = period_in_zone(text, site.timezone if site else "UTC")
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from exc
    return Scope(sites, site, period, text)
