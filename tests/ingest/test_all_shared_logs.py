"""Every real log and format sample imports, or is refused with a clear message."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest

from spoor.db.engine import make_engine, upgrade
from spoor.ingest.logfiles import InputError
from spoor.ingest.logformats import UnknownFormat
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings


def _inputs(shared: Path) -> list[Path]:
    logs = shared / "logs"
    return sorted(p for p in logs.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_every_shared_log_imports_or_is_refused_clearly(shared_data: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    refused: dict[str, str] = {}
    imported = 0
    for path in _inputs(shared_data):
        try:
            summary = import_logs(engine, settings, [str(path)], site="shared.example")
        except (InputError, UnknownFormat) as exc:
            refused[path.name] = str(exc)
            continue
        imported += 1
        assert summary.malformed <= summary.lines
        assert summary.malformed < summary.lines or summary.lines <= 1
    assert imported >= len(_inputs(shared_data)) - 12
    # A refusal names the file and says why and what to do.
    assert all(name in message and len(message) > 40 for name, message in refused.items())
    for name in ("apache-combined-2015-elastic.log", "common.log", "nginx_json.log", "iis.log"):
        assert name not in refused
    print("refused:", refused)


@pytest.mark.parametrize("name", ["common.log.gz", "common.log.bz2"])
def test_compressed_samples_match_their_plain_text(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    packed_path = shared_data / "logs/formats/matomo-log-analytics" / name
    opener = gzip.open if name.endswith(".gz") else bz2.open
    with opener(packed_path, "rb") as source:
        plain_path = tmp_path / "plain.log"
        plain_path.write_bytes(source.read())
    plain = import_logs(engine, settings, [str(plain_path)], site="a.example")
    packed = import_logs(engine, settings, [str(packed_path)], site="b.example")
    assert plain.lines > 0
    assert (packed.lines, packed.hits, packed.malformed) == (
        plain.lines,
        plain.hits,
        plain.malformed,
    )
