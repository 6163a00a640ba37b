"""Anonymous visitor identity: a daily-rotated salted hash of IP + user agent + site.

The raw IP never leaves memory. Yesterday's salt is kept so a visit that runs across
the salt change (UTC midnight) keeps its visitor; older salts are deleted, after which
nobody can link a hash back to an IP address by trying all of them.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from datetime import date, timedelta

SaltSource = Callable[[date], bytes]


class ImportSalts:
    """Salts for a log import: stored ones for recent days, a run secret for older ones.

    Today's and yesterday's salts are the stored ones the live tracker uses, so visits in
    a log imported every few minutes continue across imports. Older days get a salt
    derived from a secret of this import run that is never stored: their hashes can never
    be linked back to an address, and the import never waits on the database for a salt.
    """

    def __init__(self, stored: SaltSource, today: date, run_secret: bytes) -> None:
        self._stored = stored
        self._oldest_stored = today - timedelta(days=1)
        self._secret = run_secret

    def __call__(self, day: date) -> bytes:
        if day >= self._oldest_stored:
            return self._stored(day)
        return hashlib.blake2b(day.isoformat().encode(), digest_size=32, key=self._secret).digest()


class VisitorHasher:
    """Hashes (site, IP, user agent) with the salt of the hit's UTC day."""

    def __init__(self, salt_for: SaltSource) -> None:
        self._salt_for = salt_for
        self._salts: dict[int, bytes] = {}

    def _salt(self, day_number: int) -> bytes:
        salt = self._salts.get(day_number)
        if salt is None:
            salt = self._salt_for(date(1970, 1, 1) + timedelta(days=day_number))
            self._salts[day_number] = salt
        return salt

    def hashes(self, site_id: int, ip: str, user_agent: str, ts: float) -> tuple[int, int]:
        """The visitor hash under today's salt and under yesterday's."""
        day_number = int(ts // 86400)
        data = f"{site_id}\x00{ip}\x00{user_agent}".encode("utf-8", "surrogatepass")
        today = hashlib.blake2b(data, digest_size=8, key=self._salt(day_number)).digest()
        before = hashlib.blake2b(data, digest_size=8, key=self._salt(day_number - 1)).digest()
        return int.from_bytes(today, "big", signed=True), int.from_bytes(before, "big", signed=True)


def truncate_ip(ip: str) -> str:
    """The /24 of an IPv4 address or the /48 of an IPv6 address, as a network.

    inet_pton/inet_ntop (C) rather than ipaddress: this runs for every accepted hit, and
    ipaddress made it a quarter of an import's per-hit work.
    """
    if ":" in ip:
        packed = socket.inet_pton(socket.AF_INET6, ip)
        return socket.inet_ntop(socket.AF_INET6, packed[:6] + bytes(10)) + "/48"
    packed = socket.inet_pton(socket.AF_INET, ip)
    return socket.inet_ntop(socket.AF_INET, packed[:3] + b"\x00") + "/24"
