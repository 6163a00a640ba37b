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


def test_secrets_come_from_files_and_are_never_shown(tmp_path: Path) -> None:
    values = {
        "SPOOR_SMTP_PASSWORD": "smtp-pw-from-file",
        "SPOOR_METRICS_TOKEN": "metrics-token-from-file",
        "SPOOR_SECRET_KEY": "k" * 40,
        "SPOOR_TRACKING_TOKEN": "tracking-token-from-file",
        "SPOOR_DATABASE_URL": "postgresql+psycopg://spoor:db-pw-from-file@db/spoor",
    }
    env = {}
    for name, value in values.items():
        (tmp_path / name).write_text(value + "\n")  # as `echo` writes it
        env[f"{name}_FILE"] = str(tmp_path / name)
    loaded = load(env)
    assert loaded.smtp_password == "smtp-pw-from-file"
    assert loaded.metrics_token == "metrics-token-from-file"
    assert loaded.secret_key == "k" * 40
    assert loaded.tracking_token == "tracking-token-from-file"
    assert loaded.database_url.endswith(":db-pw-from-file@db/spoor")
    for value in values.values():  # not in the repr a log line or a traceback would show
        assert value not in repr(loaded)
    shown = [settings.shown(s, getattr(loaded, s.attr)) for s in settings.SETTINGS]
    assert not [v for v in values.values() if any(v in text for text in shown)]
    assert "postgresql+psycopg://spoor:***@db/spoor" in shown
    assert tuple(s.name for s in settings.SETTINGS if s.name in values) == settings.SECRETS


def test_a_secret_file_that_cannot_be_read_or_a_double_setting_stops_start(
    tmp_path: Path,
) -> None:
    (tmp_path / "short").write_text("too-short-key")
    with pytest.raises(SettingsError) as info:
        load({
            "SPOOR_SMTP_PASSWORD_FILE": str(tmp_path / "missing"),
            "SPOOR_METRICS_TOKEN": "a", "SPOOR_METRICS_TOKEN_FILE": str(tmp_path / "short"),
            "SPOOR_SECRET_KEY_FILE": str(tmp_path / "short"),
        })  # fmt: skip
    text = str(info.value)
    assert "SPOOR_SMTP_PASSWORD_FILE=" in text
    assert "cannot be read" in text
    assert "set SPOOR_METRICS_TOKEN or SPOOR_METRICS_TOKEN_FILE, not both" in text
    assert "SPOOR_SECRET_KEY=(hidden): must be empty or at least 32" in text
    assert "too-short-key" not in text


def test_spoor_settings_hides_secrets(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spoor.cli import app

    env = {"SPOOR_DATA_DIR": str(tmp_path), "SPOOR_SMTP_PASSWORD": "hunter2-smtp-secret",
           "SPOOR_METRICS_TOKEN": "metrics-secret-value"}  # fmt: skip
    result = CliRunner().invoke(app, ["settings"], env=env)
    assert result.exit_code == 0, result.output
    assert "hunter2-smtp-secret" not in result.output
    assert "metrics-secret-value" not in result.output
    assert "(set, hidden)" in result.output
