"""Activities and deals read back as the engine's records: the rules by hand, and a
simulated history written to the database and read back giving the engine's own forecast."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from spoor.deals.forecast_data import account_records, deal_records
from spoor.deals.forecasting import ForecastError, forecast, run_backtest
from spoor.deals.service import create_deal, lose, move_stage
from spoor.demo.deals import Written, write_history
from spoor.forecast.simulator import History, SimulationConfig, gap_before, simulate
from spoor.forecast.summary import as_json, summarize
from spoor.identify.corrections import new_org
from spoor.prospecting.activities import log_activity
from spoor.sites import add_site
from spoor.users import Role, add_user

AS_OF = date(2026, 6, 1)


def at(day: date, hour: int = 10) -> float:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp()


def test_the_rules_by_hand(engine: Engine) -> None:
    d0 = date(2026, 3, 2)
    with engine.begin() as conn:
        rep = add_user(conn, "rep@example.com", "correct horse battery", Role.REP, 1)
        other = add_user(conn, "other@example.com", "correct horse battery", Role.REP, 1)
        acme, brisk, cold, old, noted = (new_org(conn, n).id for n in
                                         ("Acme", "Brisk", "Cold", "Old", "Noted"))  # fmt: skip
        # Acme: three touches, then a deal that is lost later (still an opportunity).
        for offset, kind in ((0, "call"), (2, "email"), (5, "linkedin")):
            log_activity(conn, acme, rep.id, kind, at=at(d0 + timedelta(days=offset)))
        deal = create_deal(conn, acme, rep.id, amount=9_000, at=at(d0 + timedelta(days=20)))
        move_stage(conn, deal.id, "proposal", at(d0 + timedelta(days=25)))
        lose(conn, deal.id, competitor="Snitcher", at=at(d0 + timedelta(days=40)))
        log_activity(conn, acme, rep.id, "call", "not_interested", at=at(d0 + timedelta(days=41)))
        # Brisk: first touched by the other rep, then said no.
        log_activity(conn, brisk, other.id, "email", at=at(d0 + timedelta(days=1)))
        log_activity(conn, brisk, rep.id, "call", "wrong_person", at=at(d0 + timedelta(days=9)))
        # Cold: touched the day before the as-of day and on it (not yet read).
        log_activity(conn, cold, rep.id, "call", at=at(AS_OF - timedelta(days=1)))
        log_activity(conn, cold, rep.id, "call", at=at(AS_OF))
        # Old: a deal before the first touch: already in the pipeline, not prospected.
        create_deal(conn, old, rep.id, amount=1, at=at(d0))
        log_activity(conn, old, rep.id, "call", at=at(d0 + timedelta(days=3)))
        # Noted: only a note, which is not a touch.
        log_activity(conn, noted, rep.id, "note", at=at(d0))
    with engine.connect() as conn:
        records = {r.account_id: r for r in account_records(conn, AS_OF)}
        mine = [r.account_id for r in account_records(conn, AS_OF, user_id=rep.id)]
        deals = deal_records(conn, AS_OF)
    assert set(records) == {str(acme), str(brisk), str(cold)}
    a = records[str(acme)]
    assert (a.first_touch, a.touches, a.source) == (d0, 4, "identified")
    assert (a.opportunity, a.disqualified) == (d0 + timedelta(days=20), None)
    b = records[str(brisk)]
    assert (b.opportunity, b.disqualified, b.touches) == (None, d0 + timedelta(days=9), 2)
    assert records[str(cold)].touches == 1  # the as-of day's call is not read yet
    assert mine == [str(acme), str(cold)]  # the rep who first touched the account
    acme_deal = next(d for d in deals if d.account_id == str(acme))
    assert [s.stage for s in acme_deal.stages] == ["discovery", "proposal"]  # not "lost"
    assert (acme_deal.outcome, acme_deal.competitor) == ("lost", "Snitcher")
    with engine.connect() as conn, pytest.raises(ForecastError, match="needs at least 30"):
        forecast(conn, AS_OF)
    with engine.connect() as conn, pytest.raises(ForecastError, match="can run from 2027-02-25"):
        run_backtest(conn, AS_OF)


CONFIG = SimulationConfig(
    seed=5, start=AS_OF - timedelta(days=450), days=450, first_touches_per_weekday=6.0,
    gap=gap_before(AS_OF, days=30, drop=0.6),
)  # fmt: skip


def written(engine: Engine) -> tuple[History, Written]:
    history = simulate(CONFIG)
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 1)
        reps = [
            add_user(conn, f"rep{i}@example.com", "correct horse battery", Role.REP, 1).id
            for i in range(2)
        ]
        return history, write_history(conn, history, reps)


def test_a_simulated_history_reads_back_as_the_same_forecast(engine: Engine) -> None:
    history, done = written(engine)
    with engine.connect() as conn:
        found = forecast(conn, AS_OF, zone="Europe/Amsterdam")
    back = {r.account_id: r for r in found.input.accounts}
    assert len(back) == len(history.accounts) > 1000
    seen = Counter(t.account_id for t in history.touches)
    for record in history.accounts:
        got = back[str(done.org_ids[record.account_id])]
        source = "identified" if record.source == "outbound" else record.source
        assert (got.first_touch, got.opportunity, got.disqualified, got.source, got.touches) == (
            record.first_touch, record.opportunity, record.disqualified, source,
            seen[record.account_id],
        )  # fmt: skip
    assert len(found.input.deals) == len(history.deals)
    assert Counter(d.competitor for d in found.input.deals) == Counter(
        d.competitor for d in history.deals
    )
    start = min(a.first_touch for a in history.accounts)
    engine_only = summarize(history.accounts, history.deals, AS_OF, history_start=start)
    assert as_json(found.summary) == as_json(engine_only)
    gap = next(c for c in found.summary.health if c.name == "prospecting_gap")
    assert gap.status == "alert"
