"""The demo's team: after `build_demo`, reps have claims with cadences under way, a month
of activity inside their golden hours, and a hunt list with the hottest lead in the pool."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from spoor.db.engine import open_database
from spoor.db.schema import activities, claims
from spoor.demo.run import build_demo
from spoor.prospecting.routine import routine
from spoor.prospecting.tasks import open_tasks
from spoor.prospecting.today import today
from spoor.settings import Settings
from spoor.sites import list_sites
from spoor.users import get_user_by_email


def test_the_demo_team_is_at_work(tmp_path: Path) -> None:
    built = build_demo(tmp_path, days=40)
    engine = open_database(Settings(data_dir=tmp_path))
    now = time.time()
    with engine.connect() as conn:
        site = list_sites(conn)[0]
        rep = get_user_by_email(conn, "rep@demo.spoor")
        assert rep is not None
        hunt = today(conn, site, rep, now)
        held = conn.execute(select(func.count()).select_from(claims)).scalar_one()
        logged = conn.execute(select(func.count()).select_from(activities)).scalar_one()
        seen = routine(conn, rep, now)
        waiting = open_tasks(conn, rep.id)
    engine.dispose()
    assert hunt[0].lead.org_id == built.leads[0].org_id  # the hottest, in the pool
    assert hunt[0].owner is None
    assert any(row.owner == "Remi Rep" and row.next_step.startswith(("Call", "E-mail", "LinkedIn"))
               for row in hunt)  # fmt: skip
    assert held >= 4
    assert logged > 100
    assert seen.adherence is not None
    assert 0.5 < seen.adherence < 0.9  # most touches inside the morning blocks
    assert len(seen.blocks) == 5
    assert waiting
