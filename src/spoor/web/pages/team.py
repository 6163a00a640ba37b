"""The manager's view of the team: activity, speed to lead, claims going stale."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from spoor.identify.corrections import org_names
from spoor.prospecting.activities import KINDS, counts_by_person, daily_counts
from spoor.prospecting.claims import claims_of
from spoor.prospecting.huntlist import FIRST_TOUCH
from spoor.prospecting.sla import speed_to_lead, went_cold
from spoor.users import Role
from spoor.web.auth import guard
from spoor.web.charts import sparkline
from spoor.web.render import page, read

WINDOW = 30 * 86_400
STALE = 7 * 86_400


@guard(Role.MANAGER)
async def team_page(request: Request) -> Response:
    now = time.time()

    def load(conn: Connection) -> dict[str, Any]:
        claims = claims_of(conn)
        stale = [c for c in claims.values()
                 if now - (c.last_activity_at or c.claimed_at) > STALE]  # fmt: skip
        trend = daily_counts(conn, now - WINDOW, WINDOW // 86_400)
        return {
            "speed": speed_to_lead(conn, now - WINDOW, now),
            "activity": counts_by_person(conn, now - WINDOW),
            "trend": {who: sparkline(days, "activities") for who, days in trend.items()},
            "stale": sorted(stale, key=lambda c: c.last_activity_at or c.claimed_at),
            "names": org_names(conn, [c.org_id for c in stale]),
            "cold": went_cold(conn, now - WINDOW),
        }

    data = await read(request, load)
    return page(request, "team.html", **data, kinds=KINDS, first_touch=FIRST_TOUCH, now=now)
