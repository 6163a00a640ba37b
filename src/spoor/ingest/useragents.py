"""Browser, operating system and device type from a user agent (ua-parser), cached."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from ua_parser import parse


class Client(NamedTuple):
    browser: str | None
    os: str | None
    device: str  # desktop | mobile | tablet | unknown


_MOBILE_OS = {"Android", "iOS", "Windows Phone", "BlackBerry OS", "KaiOS"}
_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk/", "playbook")


def _device_type(ua: str, os_family: str | None) -> str:
    lowered = ua.lower()
    if any(hint in lowered for hint in _TABLET_HINTS):
        return "tablet"
    if os_family == "Android" and "mobile" not in lowered:
        return "tablet"  # Android tablets omit "Mobile" by Google's convention
    if os_family in _MOBILE_OS or "mobile" in lowered:
        return "mobile"
    if os_family is None:
        return "unknown"
    return "desktop"


@lru_cache(maxsize=65536)
def parse_client(user_agent: str) -> Client:
    if not user_agent:
        return Client(None, None, "unknown")
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_family = result.os.family if result.os else None
    browser = None if browser == "Other" else browser
    os_family = None if os_family == "Other" else os_family
    return Client(browser, os_family, _device_type(user_agent, os_family))
