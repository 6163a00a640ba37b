"""Sites: options, host checks and their own exclusions applied by the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from spoor.ingest.logimport import import_logs
from spoor.settings import Settings
from spoor.sites import SiteError, add_site, configure_site, find_site

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def line(ip: str, path: str) -> str:
    return f'{ip} - - [02/Mar/2026:10:00:00 +0000] "GET {path} HTTP/1.1" 200 1 "-" "{UA}"\n'


def test_site_exclusions_drop_hits(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 0)
        site = configure_site(
            conn, "www.example.com", exclude_ips="198.51.100.0/28", exclude_paths="^/admin"
        )
        with pytest.raises(SiteError, match="not an IP"):
            configure_site(conn, "www.example.com", exclude_ips="nope")
    assert site.allows_host("shop.www.example.com")
    assert not site.allows_host("example.org")
    log = tmp_path / "access.log"
    log.write_text(
        line("198.51.100.3", "/") + line("198.51.100.99", "/admin/x") + line("198.51.100.99", "/")
    )
    summary = import_logs(engine, settings, [str(log)], site="www.example.com")
    assert summary.dropped == {"excluded_ip": 1, "excluded_path": 1}
    assert summary.hits == 1
    with engine.connect() as conn:
        assert find_site(conn, str(site.id)) == find_site(conn, site.public_id)
        assert find_site(conn, "www.example.com") is not None
        assert find_site(conn, "missing.example") is None
