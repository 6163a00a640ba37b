"""Bot detection from the user agent: two maintained pattern lists, cached per user agent.

crawlerdetect (the PHP CrawlerDetect list) and crawler-user-agents (monperrus) each catch
crawlers the other misses; `bench/bots.py` measures both together on the isbot fixtures.
"""

from __future__ import annotations

from functools import lru_cache

import crawleruseragents
from crawlerdetect import CrawlerDetect

_detector = CrawlerDetect()

# Tools and libraries that crawlerdetect deliberately leaves alone but which never are a
# person reading a page in a browser.
_EXTRA_MARKERS = ("headlesschrome", "phantomjs", "python-requests", "go-http-client", "curl/")


@lru_cache(maxsize=65536)
def is_bot(user_agent: str) -> bool:
    """True when the user agent belongs to a crawler, scanner, monitor or HTTP library.

    An empty user agent is not a bot by itself: the common log format has none.
    """
    if not user_agent:
        return False
    lowered = user_agent.lower()
    if any(marker in lowered for marker in _EXTRA_MARKERS):
        return True
    return bool(_detector.isCrawler(user_agent)) or crawleruseragents.is_crawler(user_agent)
