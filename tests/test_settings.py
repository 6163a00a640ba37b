from pathlib import Path

import pytest

from spoor import settings
from spoor.settings import SettingsError, load

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_give_a_sqlite_file_in_the_data_dir() -> None:
    loaded = load({})
    assert loaded.sqlalchemy_url.startswith("sqlite:///")
    assert loaded.sqlalchemy_url.endswith("/data/spoor.db")
    assert loaded.visit_timeout_minutes == 30


def test_values_are_parsed() -> None:
    loaded = load(
        {
            "SPOOR_DATA_DIR": "/tmp/x",
            "SPOOR_EXCLUDE_IPS": "10.0.0.0/8, 2001:db8::1",
            "SPOOR_EXCLUDE_PATHS": "^/admin,\\.php$",
            "SPOOR_KEEP_STATIC": "yes",
            "SPOOR_DATABASE_URL": "postgresql+psycopg://u@h/db",
        }
    )
    assert loaded.sqlalchemy_url == "postgresql+psycopg://u@h/db"
    assert len(loaded.exclude_ips) == 2
    assert loaded.exclude_paths[1].search("/x.php")
    assert loaded.keep_static is True


def test_every_problem_is_reported_with_what_to_fix() -> None:
    with pytest.raises(SettingsError) as info:
        load(
            {
                "SPOOR_VISIT_TIMEOUT_MINUTES": "-3",
                "SPOOR_TIMEZONE": "Mars/Olympus",
                "SPOOR_EXCLUDE_IPS": "not-an-ip",
                "SPOOR_DATABASE_URL": "mysql://x",
            }
        )
    message = str(info.value)
    for name in ("SPOOR_VISIT_TIMEOUT_MINUTES", "SPOOR_TIMEZONE", "SPOOR_EXCLUDE_IPS"):
        assert name in message
    assert "IANA time zone" in message
    assert "postgresql+psycopg://" in message


def test_docs_page_lists_every_setting() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == settings.markdown_reference(), "regenerate: spoor settings --markdown"
    for s in settings.SETTINGS:
        assert f"`{s.name}`" in page
