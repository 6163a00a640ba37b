"""An IP range index: most-specific match over overlapping ranges, for IPv4 and IPv6.

Ranges are flattened once into sorted, non-overlapping segments, each carrying the
payload of the most specific range covering it; a lookup is then one binary search.
Single lookups bisect a Python list (C bisect, no numpy scalar overhead); bulk lookups
use numpy's searchsorted over the same boundaries. Partially overlapping ranges (neither
nested nor disjoint) contradict each other: the later-starting one wins where they
overlap, and they are counted.
"""

from __future__ import annotations

import bisect
import socket
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

NOT_FOUND = -1
_inet_pton, _AF_INET, _bisect_right = socket.inet_pton, socket.AF_INET, bisect.bisect_right
V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1


def ip_to_int(ip: str) -> tuple[int, int]:
    """(version, integer) of an address; ValueError for anything else."""
    family, version = (socket.AF_INET6, 6) if ":" in ip else (socket.AF_INET, 4)
    try:
        return version, int.from_bytes(socket.inet_pton(family, ip), "big")
    except OSError as exc:
        raise ValueError(f"{ip!r} is not an IP address") from exc


def int_to_ip(version: int, value: int) -> str:
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


@dataclass(frozen=True)
class Segments:
    """Sorted segment starts; segment i covers [starts[i], starts[i+1]) -> payloads[i].

    IPv4 segments are packed in arrays (a list of int objects scatters them over memory,
    and bisect then waits on cache misses) with a table of where each /16 starts, so a
    lookup bisects a few segments instead of all. IPv6 starts need 128 bits: a list.
    """

    starts: Sequence[int]
    payloads: Sequence[int]
    buckets: Sequence[int] | None = None  # buckets[b]: first segment starting at or after b<<16

    def find(self, value: int) -> int:
        if self.buckets is not None:
            b = value >> 16
            i = bisect.bisect_right(self.starts, value, self.buckets[b], self.buckets[b + 1]) - 1
        else:
            i = bisect.bisect_right(self.starts, value) - 1
        return self.payloads[i] if i >= 0 else NOT_FOUND


def flatten(ranges: Iterable[tuple[int, int, int]], top: int) -> tuple[Segments, int]:
    """(segments, contradictions) from (start, end inclusive, payload) ranges."""
    ordered = sorted(ranges, key=lambda r: (r[0], -r[1]))
    starts: list[int] = []
    payloads: list[int] = []
    stack: list[tuple[int, int]] = []  # (end, payload), ends never increase upwards
    contradictions = 0

    def emit(position: int, payload: int) -> None:
        if position > top:
            return
        if starts and starts[-1] == position:
            payloads[-1] = payload
            if len(payloads) > 1 and payloads[-2] == payload:
                starts.pop()
                payloads.pop()
        elif not payloads or payloads[-1] != payload:
            starts.append(position)
            payloads.append(payload)

    def close_before(position: int) -> None:
        while stack and stack[-1][0] < position:
            end, _ = stack.pop()
            emit(end + 1, stack[-1][1] if stack else NOT_FOUND)

    for start, end, payload in ordered:
        if end < start:
            continue
        close_before(start)
        while stack and stack[-1][0] < end:
            # Neither nested nor disjoint: the earlier range gives way from here on.
            stack.pop()
            contradictions += 1
        emit(start, payload)
        stack.append((end, payload))
    close_before(top + 2)
    if top > V4_MAX:
        return Segments(starts, payloads), contradictions
    buckets = array("q", [0] * ((1 << 16) + 1))
    i = 0
    for b in range(len(buckets)):
        while i < len(starts) and starts[i] < b << 16:
            i += 1
        buckets[b] = i
    return Segments(array("Q", starts), array("q", payloads), buckets), contradictions


class RangeIndex:
    """Lookups of address -> payload (an int chosen by the caller, e.g. a row number)."""

    def __init__(self, v4: Segments, v6: Segments, contradictions: int = 0) -> None:
        self.v4, self.v6 = v4, v6
        self.contradictions = contradictions

    # The numpy copies serve bulk lookups only: built on first use, not by every process.
    @cached_property
    def _v4_arrays(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        return np.array(self.v4.starts, dtype=np.uint32), np.array(self.v4.payloads, np.int64)

    @cached_property
    def _v6_arrays(self) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int64]]:
        # 128-bit keys as fixed-width big-endian bytes: byte order is numeric order.
        starts = np.array([s.to_bytes(16, "big") for s in self.v6.starts], dtype="S16")
        return starts, np.array(self.v6.payloads, dtype=np.int64)

    @classmethod
    def build(cls, ranges: Iterable[tuple[int, int, int, int]]) -> RangeIndex:
        """From (version, start, end, payload) ranges."""
        v4: list[tuple[int, int, int]] = []
        v6: list[tuple[int, int, int]] = []
        for version, start, end, payload in ranges:
            (v4 if version == 4 else v6).append((start, end, payload))
        seg4, bad4 = flatten(v4, V4_MAX)
        seg6, bad6 = flatten(v6, V6_MAX)
        return cls(seg4, seg6, bad4 + bad6)

    def __len__(self) -> int:
        """Number of segments (not of source ranges)."""
        return len(self.v4.starts) + len(self.v6.starts)

    def lookup(self, ip: str) -> int:
        """The payload of the most specific range holding `ip`, or NOT_FOUND."""
        if ":" in ip:
            return self.v6.find(ip_to_int(ip)[1])
        # The hot path of every hit, inlined: each call and attribute saved is ~50 ns.
        try:
            value = int.from_bytes(_inet_pton(_AF_INET, ip), "big")
        except OSError as exc:
            raise ValueError(f"{ip!r} is not an IP address") from exc
        v4 = self.v4
        buckets = v4.buckets
        assert buckets is not None
        b = value >> 16
        i = _bisect_right(v4.starts, value, buckets[b], buckets[b + 1]) - 1
        return v4.payloads[i] if i >= 0 else NOT_FOUND

    def lookup_int(self, version: int, value: int) -> int:
        return (self.v4 if version == 4 else self.v6).find(value)

    def lookup_v4_array(self, values: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        """Vectorised IPv4 lookups over integer addresses."""
        return _search(*self._v4_arrays, values)

    def lookup_v6_array(self, values: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
        """Vectorised IPv6 lookups over 16-byte big-endian addresses (dtype S16)."""
        return _search(*self._v6_arrays, values)

    def lookup_many(self, ips: Sequence[str]) -> npt.NDArray[np.int64]:
        """Payloads for many addresses: parsed in Python, searched in numpy."""
        out = np.full(len(ips), NOT_FOUND, dtype=np.int64)
        v4_at: list[int] = []
        v4: list[int] = []
        v6_at: list[int] = []
        v6: list[bytes] = []
        for n, ip in enumerate(ips):
            version, value = ip_to_int(ip)
            if version == 6:
                v6_at.append(n)
                v6.append(value.to_bytes(16, "big"))
            else:
                v4_at.append(n)
                v4.append(value)
        if v4:
            out[v4_at] = self.lookup_v4_array(np.array(v4, dtype=np.uint32))
        if v6:
            out[v6_at] = self.lookup_v6_array(np.array(v6, dtype="S16"))
        return out


def _search(
    starts: npt.NDArray[Any], payloads: npt.NDArray[np.int64], values: npt.NDArray[Any]
) -> npt.NDArray[np.int64]:
    if not len(starts):
        return np.full(len(values), NOT_FOUND, dtype=np.int64)
    i = np.searchsorted(starts, values, side="right") - 1
    out = payloads[np.maximum(i, 0)]
    out[i < 0] = NOT_FOUND
    return out
