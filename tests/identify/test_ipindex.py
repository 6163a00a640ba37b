"""The range index against a brute-force answer, and on the real ip-location-db data."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoor.identify.ipindex import NOT_FOUND, RangeIndex, flatten, int_to_ip, ip_to_int


def brute_force(ranges: list[tuple[int, int, int]], value: int) -> int:
    """The smallest range holding value; among equal ones the last given."""
    best: tuple[int, int] | None = None
    answer = NOT_FOUND
    for n, (start, end, payload) in enumerate(ranges):
        if start <= value <= end:
            size = end - start
            if best is None or size < best[0] or (size == best[0] and n > best[1]):
                best, answer = (size, n), payload
    return answer


cidr = st.tuples(st.integers(0, 255), st.integers(0, 8)).map(
    lambda t: (t[0] - t[0] % (1 << t[1]), t[0] - t[0] % (1 << t[1]) + (1 << t[1]) - 1)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(cidr, max_size=30), st.integers(0, 255))
def test_nested_ranges_resolve_to_the_most_specific(
    blocks: list[tuple[int, int]], probe: int
) -> None:
    ranges = [(start, end, n) for n, (start, end) in enumerate(blocks)]
    segments, contradictions = flatten(ranges, 255)
    assert contradictions == 0  # CIDR blocks nest or are disjoint
    for value in {probe, 0, 255, *(s for s, _, _ in ranges), *(e + 1 for _, e, _ in ranges)}:
        if value <= 255:
            assert segments.find(value) == brute_force(ranges, value), value


def test_partial_overlaps_are_counted_and_the_later_start_wins() -> None:
    segments, contradictions = flatten([(0, 100, 1), (50, 150, 2), (120, 130, 3)], 255)
    assert contradictions == 1
    assert [segments.find(v) for v in (0, 49, 50, 100, 125, 131, 150, 151)] == [
        1, 1, 2, 2, 3, 2, 2, NOT_FOUND,
    ]  # fmt: skip


def test_v4_and_v6_single_and_bulk() -> None:
    def net(text: str, payload: int) -> tuple[int, int, int, int]:
        n = ipaddress.ip_network(text)
        return n.version, int(n.network_address), int(n.broadcast_address), payload

    index = RangeIndex.build(
        [
            net("198.18.0.0/15", 1),
            net("198.18.4.0/24", 2),
            net("2001:db8::/32", 3),
            net("2001:db8:4::/48", 4),
            net("0.0.0.0/0", 5),
        ]
    )
    ips = ["198.18.4.7", "198.19.1.1", "8.8.8.8", "2001:db8:4::1", "2001:db8:5::1", "2001::1"]
    expected = [2, 1, 5, 4, 3, NOT_FOUND]
    assert [index.lookup(ip) for ip in ips] == expected
    assert index.lookup_many(ips).tolist() == expected
    values = np.array([ip_to_int(ip)[1] for ip in ips[:3]], dtype=np.uint32)
    assert index.lookup_v4_array(values).tolist() == expected[:3]


@pytest.mark.parametrize("bad", ["", "1.2.3", "1.2.3.4.5", "300.1.1.1", "::g", "127.1"])
def test_invalid_addresses_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        ip_to_int(bad)


def test_round_trip() -> None:
    for ip in ("0.0.0.0", "255.255.255.255", "2001:db8::1", "::"):
        assert int_to_ip(*ip_to_int(ip)) == ip
