"""Where a visit came from: referrer source and channel, and UTM campaign fields."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from referer_parser import REFERERS

_PAID_MEDIA = {
    "cpc",
    "ppc",
    "paid",
    "paidsearch",
    "paid_search",
    "paid-social",
    "paid_social",
    "display",
    "cpm",
    "retargeting",
}
_PAID_CLICK_IDS = ("gclid", "msclkid", "fbclid_ads", "dclid", "wbraid", "gbraid")
_UTM = ("utm_campaign", "utm_source", "utm_medium", "utm_term", "utm_content")


class Campaign(NamedTuple):
    campaign: str | None
    source: str | None
    medium: str | None
    term: str | None
    content: str | None
    paid_click: bool

    @property
    def key(self) -> str | None:
        """What identifies the campaign for visit splitting (a change starts a new visit)."""
        if self.campaign or self.source or self.medium:
            return f"{self.campaign}|{self.source}|{self.medium}"
        return None


NO_CAMPAIGN = Campaign(None, None, None, None, None, False)


def campaign_from_query(query: str) -> Campaign:
    if not query or ("utm_" not in query and "clid" not in query and "braid" not in query):
        return NO_CAMPAIGN
    params = {k.lower(): v[:200] for k, v in parse_qsl(query, keep_blank_values=False)}
    paid = any(p in params for p in _PAID_CLICK_IDS)
    values = [params.get(name) or None for name in _UTM]
    return Campaign(values[0], values[1], values[2], values[3], values[4], paid)


class Origin(NamedTuple):
    channel: str
    source: str | None  # "Google", "LinkedIn", "newsletter", "partner.example"


@lru_cache(maxsize=16384)
def _referrer_host(referrer: str) -> str | None:
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "android-app"):
        return None
    host = parts.hostname
    return host.lower() if host else None


@lru_cache(maxsize=16384)
def _known_referrer(host: str) -> tuple[str, str] | None:
    """(name, medium) from the Snowplow referer list, trying parent domains too."""
    labels = host.split(".")
    for i in range(len(labels) - 1):
        entry = REFERERS.get(".".join(labels[i:]))
        if entry:
            return entry["name"], entry["medium"]
    return None


def classify(referrer: str | None, site_host: str | None, campaign: Campaign) -> Origin:
    """The channel of a visit from its first hit's referrer and campaign parameters."""
    medium = (campaign.medium or "").lower()
    if campaign.paid_click or medium in _PAID_MEDIA:
        return Origin("paid", _source(campaign.source) or _source_name(referrer))
    if medium in ("email", "e-mail", "newsletter"):
        return Origin("email", _source(campaign.source))
    host = _referrer_host(referrer) if referrer else None
    if host is None or _same_site(host, site_host):
        if campaign.source:
            return Origin(_medium_channel(medium), _source(campaign.source))
        return Origin("direct", None)
    known = _known_referrer(host)
    if known:
        name, kind = known
        channel = {"search": "search", "social": "social", "email": "email"}.get(kind, "referral")
        return Origin(channel, name)
    if medium:
        return Origin(_medium_channel(medium), _source(campaign.source) or host)
    return Origin("referral", host.removeprefix("www."))


# Campaign sources are typed by hand ("google", "LinkedIn"): known names get one spelling.
_CANONICAL = {entry["name"].lower(): entry["name"] for entry in REFERERS.values()}


def _source(name: str | None) -> str | None:
    return _CANONICAL.get(name.lower(), name) if name else None


def _medium_channel(medium: str) -> str:
    if medium in ("social", "social-network", "sm"):
        return "social"
    if medium in ("organic", "search"):
        return "search"
    return "referral"


def _source_name(referrer: str | None) -> str | None:
    host = _referrer_host(referrer) if referrer else None
    if host is None:
        return None
    known = _known_referrer(host)
    return known[0] if known else host.removeprefix("www.")


def _same_site(host: str, site_host: str | None) -> bool:
    if not site_host:
        return False
    a, b = host.removeprefix("www."), site_host.lower().removeprefix("www.")
    return a == b or a.endswith("." + b)


def is_internal(referrer: str | None, site_host: str | None) -> bool:
    host = _referrer_host(referrer) if referrer else None
    return host is not None and _same_site(host, site_host)
