"""Human visits: who comes on a given day, when, from where, what they read, what they load.

Every person from ``DemoCompany.people`` keeps a browser (user agent, protocol), a network
and a role; their organization's ``buyer_interest`` shapes how deep evaluators go and how
likely they are to request a demo. Business visits follow office hours in the visitor's own
time zone, consumer networks peak in the evening, and businesses go through evaluation
windows in which their people visit far more often.
"""

from __future__ import annotations

import base64
import random
from bisect import bisect
from collections.abc import Callable, Sequence
from datetime import date
from itertools import accumulate
from zoneinfo import ZoneInfo

from spoor.demo.catalogue import (
    BING_QUERIES,
    PAID_CAMPAIGNS,
    REFERRAL_SITES,
    SOCIAL_REFERRERS,
    TIMEZONES,
)
from spoor.demo.company import Campaign, DemoCompany, Organization, Person, random_host
from spoor.demo.site import (
    BROKEN,
    HTTP,
    NOT_FOUND_BYTES,
    REDIRECT_BYTES,
    Clock,
    Site,
    SitePage,
    utc_offset,
)
from spoor.demo.useragents import browser_user_agent

Events = list[tuple[int, str]]
REFERENCE_VISITS = 400.0  # the volume the catalogue's audience and the bot rates are sized for

# Share of a weekday's visits per segment, and what is left of it on weekends and holidays.
_SEGMENTS = ("business", "isp", "mobile", "education", "government")
# Fewer than a hundred businesses share the identifiable part, so it is kept modest.
_SHARE = {"business": 0.13, "isp": 0.54, "mobile": 0.28, "education": 0.04, "government": 0.01}
_WEEKEND = {"business": 0.06, "isp": 0.7, "mobile": 0.85, "education": 0.3, "government": 0.02}
_HOLIDAY = {"business": 0.2, "isp": 0.9, "mobile": 1.0, "education": 0.3, "government": 0.1}
_HOURS = {  # local hour-of-day weights
    "office": (0, 0, 0, 0, 0, 0, .1, .8, 3, 6, 7, 6.5, 4, 5, 6.5, 6, 5, 3, 1.2, .6, .5, .4, .2, .1),
    "home": (.5, .2, .1, .1, .1, .2, .6, 1.5, 2, 2.3, 2.6, 2.8, 3, 2.9, 2.8, 2.8, 3, 3.6,
             4.4, 5.4, 6, 5.4, 3.8, 1.8),
    "mobile": (.4, .2, .1, .1, .1, .3, 1.2, 3.2, 3.6, 2.8, 2.6, 2.8, 3.8, 3, 2.6, 2.6, 3, 3.8,
               3.6, 3.6, 4.2, 4.4, 3.2, 1.4),
    "campus": (.3, .1, 0, 0, 0, 0, .1, .5, 2, 4, 5, 5, 4, 5, 5, 4.5, 4, 3, 2.5, 2.5, 3, 3, 2, 1),
}  # fmt: skip
_SEGMENT_HOURS = {"business": "office", "isp": "home", "mobile": "mobile"}
_SEGMENT_HOURS.update(education="campus", government="office")

# Page-type weights per role; job seekers read careers pages only.
_INTENT: dict[str, dict[str, float]] = {
    "evaluator": {"product": 5, "pricing": 4, "case_study": 2.5, "comparison": 1.6,
                  "integration": 2, "security": 1.2, "docs": 1, "home": 1, "blog": 1,
                  "demo": 0.8, "contact": 0.3, "legal": 0.2},
    "developer": {"docs": 6, "integration": 3, "security": 1.5, "product": 1.5, "pricing": 1,
                  "home": 0.5, "blog": 0.8},
    "reader": {"blog": 6, "home": 1, "product": 1, "pricing": 0.4, "case_study": 0.4,
               "careers": 0.15},
    "job_seeker": {"careers": 1},
    "customer": {"docs": 6, "integration": 1, "security": 0.5, "blog": 0.5, "contact": 0.2,
                 "legal": 0.3},
    "investor": {"investors": 3, "blog": 1, "home": 1, "case_study": 0.4},
    "casual": {"home": 2, "product": 1, "blog": 1.2, "pricing": 0.5, "careers": 0.3,
               "legal": 0.3},
}  # fmt: skip
_MEAN_PAGES = {"developer": 3.2, "reader": 1.5, "job_seeker": 2.2, "customer": 2.6}
_MEAN_PAGES.update(investor=1.6, casual=1.3)
# direct, search, social, referral, paid
_CHANNELS = {
    "evaluator": (35, 36, 8, 13, 8), "developer": (30, 55, 3, 12, 0),
    "reader": (10, 55, 25, 10, 0), "job_seeker": (20, 25, 50, 5, 0),
    "customer": (70, 25, 0, 5, 0), "investor": (40, 40, 15, 5, 0), "casual": (30, 40, 20, 10, 0),
}  # fmt: skip
_NO_ENTRY = {"/demo/thanks", "/contact/thanks"}


class Visitor:
    __slots__ = (
        "base_weight", "home", "interest", "last_day", "org", "pool", "proto", "raised", "role",
        "search", "segment", "tail", "tz", "v4", "v6", "visits", "weight",
    )  # fmt: skip

    def __init__(self, person: Person, org: Organization, tz: int, pool: Sequence[str]) -> None:
        self.org = org
        self.role = person.role
        self.segment = org.kind if org.kind != "hosting" else "isp"
        self.tz = tz
        self.v4 = person.ipv4
        self.v6 = person.ipv6
        self.home = person.home_ipv4
        self.pool = pool if person.dynamic_ip else ()
        self.tail = f'" "{person.user_agent}"\n'
        self.proto = 1 if person.http2 else 0
        self.interest = org.buyer_interest if org.kind == "business" else 0.3
        self.last_day = -(10**6)  # day index of the previous visit (browser cache state)
        self.raised = False
        self.visits = 0
        self.search = ""
        self.base_weight = self.weight = 1.0


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


class HumanTraffic:
    def __init__(
        self, company: DemoCompany, site: Site, clock: Clock, rng: random.Random, vpd: float
    ) -> None:
        self.site = site
        self.clock = clock
        self.rng = rng
        self.vpd = vpd
        self.campaigns = company.campaigns
        orgs = {o.name: o for o in company.organizations}
        self.zones = sorted({TIMEZONES.get(o.country, company.timezone) for o in orgs.values()})
        self.zone_info = [ZoneInfo(z) for z in self.zones]
        pools = {o.name: self._address_pool(o) for o in orgs.values() if o.kind == "mobile"}
        self.visitors: dict[str, list[Visitor]] = {s: [] for s in _SEGMENTS}
        for person in self._audience(company, orgs):
            org = orgs[person.organization]
            tz = self.zones.index(TIMEZONES.get(org.country, company.timezone))
            v = Visitor(person, org, tz, pools.get(org.name, ()))
            v.search = _search_referrer(org.country)
            # A heavy tail of loyal readers, a long tail of one-off visitors; at businesses
            # the organization's interest matters more than the individual.
            if org.kind == "business":
                weight = (0.2 + org.buyer_interest) * min(3.0, rng.paretovariate(2.5))
            else:
                weight = min(25.0, rng.paretovariate(1.5))
            v.base_weight = v.weight = weight * _ROLE_WEIGHT[v.role]
            self.visitors[v.segment].append(v)
        self.cumulative = {
            s: _cumulative([v.weight for v in vs]) for s, vs in self.visitors.items()
        }
        # Evaluation windows: each business cycles through them at its own phase.
        self.phase = {name: rng.random() for name in sorted(orgs)}
        self.hours = {k: _cumulative(w) for k, w in _HOURS.items()}
        self.intent = {role: self._intent_table(w) for role, w in _INTENT.items()}
        self.channels = {role: _cumulative(w) for role, w in _CHANNELS.items()}
        self.social = _cumulative([w for _, w in SOCIAL_REFERRERS])
        self.tco = [f"https://t.co/{self._token(8)}" for _ in range(24)]
        self.utm: dict[tuple[Campaign, str, str], str] = {}
        self.today = 0
        self.visits = 0  # visits generated so far (for volume calibration)

    def _audience(self, company: DemoCompany, orgs: dict[str, Organization]) -> list[Person]:
        """The catalogue's people, with the anonymous consumer audience sized to the volume.

        The catalogue holds the audience of a site with ``REFERENCE_VISITS`` visits a day;
        a busier site has proportionally more anonymous readers (extra people are made up
        on consumer networks), a quieter one fewer. Businesses stay as catalogued.
        """
        rng = self.rng
        factor = self.vpd / REFERENCE_VISITS
        people: list[Person] = []
        consumers: list[Person] = []
        for person in company.people:
            if orgs[person.organization].kind in {"isp", "mobile"}:
                consumers.append(person)
                if factor < 1.0 and rng.random() >= max(factor, 0.1):
                    continue
            people.append(person)
        for i in range(int(len(consumers) * max(0.0, factor - 1.0))):
            like = consumers[int(rng.random() * len(consumers))]
            org = orgs[like.organization]
            profile = "mobile" if org.kind == "mobile" or rng.random() < 0.3 else "home"
            v6 = random_host(rng, org.ipv6) if org.ipv6 and rng.random() < 0.35 else None
            people.append(
                Person(
                    f"x{i:06d}",
                    org.name,
                    like.role,
                    browser_user_agent(rng, profile),
                    random_host(rng, org.ipv4),
                    v6,
                    None,
                    like.dynamic_ip,
                    rng.random() < 0.93,
                )
            )
        return people

    def _address_pool(self, org: Organization) -> list[str]:
        """Carrier-grade NAT: a few thousand shared addresses, a fresh one per visit."""
        return [random_host(self.rng, org.ipv4) for _ in range(3000)]

    def _token(self, n: int) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(n)).decode().rstrip("=")

    def _intent_table(self, type_weights: dict[str, float]) -> tuple[list[float], list[SitePage]]:
        pages: list[SitePage] = []
        weights: list[float] = []
        for page_type, w in type_weights.items():
            members = [
                p for p in self.site.pages if p.type == page_type and p.path not in _NO_ENTRY
            ]
            # Within a type, the first-listed pages are the popular ones (Zipf-like).
            norm = sum(1 / (r + 1) ** 0.7 for r in range(len(members)))
            for rank, page in enumerate(members):
                pages.append(page)
                weights.append(w / (rank + 1) ** 0.7 / norm)
        return _cumulative(weights), pages

    def _pick(self, role: str) -> SitePage:
        cumulative, pages = self.intent[role]
        return pages[bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _refresh_business_weights(self, day: date) -> None:
        ordinal = day.toordinal()
        for v in self.visitors["business"]:
            interest = v.org.buyer_interest
            active = (ordinal / 140 + self.phase[v.org.name]) % 1.0 < 0.1 + 0.3 * interest
            # Interested accounts come in bursts: busy while evaluating, quiet in between.
            v.weight = v.base_weight * (1.0 + 2.0 * interest if active else 1.0 - 0.6 * interest)
        self.cumulative["business"] = _cumulative([v.weight for v in self.visitors["business"]])

    def _draw(self, segment: str) -> Visitor | None:
        cumulative = self.cumulative[segment]
        if not cumulative:
            return None
        return self.visitors[segment][bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _means(self, day: date, index: int) -> tuple[list[float], list[float]]:
        """Expected visits per segment and per campaign on ``day`` (before daily noise)."""
        weekend = day.weekday() >= 5
        holiday = (day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1)
        base = self.vpd * 1.2 ** (index / 365)  # about 20% growth a year
        segments = []
        for segment in _SEGMENTS:
            mean = base * _SHARE[segment]
            if weekend:
                mean *= _WEEKEND[segment]
            if holiday:
                mean *= _HOLIDAY[segment]
            segments.append(mean)
        campaigns = [self.vpd * c.lift_on(day) * (0.35 if weekend else 1.0) for c in self.campaigns]
        return segments, campaigns

    def expected_visits(self, day: date, index: int) -> float:
        segments, campaigns = self._means(day, index)
        return sum(segments) + sum(campaigns)

    def day(self, day: date, index: int, midnight: int, events: Events) -> None:
        rng = self.rng
        self.today = index
        self._refresh_business_weights(day)
        offsets = [utc_offset(z, day) for z in self.zone_info]
        segment_means, campaign_means = self._means(day, index)
        noise = max(0.5, rng.gauss(1.0, 0.08))
        for segment, mean in zip(_SEGMENTS, segment_means, strict=True):
            hours = self.hours[_SEGMENT_HOURS[segment]]
            for _ in range(count(rng, mean * noise)):
                v = self._draw(segment)
                if v is not None:
                    t = midnight + self._local_second(hours) - offsets[v.tz]
                    self.visit(v, t, events)
        for campaign, mean in zip(self.campaigns, campaign_means, strict=True):
            for _ in range(count(rng, mean)):
                # Campaign lists are mostly people at work, but mails are read at home too.
                r = rng.random()
                segment = "business" if r < 0.35 else "isp" if r < 0.8 else "mobile"
                v = self._draw(segment)
                if v is not None:
                    hours = self.hours[_SEGMENT_HOURS[segment]]
                    t = midnight + self._local_second(hours) - offsets[v.tz]
                    self.visit(v, t, events, self._campaign_entry(campaign, day))

    def _local_second(self, hours: list[float]) -> int:
        rnd = self.rng.random
        return bisect(hours, rnd() * hours[-1]) * 3600 + int(rnd() * 3600)

    def _campaign_entry(self, campaign: Campaign, day: date) -> tuple[SitePage, str, str]:
        rng = self.rng
        source, medium = campaign.channels[int(rng.random() * len(campaign.channels))]
        key = (campaign, source, medium)
        query = self.utm.get(key)
        utm = campaign.utm_campaign(day)
        if query is None or utm not in query:
            query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={utm}"
            self.utm[key] = query
        if medium == "cpc":
            query += f"&gclid={self._token(36)}"
            referrer = "https://www.google.com/"
        elif source == "linkedin":
            referrer = "https://www.linkedin.com/"
        elif medium == "referral":
            referrer = f"https://www.datahaven-consulting.example/events/{campaign.name}"
        else:  # webmail and desktop clients mostly strip the referrer
            r = rng.random()
            if r < 0.75:
                referrer = "-"
            elif r < 0.9:
                referrer = "https://mail.google.com/"
            else:
                referrer = "https://outlook.office.com/"
        page = self.site.by_path.get(campaign.landing_path) or self.site.pages[0]
        return page, query, referrer

    def _entry(self, v: Visitor) -> tuple[SitePage, str, str]:
        rng = self.rng
        role = v.role
        cumulative = self.channels[role]
        channel = bisect(cumulative, rng.random() * cumulative[-1])
        query = ""
        if channel == 0:
            referrer = "-"
            if role in {"evaluator", "casual", "investor"} and rng.random() < 0.5:
                return self.site.pages[0], query, referrer
        elif channel == 1:
            r = rng.random()
            if r < 0.09 and role in BING_QUERIES:
                queries = BING_QUERIES[role]
                query_text = queries[int(rng.random() * len(queries))]
                referrer = f"https://www.bing.com/search?q={query_text}"
            elif r < 0.14:
                referrer = "https://duckduckgo.com/"
            elif r < 0.18:
                referrer = "https://www.ecosia.org/"
            elif r < 0.45:
                referrer = v.search
            else:
                referrer = "https://www.google.com/"
        elif channel == 2:
            referrer = SOCIAL_REFERRERS[bisect(self.social, rng.random() * self.social[-1])][0]
            if referrer == "https://t.co/":
                referrer = self.tco[int(rng.random() * len(self.tco))]
        elif channel == 3:
            referrer = REFERRAL_SITES[int(rng.random() * len(REFERRAL_SITES))]
        else:
            campaign = PAID_CAMPAIGNS[int(rng.random() * len(PAID_CAMPAIGNS))]
            query = f"?utm_source=google&utm_medium=cpc&utm_campaign={campaign}"
            query += f"&gclid={self._token(36)}"
            referrer = "https://www.google.com/"
            landing = ("/", "/pricing", "/product", "/compare/northwind-vs-chartwell")
            return self.site.by_path[landing[int(rng.random() * len(landing))]], query, referrer
        return self._pick(role), query, referrer

    def visit(
        self,
        v: Visitor,
        t: int,
        events: Events,
        entry: tuple[SitePage, str, str] | None = None,
    ) -> None:
        rng = self.rng
        rnd = rng.random
        emit = events.append
        stamp = self.clock.stamp
        self.visits += 1
        v.visits += 1
        if v.pool:
            ip = v.pool[int(rnd() * len(v.pool))]
        elif v.v6 is not None and rnd() < 0.85:
            ip = v.v6
        elif v.home is not None and rnd() < 0.12:
            ip = v.home  # working from home: same browser, anonymous network
        else:
            ip = v.v4
        head = f"{ip} - - ["
        tail = v.tail
        p = v.proto
        proto = HTTP[p]
        role = v.role
        page, query, ref = entry if entry is not None else self._entry(v)
        # Evaluators from interested accounts read more pages per visit.
        mean = 2.0 + 3.2 * v.interest if role == "evaluator" else _MEAN_PAGES.get(role, 2.0)
        n_pages = min(8, 1 + int(rng.expovariate(1.0 / mean) if mean > 0 else 0))
        if role == "job_seeker" and entry is not None:
            role = "reader"  # a campaign click is not a job search
        # Browser caches expire or get cleared: after ten days away, everything loads afresh.
        new_visitor = v.last_day < self.today - 10
        v.last_day = self.today
        site = self.site
        loaded: set[str] = set()
        k = 0
        while True:
            ts = stamp(t)
            if k == 0 and not query and rnd() < 0.05 and page.path in site.old_url:
                old = site.old_url[page.path]
                emit((t, f'{head}{ts}] "GET {old} {proto}" 301 {REDIRECT_BYTES} "{ref}{tail}'))
            elif k > 0 and rnd() < 0.015:
                broken = BROKEN[int(rnd() * len(BROKEN))]
                emit((t, f'{head}{ts}] "GET {broken} {proto}" 404 {NOT_FOUND_BYTES} "{ref}{tail}'))
                t += 5 + int(rnd() * 20)
                ts = stamp(t)
                page = site.pages[0]
            size = page.sizes[int(rnd() * 8)]
            req = page.req[p] if not query else f'GET {page.path}{query} {proto}" 200 '
            emit((t, f'{head}{ts}] "{req}{size} "{ref}{tail}'))
            url = page.url + query
            if k == 0:
                self._shell(emit, t, head, ts, tail, p, url, new_visitor)
            for image in page.images:
                if image.path not in loaded and (new_visitor or rnd() < 0.4):
                    loaded.add(image.path)
                    mid = image.ok[p] if new_visitor else image.not_modified[p]
                    emit((t, f'{head}{ts}] "{mid}{url}{tail}'))
            if page.path == "/demo" and not v.raised and rnd() < _demo_chance(v, role):
                v.raised = True
                self._submit(emit, t, head, tail, p, "/demo", 303, page.url)
                return
            if page.path == "/contact" and rnd() < 0.08:
                self._submit(emit, t, head, tail, p, "/contact", 302, page.url)
                return
            k += 1
            if k >= n_pages:
                return
            query = ""
            ref = url
            t += 10 + min(290, int(rng.expovariate(1 / 55)))
            nxt = self._pick(role)
            for _ in range(3):  # rarely the same page twice in a row (reloads do happen)
                if nxt is not page:
                    break
                nxt = self._pick(role)
            page = nxt

    def _shell(
        self, emit: Callable[[tuple[int, str]], None], t: int, head: str, ts: str, tail: str,
        p: int, url: str, new_visitor: bool,
    ) -> None:  # fmt: skip
        site = self.site
        rnd = self.rng.random
        if new_visitor:
            for asset in site.shell:
                ref = site.shell[0].url if asset.path.endswith(".woff2") else url
                emit((t, f'{head}{ts}] "{asset.ok[p]}{ref}{tail}'))
            if site.favicon is not None:
                emit((t, f'{head}{ts}] "{site.favicon.ok[p]}{url}{tail}'))
            if site.touch_icon is not None and "iPhone" in tail:
                emit((t, f'{head}{ts}] "{site.touch_icon.ok[p]}-{tail}'))
        elif rnd() < 0.45:  # revalidation of the cached stylesheet and script
            for asset in site.shell[:2]:
                emit((t, f'{head}{ts}] "{asset.not_modified[p]}{url}{tail}'))

    def _submit(
        self, emit: Callable[[tuple[int, str]], None], t: int, head: str, tail: str, p: int,
        path: str, status: int, form_url: str,
    ) -> None:  # fmt: skip
        """A form post (the hand-raise), its redirect and the thank-you page."""
        stamp = self.clock.stamp
        proto = HTTP[p]
        t += 40 + int(self.rng.random() * 140)
        ts = stamp(t)
        emit((t, f'{head}{ts}] "POST {path} {proto}" {status} 0 "{form_url}{tail}'))
        thanks = self.site.by_path.get(f"{path}/thanks")
        if thanks is not None:
            t += 1
            ts = stamp(t)
            emit((t, f'{head}{ts}] "{thanks.req[p]}{thanks.sizes[0]} "{form_url}{tail}'))


_ROLE_WEIGHT = {"evaluator": 1.6, "developer": 1.0, "reader": 0.8, "job_seeker": 0.7}
_ROLE_WEIGHT.update(customer=1.2, investor=0.4, casual=0.6)


def _demo_chance(v: Visitor, role: str) -> float:
    """Chance that someone looking at /demo submits it: interest drives it, and people
    rarely ask for a demo on their first visit."""
    if v.org.kind != "business":
        chance = 0.04 if role == "evaluator" else 0.0  # freelancers, people at home
    elif role == "evaluator":
        chance = 0.05 + 0.45 * v.interest
    else:
        chance = 0.02 if role == "developer" else 0.0
    return chance * min(1.0, v.visits / 3)


_COUNTRY_GOOGLE = {"GB": "co.uk", "US": "com"}


def _search_referrer(country: str) -> str:
    return f"https://www.google.{_COUNTRY_GOOGLE.get(country, country.lower())}/"


def count(rng: random.Random, mean: float) -> int:
    """A whole number of events with expectation ``mean`` and some day-to-day spread."""
    if mean <= 0:
        return 0
    return int(mean * (0.85 + 0.3 * rng.random()) + rng.random())
