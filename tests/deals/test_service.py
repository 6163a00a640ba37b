"""The deals service on SQLite and PostgreSQL: create, stage history, won and lost, errors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from spoor.deals.service import (
    DealError,
    check_may_change,
    create_deal,
    get_deal,
    list_deals,
    lose,
    move_stage,
    win,
)
from spoor.deals.stages import StageError, list_stages, remove_stage, save_stage
from spoor.identify.corrections import new_org, set_target
from spoor.users import Role, User, add_user

DAY = 86_400.0
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def _people(engine: Engine) -> tuple[int, User, User]:
    with engine.begin() as conn:
        org = new_org(conn, "Brightwater Logistics")
        set_target(conn, org)
        rep = add_user(conn, "rep@example.com", "correct horse battery", Role.REP, 1, "Remi")
        boss = add_user(conn, "boss@example.com", "correct horse battery", Role.MANAGER, 1)
    return org.id, rep, boss


def test_default_stages_are_seeded_in_order(engine: Engine) -> None:
    with engine.connect() as conn:
        stages = list_stages(conn)
    assert [s.key for s in stages] == [
        "discovery", "qualified", "proposal", "negotiation", "won", "lost"
    ]  # fmt: skip
    assert [s.key for s in stages if s.is_won] == ["won"]
    assert [s.key for s in stages if s.is_lost] == ["lost"]
    assert [s.probability for s in stages][:4] == sorted(s.probability for s in stages[:4])


def test_a_deal_moves_through_stages_and_is_won(engine: Engine) -> None:
    org_id, rep, _ = _people(engine)
    with engine.begin() as conn:
        deal = create_deal(
            conn, org_id, rep.id, amount=12_000, currency="eur",
            expected_close=date(2026, 3, 1), at=T0,
        )  # fmt: skip
        assert (deal.stage, deal.currency, deal.org, deal.owner) == (
            "discovery", "EUR", "Brightwater Logistics", "Remi"
        )  # fmt: skip
        assert deal.source == "target"  # the account is a named target
        move_stage(conn, deal.id, "proposal", T0 + 3 * DAY)
        move_stage(conn, deal.id, "qualified", T0 + 5 * DAY)  # deals slip back, too
        done = win(conn, deal.id, T0 + 30 * DAY)
    assert [(c.stage, c.entered_at) for c in done.history] == [
        ("discovery", T0), ("proposal", T0 + 3 * DAY), ("qualified", T0 + 5 * DAY),
        ("won", T0 + 30 * DAY),
    ]  # fmt: skip
    assert (done.outcome, done.stage, done.closed_at) == ("won", "won", T0 + 30 * DAY)
    assert not done.is_open


def test_lost_to_a_competitor_records_which(engine: Engine) -> None:
    org_id, rep, _ = _people(engine)
    with engine.begin() as conn:
        first = create_deal(conn, org_id, rep.id, amount=5_000, stage="qualified", at=T0)
        second = create_deal(conn, org_id, rep.id, amount=8_000, at=T0 + DAY)
        lost = lose(conn, first.id, competitor="Leadfeeder", at=T0 + 9 * DAY)
        priced = lose(conn, second.id, "price", at=T0 + 10 * DAY)
        listed = list_deals(conn)
        open_ones = list_deals(conn, open_only=True)
    assert (lost.outcome, lost.loss_reason, lost.competitor) == ("lost", "competitor", "Leadfeeder")
    assert (priced.loss_reason, priced.competitor) == ("price", None)
    assert [d.id for d in listed] == [second.id, first.id]  # newest first
    assert open_ones == []
    assert lost.as_json()["history"][-1] == {"stage": "lost", "entered_at": T0 + 9 * DAY}


def test_errors_say_what_to_do(engine: Engine) -> None:
    org_id, rep, boss = _people(engine)
    with engine.begin() as conn:
        with pytest.raises(DealError, match="no organization 42"):
            create_deal(conn, 42, rep.id, amount=1)
        with pytest.raises(DealError, match="must be zero or more"):
            create_deal(conn, org_id, rep.id, amount=-5)
        with pytest.raises(DealError, match="not a currency code"):
            create_deal(conn, org_id, rep.id, amount=5, currency="euro")
        with pytest.raises(DealError, match="no stage 'pitch': use discovery, qualified"):
            create_deal(conn, org_id, rep.id, amount=5, stage="pitch")
        with pytest.raises(DealError, match="cannot start won"):
            create_deal(conn, org_id, rep.id, amount=5, stage="won")
        deal = create_deal(conn, org_id, rep.id, amount=5, at=T0)
        with pytest.raises(DealError, match="already in discovery"):
            move_stage(conn, deal.id, "discovery", T0 + 1)
        with pytest.raises(DealError, match="spoor deal won"):
            move_stage(conn, deal.id, "won", T0 + 1)
        with pytest.raises(DealError, match="times only move forward"):
            move_stage(conn, deal.id, "proposal", T0 - DAY)
        with pytest.raises(DealError, match="say which one"):
            lose(conn, deal.id, "competitor", at=T0 + 1)
        win(conn, deal.id, T0 + DAY)
        with pytest.raises(DealError, match="is closed \\(won\\)"):
            lose(conn, deal.id, "price", at=T0 + 2 * DAY)
        with pytest.raises(DealError, match="no deal 999"):
            get_deal(conn, 999)
        other = add_user(conn, "other@example.com", "correct horse battery", Role.REP, 1)
        with pytest.raises(DealError, match="Remi's; ask them or a manager"):
            check_may_change(get_deal(conn, deal.id), other)
        check_may_change(get_deal(conn, deal.id), boss)


def test_stages_can_be_added_changed_and_removed(engine: Engine) -> None:
    org_id, rep, _ = _people(engine)
    with engine.begin() as conn:
        demo = save_stage(conn, "demo", name="Demo given", position=2, probability=0.4)
        save_stage(conn, "proposal", position=3, probability=0.6)
        assert [s.key for s in list_stages(conn)][:4] == [
            "discovery",
            "qualified",
            "demo",
            "proposal",
        ]
        assert (demo.name, demo.probability, demo.closes) == ("Demo given", 0.4, False)
        deal = create_deal(conn, org_id, rep.id, amount=5, stage="demo", at=T0)
        with pytest.raises(StageError, match="1 deals are in stage 'demo'"):
            remove_stage(conn, "demo")
        with pytest.raises(StageError, match="between 0 and 1"):
            save_stage(conn, "demo", probability=2)
        with pytest.raises(StageError, match="the won stage is the only one"):
            remove_stage(conn, "won")
        with pytest.raises(StageError, match="outcome cannot change"):
            save_stage(conn, "demo", outcome="won")
        move_stage(conn, deal.id, "proposal", T0 + DAY)
        remove_stage(conn, "demo")
        assert "demo" not in [s.key for s in list_stages(conn)]
        # History keeps the stage it was in.
        assert [c.stage for c in get_deal(conn, deal.id).history] == ["demo", "proposal"]
