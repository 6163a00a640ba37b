"""Log lines: JSON lines a collector can read, text for people, chosen by a setting."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from spoor.ops.logs import configure
from spoor.settings import Settings, SettingsError, load


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_message_extra_fields_and_the_traceback() -> None:
    out = io.StringIO()
    configure(Settings(log_format="json", log_level="INFO"), out)
    logging.getLogger("spoor.consumer").info("stored %d", 5, extra={"stored": 5})
    logging.getLogger("spoor.consumer").debug("not written")
    try:
        raise RuntimeError("database gone")
    except RuntimeError:
        logging.getLogger("spoor.alerts").exception("alerting failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["msg"] == "stored 5"
    assert (lines[0]["level"], lines[0]["logger"], lines[0]["stored"]) == (
        "info",
        "spoor.consumer",
        5,
    )
    assert lines[0]["ts"].endswith("+00:00")
    assert "RuntimeError: database gone" in lines[1]["exc"]


def test_text_lines_for_people() -> None:
    out = io.StringIO()
    configure(Settings(log_format="text", log_level="WARNING"), out)
    logging.getLogger("spoor.x").info("quiet")
    logging.getLogger("spoor.x").warning("loud")
    assert out.getvalue().strip().endswith("WARNING spoor.x: loud")
    assert "quiet" not in out.getvalue()


def test_the_settings_are_checked() -> None:
    assert load({"SPOOR_LOG_FORMAT": "json", "SPOOR_LOG_LEVEL": "debug"}).log_level == "DEBUG"
    with pytest.raises(SettingsError, match="SPOOR_LOG_FORMAT"):
        load({"SPOOR_LOG_FORMAT": "xml"})
