"""Sign-in, sign-out, and the signed-in person's own account: password and API tokens."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.users import (
    UserError,
    authenticate,
    change_password,
    create_token,
    list_tokens,
    revoke_token,
)
from spoor.web.auth import check_csrf, guard, session_user, sign_in, sign_out
from spoor.web.render import page, read, write


def _next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def login(request: Request) -> Response:
    target = _next(request.query_params.get("next"))
    if request.method == "GET":
        if await session_user(request):
            return RedirectResponse(target, 303)
        return page(request, "login.html", next=target, email="")
    await check_csrf(request)
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _next(str(form.get("next", "/")))
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    keys = [f"ip:{client}", f"email:{email.strip().lower()}"]
    wait = limiter.retry_after(keys)
    if wait:
        message = f"Too many failed sign-ins. Try again in {wait // 60 + 1} minutes."
        return page(request, "login.html", 429, next=target, email=email, error=message)
    user = await write(request, lambda conn: authenticate(conn, email, password))
    if user is None:
        limiter.failed(keys)
        message = "That e-mail address and password do not match an active account."
        return page(request, "login.html", 401, next=target, email=email, error=message)
    limiter.succeeded(keys[1:])
    sign_in(request, user)
    return RedirectResponse(target, 303)


async def logout(request: Request) -> Response:
    # A POST with the CSRF token, so no other site can sign a person out.
    await check_csrf(request)
    sign_out(request)
    return RedirectResponse("/login", 303)


@guard()
async def account(request: Request) -> Response:
    user = request.state.user
    message = error = None
    new_token = None
    if request.method == "POST":
        form = await request.form()
        action = form.get("action")
        try:
            if action == "password":
                current, new = str(form.get("current", "")), str(form.get("new", ""))
                if new != form.get("repeat"):
                    raise UserError("the two new passwords differ")
                await write(request, lambda conn: change_password(conn, user, current, new))
                # The change ended every session; this one goes on under the new epoch.
                sign_in(request, replace(user, session_epoch=user.session_epoch + 1))
                message = "Password changed. Other sessions have been signed out."
            elif action == "token":
                name = str(form.get("name", ""))
                new_token = await write(
                    request, lambda conn: create_token(conn, user.id, name, int(time.time()))
                )
                message = "Token created. Copy it now: it is not shown again."
            elif action == "revoke":
                token_id = int(str(form.get("token_id", "0")))
                await write(request, lambda conn: revoke_token(conn, token_id, user))
                message = "Token revoked."
        except (UserError, ValueError) as exc:
            error = str(exc)
    tokens = await read(request, lambda conn: list_tokens(conn, user.id))
    status = 400 if error else 200
    return page(
        request, "account.html", status, tokens=tokens, message=message, error=error,
        new_token=new_token,
    )  # fmt: skip
