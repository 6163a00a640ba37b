"""Follow-up tasks: what a rep has to do next on an account, and when.

A task is one-off (a rep's own reminder) or a cadence's step (`run_id`, `step`). Logging an
activity of the task's kind on the account closes the oldest such task, so reps log what
they did and the list keeps itself; they can also snooze or skip a task with a reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select

from spoor.db.schema import org_corrections, organizations, tasks
from spoor.identify.corrections import shown_name

TASK_KINDS = ("call", "email", "linkedin", "meeting", "todo")


class TaskError(ValueError):
    """A task that cannot be made or changed; the message says why."""


@dataclass(frozen=True)
class Task:
    id: int
    org_id: int
    org: str  # the account's name
    user_id: int
    kind: str
    title: str
    due_at: float
    status: str
    reason: str | None
    run_id: int | None
    step: int | None

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "org_id": self.org_id, "org": self.org, "kind": self.kind,
                "title": self.title, "due_at": self.due_at, "status": self.status,
                "reason": self.reason, "cadence_step": self.step}  # fmt: skip


def _task(row: Row[Any]) -> Task:
    return Task(row.id, row.org_id, row.org or f"organization {row.org_id}", row.user_id,
                row.kind, row.title, row.due_at, row.status, row.reason, row.run_id,
                row.step)  # fmt: skip


def _query() -> Any:
    return (
        select(tasks, shown_name().label("org"))
        .join(organizations, organizations.c.id == tasks.c.org_id, isouter=True)
        .join(org_corrections, org_corrections.c.org_id == tasks.c.org_id, isouter=True)
    )


def add_task(
    conn: Connection, org_id: int, user_id: int, kind: str, title: str, due_at: float,
    run_id: int | None = None, step: int | None = None, now: float | None = None,
) -> Task:  # fmt: skip
    if kind not in TASK_KINDS:
        raise TaskError(f"{kind!r} is not a task: use {', '.join(TASK_KINDS)}")
    if not title.strip():
        raise TaskError("a task needs a title")
    inserted = conn.execute(
        tasks.insert().values(
            org_id=org_id, user_id=user_id, kind=kind, title=title.strip()[:300], due_at=due_at,
            run_id=run_id, step=step, created_at=time.time() if now is None else now,
        )
    )  # fmt: skip
    return get_task(conn, int(inserted.inserted_primary_key[0]))  # type: ignore[index]


def get_task(conn: Connection, task_id: int) -> Task:
    row = conn.execute(_query().where(tasks.c.id == task_id)).first()
    if row is None:
        raise TaskError(f"no task {task_id}")
    return _task(row)


def open_tasks(
    conn: Connection, user_id: int | None = None, org_ids: list[int] | None = None,
    due_before: float | None = None,
) -> list[Task]:  # fmt: skip
    """Open tasks, soonest first; for one rep, some accounts, or those due by a time."""
    query = _query().where(tasks.c.status == "open").order_by(tasks.c.due_at, tasks.c.id)
    if user_id is not None:
        query = query.where(tasks.c.user_id == user_id)
    if org_ids is not None:
        query = query.where(tasks.c.org_id.in_(org_ids))
    if due_before is not None:
        query = query.where(tasks.c.due_at <= due_before)
    return [_task(row) for row in conn.execute(query)]


def close_task(
    conn: Connection, task: Task, status: str, now: float, reason: str | None = None
) -> None:
    conn.execute(
        tasks.update()
        .where(tasks.c.id == task.id, tasks.c.status == "open")
        .values(status=status, closed_at=now, reason=reason)
    )


def matching_task(conn: Connection, org_id: int, kind: str, user_id: int | None) -> Task | None:
    """The open task an activity of `kind` on the account does: the rep's own first."""
    query = _query().where(tasks.c.org_id == org_id, tasks.c.kind == kind, tasks.c.status == "open")
    mine = func.coalesce(tasks.c.user_id == user_id, False)
    row = conn.execute(query.order_by(mine.desc(), tasks.c.due_at, tasks.c.id).limit(1)).first()
    return _task(row) if row else None


def snooze(conn: Connection, task_id: int, until: float, reason: str, user_id: int) -> Task:
    task = own_open(conn, task_id, user_id)
    if not reason.strip():
        raise TaskError("say why the task waits (a snooze needs a reason)")
    conn.execute(
        tasks.update().where(tasks.c.id == task.id).values(due_at=until, reason=reason.strip())
    )
    return get_task(conn, task_id)


def own_open(conn: Connection, task_id: int, user_id: int) -> Task:
    """The rep's own open task, or TaskError saying why not."""
    task = get_task(conn, task_id)
    if task.status != "open":
        raise TaskError(f"task {task_id} is already {task.status}")
    if task.user_id != user_id:
        raise TaskError(f"task {task_id} is someone else's")
    return task
