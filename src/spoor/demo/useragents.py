"""User-agent strings for the demo traffic: browsers by device profile, crawlers, tools, scanners.

Browser strings follow the real formats of 2024-2025 browsers (Chrome's reduced UA with
``.0.0.0`` minor versions, Safari's ``Version/`` token, Firefox's ``rv:``), so that a real UA
parser classifies them the way it would classify production traffic.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from itertools import accumulate

__all__ = [
    "BOT_USER_AGENTS",
    "MONITOR_USER_AGENTS",
    "SCANNER_USER_AGENTS",
    "TOOL_USER_AGENTS",
    "browser_user_agent",
]

_CHROME = tuple(range(124, 134))
_FIREFOX = tuple(range(125, 135))
_SAFARI = ("17.4.1", "17.5", "17.6", "18.0", "18.0.1", "18.1", "18.1.1", "18.2")
_IOS = ("17_5_1", "17_6_1", "18_0", "18_0_1", "18_1", "18_1_1", "18_2")
_ANDROID = ("10; K",)  # Chrome's reduced UA always reports "Android 10; K"
_SAMSUNG_MODELS = ("SM-S918B", "SM-S921B", "SM-A546B", "SM-G991B")


def _chrome_windows(rng: random.Random) -> str:
    v = rng.choice(_CHROME)
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
    )


def _edge_windows(rng: random.Random) -> str:
    v = rng.choice(_CHROME)
    build = f"{v}.0.{2400 + (v - 124) * 55 + rng.randrange(40)}.{rng.randrange(30, 140)}"
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{build}"
    )


def _chrome_mac(rng: random.Random) -> str:
    v = rng.choice(_CHROME)
    return (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
    )


def _safari_mac(rng: random.Random) -> str:
    v = rng.choice(_SAFARI)
    return (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{v} Safari/605.1.15"
    )


def _firefox_windows(rng: random.Random) -> str:
    v = rng.choice(_FIREFOX)
    return f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"


def _firefox_mac(rng: random.Random) -> str:
    v = rng.choice(_FIREFOX)
    return f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"


def _firefox_linux(rng: random.Random) -> str:
    v = rng.choice(_FIREFOX)
    return f"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"


def _safari_iphone(rng: random.Random) -> str:
    ios = rng.choice(_IOS)
    version = ".".join(ios.split("_")[:2])
    ua = (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
    )
    if rng.random() < 0.12:  # LinkedIn's in-app browser: a typical B2B mobile entry point
        ua = ua.replace(" Safari/604.1", f" [LinkedInApp]/9.30.{rng.randrange(1000, 9000)}")
    return ua


def _safari_ipad(rng: random.Random) -> str:
    ios = rng.choice(_IOS)
    version = ".".join(ios.split("_")[:2])
    return (
        f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
    )


def _chrome_iphone(rng: random.Random) -> str:
    ios = rng.choice(_IOS)
    v = rng.choice(_CHROME)
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) CriOS/{v}.0.{6400 + rng.randrange(300)}.{rng.randrange(40, 200)} "
        "Mobile/15E148 Safari/604.1"
    )


def _chrome_android(rng: random.Random) -> str:
    v = rng.choice(_CHROME)
    return (
        f"Mozilla/5.0 (Linux; Android {rng.choice(_ANDROID)}) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36"
    )


def _samsung_android(rng: random.Random) -> str:
    v = rng.choice(_CHROME[:5])
    return (
        f"Mozilla/5.0 (Linux; Android 14; SAMSUNG {rng.choice(_SAMSUNG_MODELS)}) "
        f"AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{rng.choice((25, 26))}.0 "
        f"Chrome/{v}.0.0.0 Mobile Safari/537.36"
    )


_Maker = Callable[[random.Random], str]

# Device/browser mix per network profile: offices run managed Windows fleets (Chrome/Edge),
# homes are more Apple and mobile, carriers are mobile only.
_PROFILES: dict[str, tuple[tuple[_Maker, float], ...]] = {
    "office": (
        (_chrome_windows, 44.0),
        (_edge_windows, 21.0),
        (_chrome_mac, 11.0),
        (_safari_mac, 7.0),
        (_firefox_windows, 5.0),
        (_firefox_mac, 2.0),
        (_firefox_linux, 2.0),
        (_safari_iphone, 5.0),
        (_chrome_android, 3.0),
    ),
    "home": (
        (_chrome_windows, 25.0),
        (_edge_windows, 6.0),
        (_chrome_mac, 10.0),
        (_safari_mac, 11.0),
        (_firefox_windows, 5.0),
        (_firefox_linux, 2.0),
        (_safari_iphone, 20.0),
        (_safari_ipad, 4.0),
        (_chrome_android, 13.0),
        (_samsung_android, 4.0),
    ),
    "mobile": (
        (_safari_iphone, 46.0),
        (_chrome_iphone, 6.0),
        (_chrome_android, 36.0),
        (_samsung_android, 12.0),
    ),
    "campus": (
        (_chrome_windows, 30.0),
        (_chrome_mac, 18.0),
        (_safari_mac, 14.0),
        (_firefox_windows, 8.0),
        (_firefox_linux, 8.0),
        (_safari_iphone, 12.0),
        (_chrome_android, 10.0),
    ),
}
_CUMULATIVE = {
    name: (tuple(f for f, _ in makers), tuple(accumulate(w for _, w in makers)))
    for name, makers in _PROFILES.items()
}


def browser_user_agent(rng: random.Random, profile: str) -> str:
    """A realistic browser UA for a person on an "office", "home", "mobile" or "campus" network."""
    makers, cumulative = _CUMULATIVE[profile]
    maker = makers[bisect(cumulative, rng.random() * cumulative[-1])]
    return maker(rng)


# Crawlers that identify themselves; strings as published by their operators.
BOT_USER_AGENTS: dict[str, str] = {
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "googlebot-smartphone": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.85 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    "bingbot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"
    ),
    "ahrefs": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "semrush": "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "gptbot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot"
    ),
    "claudebot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
        "+claudebot@anthropic.com)"
    ),
    "yandex": "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "duckduckbot": "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "applebot": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
    ),
    "petalbot": "Mozilla/5.0 (compatible;PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "dotbot": (
        "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)"
    ),
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "linkedin": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "feedly": "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 14 subscribers; )",
}

MONITOR_USER_AGENTS: dict[str, str] = {
    "uptimerobot": "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "pingdom": "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
}

# Scripts and ad-hoc tooling: competitors' price scrapers, someone's integration test, etc.
TOOL_USER_AGENTS: tuple[str, ...] = (
    "curl/8.5.0",
    "curl/7.81.0",
    "python-requests/2.31.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Wget/1.21.4",
    "axios/1.7.7",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
)

# Vulnerability scanners: some honest, some pretending to be an old desktop browser.
SCANNER_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/78.0.3904.108 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0.4044.129 Safari/537.36",
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.28.2",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Nuclei - Open-source project "
    "(github.com/projectdiscovery/nuclei)",
    "Go-http-client/1.1",
    "l9explore/1.2.2",
)
