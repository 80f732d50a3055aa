"""The admin command line: last-line outputs for scripts, devices, admins, system clients,
and settings that refuse unsafe values."""
# ruff: noqa: S104  (binding to all interfaces is what these tests check is refused)

from __future__ import annotations

from pathlib import Path

import pytest

from sync_server.cli import main
from sync_server.settings import Settings, SettingsError


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_clinic_code_device_flow(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = ["--database-url", database_url]
    assert main(["admin", "clinic-add", *store, "Riverside"]) == 0
    clinic_id = _last_line(capsys)
    assert len(clinic_id) == 36
    assert main(["admin", "enrol-code", *store, "--clinic", clinic_id]) == 0
    code = _last_line(capsys)
    assert len(code) == 19 and code.count("-") == 3
    assert main(["admin", "clinic-list", *store]) == 0
    assert "Riverside" in capsys.readouterr().out
    assert main(["admin", "device-list", *store, "--clinic", clinic_id]) == 0
    assert main(["admin", "enrol-code", *store, "--clinic", "nope"]) == 2
    assert "unknown clinic" in capsys.readouterr().err
    assert main(["admin", "device-revoke", *store, "nope"]) == 2


def test_data_dir_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["admin", "clinic-add", "--data-dir", str(tmp_path / "d"), "Solo"]) == 0
    assert (tmp_path / "d" / "server.db").is_file()
    clinic_id = _last_line(capsys)
    assert main(["admin", "system-client-add", "--data-dir", str(tmp_path / "d"), "--clinic",
                 clinic_id, "--scope", "system/*.read", "hospital"]) == 0
    assert _last_line(capsys).startswith("client_secret=pmsc_")
    assert main(["admin", "system-client-add", "--data-dir", str(tmp_path / "d"), "--clinic",
                 clinic_id, "--scope", "user/*.*", "bad"]) == 2


def test_admin_add_prints_totp_secret(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PMS_PASSWORD", "correct horse battery")
    assert main(["admin", "admin-add", "--database-url", database_url, "root"]) == 0
    secret = _last_line(capsys)
    assert len(secret) == 32 and secret.isalnum()
    assert main(["admin", "admin-add", "--database-url", database_url, "root"]) == 2
    monkeypatch.setenv("PMS_PASSWORD", "short")
    assert main(["admin", "admin-add", "--database-url", database_url, "other"]) == 2


@pytest.mark.parametrize("overrides", [
    {"tls_cert": "/nonexistent.pem"},
    {"host": "0.0.0.0"},
    {"workers": 2},
    {"max_body_bytes": 0},
    {"port": 70000},
])
def test_settings_refuse_unsafe_values(tmp_path: Path, overrides: dict) -> None:
    with pytest.raises(SettingsError):
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", **overrides)


def test_settings_refuse_unknown_database(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        Settings(database_url="mysql://x")
    assert Settings(database_url=f"sqlite:///{tmp_path}/x.db", host="0.0.0.0",
                    allow_plain_http=True).host == "0.0.0.0"


def test_serve_refuses_plain_http_on_public_address(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--host", "0.0.0.0"]) == 2
    assert "plain HTTP" in capsys.readouterr().err


def test_example_config_gives_valid_settings() -> None:
    from sync_server.cli import build_parser, load_config, settings_from

    config_path = Path(__file__).resolve().parents[2] / "installers/server/sync-server.toml"
    args = build_parser().parse_args(["serve", "--config", str(config_path)])
    settings = settings_from(args, load_config(args.config))
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.workers == 2 and settings.auth_rate.per_hour == 100
    assert settings.public_base_url == "https://sync.example.org"


def test_push_slots_come_from_the_config_file(tmp_path: Path) -> None:
    from sync_server.cli import build_parser, load_config, settings_from

    config = tmp_path / "server.toml"
    config.write_text('database_url = "postgresql+psycopg://u@db/pms"\npush_slots = 3\n',
                      encoding="utf-8")
    args = build_parser().parse_args(["serve", "--config", str(config)])
    assert settings_from(args, load_config(args.config)).push_slots == 3
    config.write_text('database_url = "postgresql+psycopg://u@db/pms"\npush_slots = 0\n',
                      encoding="utf-8")
    with pytest.raises(SettingsError, match="push_slots"):
        settings_from(args, load_config(args.config))
