"""The public opt-out page: a visitor refuses (or accepts again) tracking on one site.

It sets no cookie until the visitor chooses, and no session: the choice itself is the
only thing stored, in the visitor's browser (privacy/optout.py).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.privacy import optout
from spoor.sites import Site, SiteError, find_site, get_site
from spoor.web.render import TEMPLATES, read


def _lookup(conn: Connection, ref: str) -> Site | None:
    """A site by domain (also one without a dot, such as localhost) or public id."""
    try:
        return get_site(conn, ref) or find_site(conn, ref)
    except SiteError:
        return find_site(conn, ref)


async def _site(request: Request, ref: str) -> Site | None:
    return await read(request, lambda conn: _lookup(conn, ref)) if ref else None


def _render(request: Request, site: Site | None, status: int = 200) -> Response:
    cookie = request.headers.get("cookie")
    chosen = site is not None and optout.opted_out(cookie, site.public_id)
    context = {"user": None, "csrf": "", "path": request.url.path, "site": site,
               "opted_out": chosen}  # fmt: skip
    response = TEMPLATES.TemplateResponse(request, "optout.html", context, status_code=status)
    response.headers["cache-control"] = "no-store"
    return response


async def opt_out_page(request: Request) -> Response:
    site = await _site(request, request.query_params.get("site", ""))
    return _render(request, site, 200 if site else 404)


async def change_opt_out(request: Request) -> Response:
    # A cross-origin form may not choose for the visitor (no CSRF token: no session here).
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        return Response("refused: a form on another site", 403)
    form = await request.form()
    site = await _site(request, str(form.get("site", "")))
    if site is None:
        return _render(request, None, 404)
    out = form.get("choice") == "out"
    value = optout.changed(request.headers.get("cookie"), site.public_id, out)
    secure = request.app.state.settings.public_url.startswith("https://")
    response = RedirectResponse(f"/opt-out?site={quote(site.domain)}", 303)
    if value:
        # Cross-site beacons carry only SameSite=None cookies, which must be Secure (https).
        response.set_cookie(
            optout.COOKIE, value, max_age=optout.MAX_AGE, httponly=True, secure=secure,
            samesite="none" if secure else "lax",
        )  # fmt: skip
    else:
        response.delete_cookie(optout.COOKIE, httponly=True, secure=secure)
    return response
