"""Bad input gets a clear message or a counted drop, never a crash, on both databases."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from spoor.cli import app
from spoor.db.schema import visits
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def test_extreme_timestamps_are_malformed_not_fatal(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "times.log"
    log.write_text(
        f'198.51.100.1 - - [01/Jan/1900:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA}"\n'
        f'198.51.100.1 - - [01/Jan/0000:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA}"\n'
        f'198.51.100.1 - - [01/Jan/9999:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA}"\n'
        f'198.51.100.1 - - [02/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA}"\n'
    )
    summary = import_logs(engine, settings, [str(log)], site="a.example", fmt="combined")
    assert (summary.malformed, summary.hits) == (3, 1)


def test_nul_bytes_surrogates_and_long_fields_are_stored_safely(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    medium = "m" * 300  # longer than the utm_medium column
    # Matomo's nginx_json layout (its importer's sample): ip, date, path, status, user_agent.
    lines = [
        {"ip": "198.51.100.2", "date": "2026-03-02T10:00:00+00:00", "status": "200",
         "path": f"/a\x00b?utm_medium={medium}&utm_source=x", "user_agent": UA},
        {"ip": "::ffff:198.51.100.3", "date": "2026-03-02T10:01:00+00:00", "status": "200",
         "path": "/caf\ud800", "user_agent": UA},
    ]  # fmt: skip
    log = tmp_path / "access.json"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = import_logs(engine, settings, [str(log)], site="b.example", fmt="nginx_json")
    assert summary.hits == 2, summary.as_json()
    with engine.connect() as conn:
        stored = conn.execute(select(visits.c.entry_path, visits.c.utm_medium)).all()
    assert {path for path, _ in stored} == {"/ab", "/caf\ufffd"}
    assert max(len(m or "") for _, m in stored) == 100


def test_truncated_gzip_and_bad_limits_exit_2(settings: Settings, tmp_path: Path) -> None:
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}
    line = f'198.51.100.1 - - [02/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA}"\n'
    packed = gzip.compress((line * 20_000).encode())
    broken = tmp_path / "broken.log.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(broken), "--site", "c.example"], env=env)
    assert result.exit_code == 2, result.output
    assert "broken.log.gz" in result.output
    assert runner.invoke(app, ["stats", "--limit", "-1"], env=env).exit_code == 2
    far = runner.invoke(app, ["stats", "--period", "0001-01-01..0001-01-05"], env=env)
    assert far.exit_code == 2
    assert "1970" in far.output
