"""Cadences: a planned sequence of touches on an account, one task at a time.

The defaults follow DESIGN.md: a hand-raiser gets 13 touches over 14 days (6 calls, 5
e-mails, 2 LinkedIn), an identified visitor 11 over 21 days (5 e-mails, 4 calls, 2
LinkedIn). A run creates its next step's task when the previous one is done or skipped,
due on the step's day (or now, when the rep is behind), and stops on a reply, a meeting,
an opt-out or a "not interested"; call steps past the call cap are skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from spoor.db.schema import activities, cadence_runs, lead_signals, tasks
from spoor.ingest.rawhit import HitKind
from spoor.prospecting.claims import Claim, claim, reassign
from spoor.prospecting.tasks import (
    Task,
    TaskError,
    add_task,
    close_task,
    matching_task,
    own_open,
)
from spoor.users import User

DAY = 86_400
MAX_CALLS = 6
STOP_OUTCOMES = {"replied", "meeting_booked", "opted_out", "not_interested"}


@dataclass(frozen=True)
class Step:
    day: int  # days after the run started
    kind: str  # call | email | linkedin
    title: str


@dataclass(frozen=True)
class Cadence:
    key: str
    name: str
    steps: tuple[Step, ...]


def _cadence(key: str, name: str, plan: str) -> Cadence:
    """`plan` is "day:kind ..." in order; titles say which touch of its kind each is."""
    steps, seen = [], dict.fromkeys(("call", "email", "linkedin"), 0)
    for item in plan.split():
        day, kind = item.split(":")
        seen[kind] += 1
        label = {"call": "Call", "email": "E-mail", "linkedin": "LinkedIn message"}[kind]
        steps.append(Step(int(day), kind, f"{label} #{seen[kind]}"))
    return Cadence(key, name, tuple(steps))


CADENCES = {
    c.key: c
    for c in (
        _cadence("hand_raiser", "Hand-raiser: 13 touches over 14 days",
                 "0:call 0:email 1:call 1:linkedin 2:email 3:call 5:email 7:call 7:linkedin "
                 "9:email 11:call 13:email 13:call"),
        _cadence("identified", "Identified visitor: 11 touches over 21 days",
                 "0:email 1:linkedin 2:call 4:email 6:call 8:email 11:linkedin 13:call "
                 "15:email 18:call 20:email"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Run:
    id: int
    org_id: int
    user_id: int
    cadence: Cadence
    started_at: float
    stopped_at: float | None
    stop_reason: str | None
    done: int  # steps done or skipped

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "cadence": self.cadence.key, "name": self.cadence.name,
                "started_at": self.started_at, "stopped_at": self.stopped_at,
                "stop_reason": self.stop_reason, "steps": len(self.cadence.steps),
                "steps_done": self.done}  # fmt: skip


def _run(conn: Connection, row: Any) -> Run:
    done = conn.execute(
        select(func.count()).where(tasks.c.run_id == row.id, tasks.c.status != "open")
    ).scalar()
    return Run(row.id, row.org_id, row.user_id, CADENCES[row.cadence], row.started_at,
               row.stopped_at, row.stop_reason, int(done or 0))  # fmt: skip


def active_run(conn: Connection, org_id: int) -> Run | None:
    row = conn.execute(
        select(cadence_runs).where(
            cadence_runs.c.org_id == org_id, cadence_runs.c.stopped_at.is_(None)
        )
    ).first()
    return _run(conn, row) if row else None


def runs_of(conn: Connection, org_id: int) -> list[Run]:
    rows = conn.execute(
        select(cadence_runs)
        .where(cadence_runs.c.org_id == org_id)
        .order_by(cadence_runs.c.started_at.desc())
    )
    return [_run(conn, row) for row in rows]


def suggested(conn: Connection, org_id: int, now: float) -> str:
    """The hand-raiser cadence for an account that sent a form in the last 14 days."""
    s = lead_signals.c
    raised = conn.execute(
        select(func.max(s.ts)).where(s.org_id == org_id, s.kind == int(HitKind.FORM))
    ).scalar()
    return "hand_raiser" if raised is not None and now - raised < 14 * DAY else "identified"


def start(conn: Connection, org_id: int, user_id: int, key: str, now: float | None = None) -> Run:
    """Start a cadence on the account (stopping the one running, if any)."""
    if key not in CADENCES:
        raise TaskError(f"{key!r} is not a cadence: use {', '.join(CADENCES)}")
    now = time.time() if now is None else now
    running = active_run(conn, org_id)
    if running is not None:
        stop(conn, running, "replaced", now)
    inserted = conn.execute(
        cadence_runs.insert().values(org_id=org_id, user_id=user_id, cadence=key, started_at=now)
    )
    run_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    _next_step(conn, run_id, now)
    found = active_run(conn, org_id)
    assert found is not None
    return found


def claim_and_start(conn: Connection, org_id: int, user: User, now: float | None = None) -> Claim:
    """Claim the account and, unless one runs already, start the cadence that fits it."""
    now = time.time() if now is None else now
    held = claim(conn, org_id, user, now)
    if active_run(conn, org_id) is None:
        start(conn, org_id, user.id, suggested(conn, org_id, now), now)
    return held


def hand_over(conn: Connection, org_id: int, to: User, by: User, now: float | None = None) -> Claim:
    """A manager gives the account to another rep: the claim, the running cadence and the
    open tasks on it all move to them."""
    held = reassign(conn, org_id, to, by, time.time() if now is None else now)
    conn.execute(
        cadence_runs.update()
        .where(cadence_runs.c.org_id == org_id, cadence_runs.c.stopped_at.is_(None))
        .values(user_id=to.id)
    )
    conn.execute(
        tasks.update().where(tasks.c.org_id == org_id, tasks.c.status == "open")
        .values(user_id=to.id)
    )  # fmt: skip
    return held


def stop(conn: Connection, run: Run, reason: str, now: float) -> None:
    conn.execute(
        cadence_runs.update()
        .where(cadence_runs.c.id == run.id, cadence_runs.c.stopped_at.is_(None))
        .values(stopped_at=now, stop_reason=reason)
    )
    conn.execute(
        tasks.update()
        .where(tasks.c.run_id == run.id, tasks.c.status == "open")
        .values(status="skipped", closed_at=now, reason=f"cadence stopped: {reason}")
    )


def _next_step(conn: Connection, run_id: int, now: float) -> Task | None:
    """Create the run's next task; skip call steps past the cap; stop when none are left."""
    row = conn.execute(select(cadence_runs).where(cadence_runs.c.id == run_id)).one()
    cadence = CADENCES[row.cadence]
    taken = conn.execute(select(func.max(tasks.c.step)).where(tasks.c.run_id == run_id)).scalar()
    calls = conn.execute(
        select(func.count()).where(
            activities.c.org_id == row.org_id, activities.c.kind == "call",
            activities.c.at >= row.started_at,
        )
    ).scalar()  # fmt: skip
    for index in range(0 if taken is None else int(taken) + 1, len(cadence.steps)):
        step = cadence.steps[index]
        due = max(now, row.started_at + step.day * DAY)
        task = add_task(conn, row.org_id, row.user_id, step.kind, step.title, due, run_id,
                        index, now)  # fmt: skip
        if step.kind == "call" and int(calls or 0) >= MAX_CALLS:
            close_task(conn, task, "skipped", now, f"call cap: {MAX_CALLS} calls made")
            continue
        return task
    conn.execute(
        cadence_runs.update().where(cadence_runs.c.id == run_id)
        .values(stopped_at=now, stop_reason="finished")
    )  # fmt: skip
    return None


def finish(
    conn: Connection, task_id: int, user_id: int, status: str, reason: str | None = None,
    now: float | None = None,
) -> Task | None:  # fmt: skip
    """Mark a task done or skipped (a skip needs a reason); returns the cadence's next task."""
    now = time.time() if now is None else now
    task = own_open(conn, task_id, user_id)
    if status == "skipped" and not (reason or "").strip():
        raise TaskError("say why the task is skipped")
    if status not in ("done", "skipped"):
        raise TaskError(f"{status!r}: a task is done or skipped")
    close_task(conn, task, status, now, (reason or "").strip() or None)
    return _next_step(conn, task.run_id, now) if task.run_id is not None else None


def on_activity(
    conn: Connection, org_id: int, user_id: int | None, kind: str, outcome: str | None,
    now: float,
) -> Task | None:  # fmt: skip
    """An activity was logged: close the task it does, stop or advance the cadence.

    Returns the cadence's next task, if the activity led to one.
    """
    running = active_run(conn, org_id)
    if outcome in STOP_OUTCOMES and running is not None:
        stop(conn, running, str(outcome), now)
        running = None
    task = matching_task(conn, org_id, kind, user_id)
    if task is None:
        return None
    close_task(conn, task, "done", now)
    if task.run_id is not None and running is not None and task.run_id == running.id:
        return _next_step(conn, task.run_id, now)
    return None
