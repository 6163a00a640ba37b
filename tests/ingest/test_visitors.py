import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from spoor.ingest.visitors import truncate_ip


def _network(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@given(st.ip_addresses())
def test_truncate_ip_keeps_the_network_ipaddress_would(address: ipaddress._BaseAddress) -> None:
    ip = str(address)
    assert truncate_ip(ip) == _network(ip)


def test_truncate_ip_examples() -> None:
    assert truncate_ip("198.18.7.9") == "198.18.7.0/24"
    assert truncate_ip("2001:db8:1:2:3::4") == "2001:db8:1::/48"
    assert truncate_ip("::1") == "::/48"
