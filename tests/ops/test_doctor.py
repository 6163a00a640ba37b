"""The doctor finds what stops Spoor from running and says how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from typer.testing import CliRunner

from spoor.cli import app
from spoor.db.engine import alembic_config, make_engine, upgrade
from spoor.leads.alerts import add_channel
from spoor.ops import doctor
from spoor.settings import Settings

runner = CliRunner()


def env_for(settings: Settings) -> dict[str, str]:
    return {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}


def by_name(settings: Settings, **extra: str) -> dict[str, doctor.Check]:
    return {c.name: c for c in doctor.examine({**env_for(settings), **extra})}


def test_migrations_behind_fail_with_the_command_that_fixes_them(settings: Settings) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    upgrade(engine, str(script.get_revision(head).down_revision))
    engine.dispose()
    check = by_name(settings)["migrations"]
    assert check.status == "fail"
    assert f"behind the latest ({head})" in check.message
    assert "spoor db upgrade" in check.fix


def test_missing_ip_data_fails_with_the_update_command(engine: Engine, settings: Settings) -> None:
    check = by_name(settings)["ip data"]
    assert check.status == "fail"
    assert "no IP data" in check.message
    assert "spoor ipdb update" in check.fix


def test_an_unreachable_database_fails_and_the_command_exits_1(tmp_path: Path) -> None:
    env = {
        "SPOOR_DATA_DIR": str(tmp_path),
        # Port 9 (discard) on loopback: nothing listens, so the connection is refused.
        "SPOOR_DATABASE_URL": "postgresql+psycopg://spoor:secret@127.0.0.1:9/spoor",
    }
    checks = {c.name: c for c in doctor.examine(env)}
    assert checks["database"].status == "fail"
    assert "cannot connect to postgresql+psycopg://spoor:***@127.0.0.1:9/spoor" in (
        checks["database"].message
    )
    assert "SPOOR_DATABASE_URL" in checks["database"].fix
    assert "migrations" not in checks  # nothing more to ask a database that is not there

    result = runner.invoke(app, ["doctor", "--json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {"name", "status", "message", "fix"} <= set(report["checks"][0])


def test_a_missing_sqlite_file_is_not_created_by_the_doctor(tmp_path: Path) -> None:
    checks = {c.name: c for c in doctor.examine({"SPOOR_DATA_DIR": str(tmp_path / "d")})}
    assert checks["database"].status == "fail"
    assert "spoor db upgrade" in checks["database"].fix
    assert not (tmp_path / "d" / "spoor.db").exists()


def test_bad_settings_fail_first(tmp_path: Path) -> None:
    checks = doctor.examine({"SPOOR_DATA_DIR": str(tmp_path), "SPOOR_RATE_LIMIT": "lots"})
    assert [(c.name, c.status) for c in checks] == [("settings", "fail")]
    assert "SPOOR_RATE_LIMIT" in checks[0].message


def test_a_readable_secret_key_and_mail_alerts_without_a_server_fail(
    engine: Engine, settings: Settings
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = settings.data_dir / "secret_key"
    key.write_text("k" * 48)
    key.chmod(0o644)
    with engine.begin() as conn:
        add_channel(conn, "sales inbox", "email", "sales@example.com", 0)
    checks = by_name(settings)
    assert checks["secret key"].status == "fail"
    assert checks["secret key"].fix == f"chmod 600 {key}"
    assert checks["alerts"].status == "fail"
    assert "SPOOR_SMTP_HOST" in checks["alerts"].fix
    key.chmod(0o600)
    assert by_name(settings)["secret key"].status == "ok"


def test_hits_waiting_in_the_spool_without_a_server_are_a_warning(
    engine: Engine, settings: Settings
) -> None:
    spool = settings.data_dir / "spool"
    spool.mkdir(parents=True)
    (spool / "live-0000000001.jsonl").write_bytes(b"[]\n[]\n")
    check = by_name(settings)["spool"]
    assert check.status == "warn"
    assert "2 hits wait" in check.message
    assert "spoor serve" in check.fix


def test_plain_http_on_a_public_address_is_a_warning(engine: Engine, settings: Settings) -> None:
    check = by_name(settings, SPOOR_PUBLIC_URL="http://spoor.example.com")["public address"]
    assert check.status == "warn"
    assert "https" in check.fix
