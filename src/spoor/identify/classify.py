"""Classify an organization as business, isp, mobile, hosting, education, government or crawler.

Every piece of evidence adds an explicit weight to one type; the type with the highest score
wins and the confidence says how strong and how unanimous the evidence was. Sources, strongest
first: MaxMind user/connection type and Anonymous-IP flags, an RPSL assignment naming a company
inside an ISP's block, PeeringDB/CAIDA network type, curated ASN lists, keywords in names,
domain and reverse-DNS patterns, and last a bare company legal form. The curated lists live in
identify/data/ and are loaded once.

A bare legal form ("Performive LLC") is a weak guess: it yields a business at confidence 0.39,
and such opaque brands are often small ISPs and hosters. A lead type at FIRM_LEAD_CONFIDENCE or
above always rests on more than that.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from spoor.identify.types import LEAD_TYPES, Classification, Evidence, OrgType

# Weights, in the order of trust. A bare legal form is the weakest: ISPs have legal forms too.
W_USER_TYPE = 6.0
W_ANONYMOUS = 5.0
W_ASSIGNMENT = 5.0
W_NETWORK_TYPE = 3.5
W_CONNECTION = 3.0
W_ASN_LIST = 3.0
W_LEGAL_FORM = 1.5
NAME_CAP = 3.5  # names repeat themselves ("X Telecom Telecommunications"): cap per type
HOST_CAP = 3.0
# When the address itself is known to be an organization's (an RPSL assignment names it, or
# MaxMind says business/school/government), AS-level evidence only describes its upstream ISP.
UPSTREAM_DISCOUNT = 0.3
# A lead type must beat the best non-lead type by this factor: doubt goes to "not a lead".
LEAD_MARGIN = 1.25
CONFIDENCE_SCALE = 3.0  # score at which strength reaches 1 - 1/e
FIRM_LEAD_CONFIDENCE = 0.4  # above a bare legal form's 1 - exp(-1.5 / 3) = 0.39

T = OrgType
USER_TYPES: dict[str, OrgType] = {
    "business": T.BUSINESS, "cafe": T.ISP, "cellular": T.MOBILE, "college": T.EDUCATION,
    "consumer_privacy": T.HOSTING, "content_delivery": T.HOSTING, "dialup": T.ISP,
    "government": T.GOVERNMENT, "hosting": T.HOSTING, "library": T.EDUCATION,
    "military": T.GOVERNMENT, "residential": T.ISP, "router": T.ISP, "school": T.EDUCATION,
    "search_engine_spider": T.CRAWLER, "traveler": T.ISP,
}  # fmt: skip
CONNECTION_TYPES: dict[str, tuple[OrgType, float]] = {
    "cellular": (T.MOBILE, 1.0), "cable/dsl": (T.ISP, 1.0), "satellite": (T.ISP, 1.0),
    "corporate": (T.BUSINESS, 0.5),  # a hint only: corporate lines are sold by ISPs too
}  # fmt: skip
NETWORK_TYPES: dict[str, tuple[OrgType, float]] = {
    "nsp": (T.ISP, 1.0), "cable/dsl/isp": (T.ISP, 1.0), "transit/access": (T.ISP, 1.0),
    # CAIDA files universities and agencies under Enterprise too: a hint, names decide.
    "content": (T.HOSTING, 1.0), "enterprise": (T.BUSINESS, 0.5),
    "educational/research": (T.EDUCATION, 1.0), "government": (T.GOVERNMENT, 1.0),
    "route server": (T.HOSTING, 0.6), "route collector": (T.HOSTING, 0.6),
    "network services": (T.HOSTING, 0.6),
    "non-profit": (T.UNKNOWN, 0.3),  # IXPs, community networks and NGOs alike
}  # fmt: skip
NON_LEADS = (T.ISP, T.MOBILE, T.HOSTING, T.CRAWLER, T.UNKNOWN)

# Company legal forms at a word boundary, on the folded name. "as" (Norwegian AS) needs a space
# before it so that RPSL handles like "TE-AS" do not count.
LEGAL_FORM = re.compile(
    r"(?:^|[\s,(])(inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|plc|llp"
    r"|lp|pty|pvt|gmbh|mbh|ag|kg|ohg|se|b\.?\s?v|n\.?\s?v|bvba|s\.?\s?a|s\.?a\.?s|sasu|sarl"
    r"|s\.?r\.?l|s\.?p\.?a|s\.?a\.?u|s\.?a\.? de c\.?v|ltda|eireli|ab|oy|oyj|a/s|aps|asa|kft"
    r"|zrt|sp\.? z o\.?o|d\.?o\.?o|s\.?r\.?o|a\.s|ead|jsc|pjsc|ojsc|cjsc|ooo|bhd|tbk|pte|k\.?k)"
    r"\.?(?=$|[\s,.)])|\sas$"
)
# Words of an address pool, in a netname or descr; netnames are handles, so some words that a
# company name could contain ("Mobile Widgets Ltd") only count there.
POOL_WORDS = frozenset(
    "pool pools dsl adsl vdsl dynamic dhcp customers subscribers residential ppp cgnat".split()
)
NETNAME_POOL_WORDS = frozenset(
    "dyn cust customer pppoe broadband nat mobile lte gprs infra infrastructure backbone".split()
)
NETNAME_BOILERPLATE = frozenset({"net", "network", "lan", "block", "range", "ip", "ipv4", "as"})
# Ordinary words that suffix/infix wildcards such as "*net" and "*tel" must not catch.
WILDCARD_EXCEPTIONS = frozenset(
    "planet cabinet magnet hornet garnet bonnet sonnet bayonet baronet signet dragnet clarinet "
    "gannet internet intranet extranet ethernet hotel motel hostel pastel cartel intel nortel "
    "lintel mantel fiberglass".split()
)
# LACNIC's ASN blocks (16-bit ones, and IANA's 32-bit block for it). Most LACNIC ASNs belong to
# small ISPs (thousands in Brazil alone), so a bare company name there is no sign of a business.
LACNIC_ASNS = ((27648, 28671), (52224, 53247), (61440, 61951), (262144, 327679))
EMBEDDED_IP = re.compile(r"\d{1,3}[.\-]\d{1,3}[.\-]\d{1,3}")
WORD = re.compile(r"[a-z0-9&]+")
HOST_SEPARATORS = re.compile(r"[.\-_]+")
LETTERS = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Rule:
    type: OrgType
    weight: float
    pattern: str


@dataclass(frozen=True, slots=True)
class Rules:
    """The data files as lookup tables: matching is dict look-ups, not a regex per rule."""

    asn_types: dict[int, tuple[OrgType, str]]
    words: dict[str, tuple[Rule, ...]]  # whole tokens
    prefixes: dict[str, tuple[Rule, ...]]  # "telecom*"
    suffixes: dict[str, tuple[Rule, ...]]  # "*net"
    infixes: tuple[tuple[str, Rule], ...]  # "*telecom*"
    phrases: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]]  # by first word
    domains: dict[str, tuple[Rule, ...]]  # "edu", "ac.*", "googlebot.com"
    host_tokens: dict[str, tuple[Rule, ...]]


def _rows(name: str) -> Iterable[dict[str, str]]:
    text = resources.files("spoor.identify").joinpath("data", name).read_text(encoding="utf-8")
    return csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))


def _rule(row: dict[str, str]) -> Rule:
    return Rule(OrgType(row["type"]), float(row["weight"]), row["pattern"])


def _group(pairs: Iterable[tuple[str, Rule]]) -> dict[str, tuple[Rule, ...]]:
    out: dict[str, tuple[Rule, ...]] = {}
    for key, r in pairs:
        out[key] = (*out.get(key, ()), r)
    return out


@cache
def rules() -> Rules:
    """The curated data files, parsed once per process."""
    asn_types = {int(r["asn"]): (OrgType(r["type"]), r["name"]) for r in _rows("asn_types.csv")}
    kws = [_rule(r) for r in _rows("keywords.csv")]
    phrases: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {}
    for k in kws:
        if " " in k.pattern:
            words = tuple(k.pattern.split())
            phrases[words[0]] = (*phrases.get(words[0], ()), (words, k))
    plain = [k for k in kws if " " not in k.pattern]
    return Rules(
        asn_types=asn_types,
        words=_group((k.pattern, k) for k in plain if "*" not in k.pattern),
        prefixes=_group((k.pattern[:-1], k) for k in plain if k.pattern[-1] == "*" != k.pattern[0]),
        suffixes=_group((k.pattern[1:], k) for k in plain if k.pattern[0] == "*" != k.pattern[-1]),
        infixes=tuple((k.pattern[1:-1], k) for k in plain if k.pattern[0] == "*" == k.pattern[-1]),
        phrases=phrases,
        domains=_group((r["pattern"].lstrip("."), _rule(r)) for r in _rows("domains.csv")),
        host_tokens=_group((r["pattern"], _rule(r)) for r in _rows("hostnames.csv")),
    )


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, accent-free text, so "Universität" and "Telecomunicações" match rules."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _token_rules(tok: str, rs: Rules) -> Iterable[Rule]:
    yield from rs.words.get(tok, ())
    if tok in WILDCARD_EXCEPTIONS:
        return
    for i in range(3, len(tok) + 1):  # every prefix and suffix of 3+ letters
        yield from rs.prefixes.get(tok[:i], ())
        yield from rs.suffixes.get(tok[-i:], ())
    yield from (r for stem, r in rs.infixes if stem in tok)


@lru_cache(maxsize=65536)
def name_matches(text: str, boilerplate: frozenset[str] = frozenset()) -> tuple[Rule, ...]:
    """The keyword rules that match a name's word tokens (cached: AS names repeat in a batch)."""
    tokens = [t for t in WORD.findall(fold(text)) if t not in boilerplate]
    rs = rules()
    found: list[Rule] = []
    for i, tok in enumerate(tokens):
        best: dict[OrgType, Rule] = {}
        for r in _token_rules(tok, rs):  # a token counts once per type: "mobile" not "mobil*" too
            if r.type not in best or r.weight > best[r.type].weight:
                best[r.type] = r
        found += best.values()
        for words, r in rs.phrases.get(tok, ()):
            if tuple(tokens[i : i + len(words)]) == words:
                found.append(r)
    return tuple(dict.fromkeys(found))  # a repeated word counts once


def domain_rule(name: str) -> Rule | None:
    """The most specific domains.csv rule for a name.

    "*" stands for a two-letter country label, last ("ac.*") or last but one ("k12.*.us").
    """
    labels = name.split(".")
    domains = rules().domains
    for k in range(len(labels), 0, -1):
        tail = labels[-k:]
        keys = [tail]
        if len(tail[-1]) == 2:
            keys.append([*tail[:-1], "*"])
        if k > 1 and len(tail[-2]) == 2:
            keys.append([*tail[:-2], "*", tail[-1]])
        for key in keys:
            if found := domains.get(".".join(key)):
                return found[0]
    return None


def legal_form(text: str) -> str | None:
    m = LEGAL_FORM.search(fold(text))
    return None if m is None else (m.group(1) or "as")


class _Tally:
    """Scores per type and the reasons behind them."""

    def __init__(self) -> None:
        self.scores: dict[OrgType, float] = {}
        self.reasons: list[tuple[float, OrgType, str]] = []

    def add(self, type_: OrgType, weight: float, reason: str) -> None:
        if weight > 0:
            self.scores[type_] = self.scores.get(type_, 0.0) + weight
            self.reasons.append((weight, type_, reason))

    def non_lead(self) -> float:
        return sum(self.scores.get(t, 0.0) for t in NON_LEADS)


def _names(ev: Evidence, tally: _Tally, upstream: float) -> None:
    """Keywords in the AS name, org name and RPSL netname/descr, capped per type."""
    none: frozenset[str] = frozenset()
    sources = [
        ("AS name", ev.as_name, upstream, none),
        ("organization name", ev.org, 1.0, none),
        ("netname", ev.netname, 1.0, NETNAME_BOILERPLATE),
        ("descr", ev.descr, 1.0, none),
    ]
    best: dict[tuple[OrgType, str], tuple[float, str]] = {}
    seen: set[str] = set()
    for label, text, scale, boilerplate in sources:
        if not text or text in seen:
            continue
        seen.add(text)
        for r in name_matches(text, boilerplate):
            key = (r.type, r.pattern)
            if key not in best or best[key][0] < r.weight * scale:
                best[key] = (r.weight * scale, f"{label} contains '{r.pattern.strip('*')}'")
    room: dict[OrgType, float] = {}
    for (type_, _), (weight, reason) in sorted(best.items(), key=lambda kv: -kv[1][0]):
        left = room.setdefault(type_, NAME_CAP)
        tally.add(type_, min(weight, left), reason)
        room[type_] = max(0.0, left - weight)


def _host(ev: Evidence, tally: _Tally) -> None:
    """Domain suffixes on the domain and the PTR name, then access-network tokens in the PTR."""
    rs = rules()
    explained = False
    for label, name in (("domain", ev.domain), ("host name", ev.hostname)):
        if not name:
            continue
        if r := domain_rule(fold(name).rstrip(".")):
            tally.add(r.type, r.weight, f"{label} ends in {r.pattern}")
            # A cloud's or crawler's own PTR domain explains the whole host name.
            explained |= label == "host name" and r.type in (T.CRAWLER, T.HOSTING)
    if not ev.hostname or explained:
        return
    host = fold(ev.hostname).rstrip(".")
    labels = host.split(".")[:-2]  # not the registrable domain: "poolcorp.com" is no pool
    embedded = EMBEDDED_IP.search(host) is not None
    tokens: dict[str, None] = {}
    for piece in HOST_SEPARATORS.split(".".join(labels)):
        tokens[piece] = None
        tokens.update(dict.fromkeys(LETTERS.findall(piece)))
    got: dict[OrgType, tuple[float, str]] = {}
    for tok in tokens:
        for r in rs.host_tokens.get(tok, ()):
            if r.pattern == "static" and not embedded:
                continue
            if r.weight > got.get(r.type, (0.0, ""))[0]:
                got[r.type] = (r.weight, tok)
    for type_, (weight, tok) in got.items():
        what = {T.ISP: "an access network", T.MOBILE: "a mobile network"}.get(type_, str(type_))
        bonus = 0.5 if embedded and type_ in (T.ISP, T.MOBILE) else 0.0
        tally.add(type_, min(HOST_CAP, weight + bonus), f"host name looks like {what} ('{tok}')")
    if embedded and not got:
        tally.add(T.ISP, 0.8, "host name embeds the address, as access networks do")


def _assignment(ev: Evidence, tally: _Tally) -> bool:
    """An RPSL assignment inside a bigger block: an organization's own network, or an ISP pool.

    Returns True when it names an organization: AS-level evidence then describes its upstream.
    """
    if not ev.registry_assignment or not (ev.netname or ev.descr):
        return False
    net = set(WORD.findall(fold(ev.netname or "")))
    descr = set(WORD.findall(fold(ev.descr or "")))
    if pool := sorted((net & (POOL_WORDS | NETNAME_POOL_WORDS)) | (descr & POOL_WORDS)):
        mobile = bool((net | descr) & {"mobile", "lte", "gprs"})
        reason = f"registry assignment looks like an address pool ('{pool[0]}')"
        tally.add(T.MOBILE if mobile else T.ISP, W_ASSIGNMENT * 0.6, reason)
        return False
    # The ISP's own sub-blocks ("KPN-NET-3 / KPN B.V.") name the ISP again, not a customer.
    as_words = set(WORD.findall(fold(ev.as_name or "")))
    for text in (ev.netname, ev.descr):
        words = [w for w in WORD.findall(fold(text or "")) if len(w) > 2 and w != "the"]
        if words and words[0] in as_words:
            return False
    texts = [t for t in (ev.netname, ev.descr) if t]
    matched = {r.type for t in texts for r in name_matches(t, NETNAME_BOILERPLATE)}
    if matched & {T.ISP, T.MOBILE}:
        return False  # another access network's block
    if not matched & {T.HOSTING, T.CRAWLER}:  # else its keywords will tell
        lead = next((t for t in (T.EDUCATION, T.GOVERNMENT) if t in matched), T.BUSINESS)
        reason = f"registry assignment names an organization in the block: {ev.descr or ev.netname}"
        tally.add(lead, W_ASSIGNMENT, reason)
    return True


def classify(evidence: Evidence) -> Classification:
    """Combine the evidence about one organization into a type, a confidence and reasons."""
    ev, tally = evidence, _Tally()
    ut = USER_TYPES.get(ev.user_type.lower()) if ev.user_type else None
    if ut:
        tally.add(ut, W_USER_TYPE, f"MaxMind user type: {ev.user_type}")
    for flag in dict.fromkeys(ev.anonymous):
        # Flags come together (a VPN on a hoster); the first carries the weight.
        w = W_ANONYMOUS if T.HOSTING not in tally.scores else 1.0
        tally.add(T.HOSTING, w, f"MaxMind Anonymous-IP flag: {flag}")
    if ev.connection_type and (ct := CONNECTION_TYPES.get(ev.connection_type.lower())):
        tally.add(ct[0], W_CONNECTION * ct[1], f"MaxMind connection type: {ev.connection_type}")
    # Evidence about the address itself (a named assignment, a MaxMind lead type) outranks what
    # the AS says about its network as a whole: the AS is then only the upstream.
    named = _assignment(ev, tally)
    upstream = UPSTREAM_DISCOUNT if named or ut in LEAD_TYPES else 1.0
    if ev.network_type and (nt := NETWORK_TYPES.get(ev.network_type.strip().lower())):
        tally.add(nt[0], W_NETWORK_TYPE * nt[1] * upstream, f"network type: {ev.network_type}")
    if ev.asn is not None and (listed := rules().asn_types.get(ev.asn)):
        reason = f"ASN {ev.asn} is on the {listed[0]} list ({listed[1]})"
        tally.add(listed[0], W_ASN_LIST * upstream, reason)
    _names(ev, tally, upstream)
    if ev.asn is not None and any(lo <= ev.asn <= hi for lo, hi in LACNIC_ASNS):
        tally.add(T.ISP, 1.0 * upstream, "ASN is from LACNIC, where most ASNs are small ISPs")
    _host(ev, tally)
    if tally.non_lead() == 0:
        for text in dict.fromkeys(t for t in (ev.org, ev.as_name, ev.descr) if t):
            if form := legal_form(text):
                tally.add(T.BUSINESS, W_LEGAL_FORM, f"name has a company legal form ('{form}')")
                break
    return _decide(tally)


def _decide(tally: _Tally) -> Classification:
    scores = tally.scores
    if not scores:
        return Classification(T.UNKNOWN, 0.0, ("no usable evidence",))
    winner = max(scores, key=lambda t: (scores[t], t != T.UNKNOWN))  # ties: a real type
    runner = max(NON_LEADS, key=lambda t: scores.get(t, 0.0))
    if winner in LEAD_TYPES and scores.get(runner, 0.0) * LEAD_MARGIN >= scores[winner]:
        winner = runner  # too close to call a lead
    top, total = scores[winner], sum(scores.values())
    confidence = (1.0 - math.exp(-top / CONFIDENCE_SCALE)) * (top / total)
    ordered = sorted(tally.reasons, key=lambda r: (r[1] != winner, -r[0]))
    reasons = tuple(text if t == winner else f"{text} (points to {t})" for _, t, text in ordered)
    return Classification(winner, round(confidence, 3), reasons)
