"""An import stopped partway, as Ctrl-C or a crash would leave it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from spoor.ingest.logimport import import_logs
from spoor.settings import Settings


class Interrupt(Exception):
    pass


def import_interrupted(
    engine: Engine, settings: Settings, path: str, site: str, batches: int = 3
) -> None:
    """Import `path` but stop once `batches` batches were written."""
    calls = 0

    def stop(name: str, lines: int, position: int, size: int | None) -> None:
        nonlocal calls
        calls += 1
        if calls == batches:
            raise Interrupt

    with pytest.raises(Interrupt):
        import_logs(engine, settings, [path], site=site, progress=stop)
