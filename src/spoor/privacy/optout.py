"""The visitor opt-out: a cookie on Spoor's own origin, set by the public /opt-out page,
listing the sites (by public id) whose tracking the visitor refused.

The tracker stays free of cookies and storage: the browser attaches this cookie to the
tracker's beacons to Spoor by itself, and the collect endpoints acknowledge and drop every
hit that carries it for its site. Nobody who has not opted out gets a cookie. The cookie is
sent when Spoor is same-site with the tracked site (e.g. stats.example.com for
www.example.com), or cross-site where the browser allows third-party cookies;
docs/privacy.md has the details and the limits.
"""

from __future__ import annotations

import re

COOKIE = "spoor_optout"
MAX_AGE = 2 * 365 * 86400  # two years, then the visitor is asked again by nobody: it lapses
_ID = re.compile(r"^[\w-]{1,32}$")  # a site's public id (secrets.token_urlsafe)
_VALUE = re.compile(rf"(?:^|;)\s*{COOKIE}=([^;]*)")


def sites_in(cookie_header: str | None) -> frozenset[str]:
    """The site public ids an incoming Cookie header opts out of."""
    if not cookie_header or COOKIE not in cookie_header:
        return frozenset()
    match = _VALUE.search(cookie_header)
    if match is None:
        return frozenset()
    return frozenset(p for p in match.group(1).strip('"').split(".") if _ID.match(p))


def opted_out(cookie_header: str | None, public_id: str) -> bool:
    return public_id in sites_in(cookie_header)


def changed(cookie_header: str | None, public_id: str, out: bool) -> str:
    """The cookie's new value: this site added (out) or removed (back in). Ids are joined
    with dots, which need no quoting in a cookie."""
    ids = set(sites_in(cookie_header))
    if out:
        ids.add(public_id)
    else:
        ids.discard(public_id)
    return ".".join(sorted(ids))
