"""Who is asking: signed session cookies, API tokens, roles, CSRF and sign-in limits.

Every page handler is wrapped by `guard(role)`, which loads the signed-in user (or sends
the browser to the sign-in page), checks the role, and checks the CSRF token of every
unsafe request. The JSON API takes a bearer token instead (or the session with the CSRF
header, for the app's own scripts).
"""

from __future__ import annotations

import functools
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from spoor.settings import Settings
from spoor.users import Role, User, get_user, user_for_token

Handler = Callable[[Request], Awaitable[Response]]
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_DAYS = 14


def secret_key(settings: Settings) -> str:
    """SPOOR_SECRET_KEY, else a random key made once and kept (0600) in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def csrf_token(conn: HTTPConnection) -> str:
    """This session's CSRF token (made on first use; it lives as long as the session)."""
    token = conn.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        conn.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not (isinstance(expected, str) and sent and secrets.compare_digest(expected, sent)):
        raise HTTPException(
            403, "The form has expired or did not come from Spoor: reload the page."
        )


def sign_in(request: Request, user: User) -> None:
    # A fresh session (and CSRF token) at sign-in, so nothing set before carries over.
    request.session.clear()
    request.session.update({"uid": user.id, "epoch": user.session_epoch, "at": int(time.time())})
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def _engine(conn: HTTPConnection) -> Engine:
    engine: Engine = conn.app.state.engine
    return engine


def _load_session_user(engine: Engine, uid: int, epoch: int) -> User | None:
    with engine.connect() as conn:
        user = get_user(conn, uid)
    if user is None or user.disabled or user.session_epoch != epoch:
        return None
    return user


async def session_user(conn: HTTPConnection) -> User | None:
    uid, epoch, at = (conn.session.get(k) for k in ("uid", "epoch", "at"))
    if not (isinstance(uid, int) and isinstance(epoch, int) and isinstance(at, int)):
        return None
    if time.time() - at > SESSION_DAYS * 86400:
        return None
    return await run_in_threadpool(_load_session_user, _engine(conn), uid, epoch)


def _load_token_user(engine: Engine, token: str) -> User | None:
    with engine.begin() as conn:
        return user_for_token(conn, token, int(time.time()))


async def token_user(conn: HTTPConnection) -> User | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await run_in_threadpool(_load_token_user, _engine(conn), token.strip())


def guard(role: Role = Role.REP) -> Callable[[Handler], Handler]:
    """Wrap a page handler: signed in, allowed by role, CSRF-checked when unsafe."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            user = await session_user(request)
            if user is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", 303)
            request.state.user = user  # also for the error page's navigation
            if not user.role.allows(role):
                raise HTTPException(403, f"This needs the {role.value} role.")
            if request.method in UNSAFE:
                await check_csrf(request)
            return await handler(request)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return wrap


class LoginLimiter:
    """Failed sign-ins per address and per account in a sliding window (in memory)."""

    def __init__(self, attempts: int, window: float = 15 * 60) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, keys: list[str], now: float | None = None) -> int:
        """Seconds until a sign-in may be tried again for these keys (0: now)."""
        now = time.monotonic() if now is None else now
        waits = [
            int(f[0] + self.window - now) + 1
            for f in (self._recent(k, now) for k in keys)
            if len(f) >= self.attempts
        ]
        return max(waits, default=0)

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
