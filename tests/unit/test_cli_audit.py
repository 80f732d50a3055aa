"""``pms-desktop audit export|verify`` as an admin script would run them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from pms_desktop.cli import main
from pms_desktop.context import open_context
from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.store.models import AuditEntry
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS


@pytest.fixture
def admin_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Each sign-in needs a fresh code (a code is accepted once): step the clock per call."""
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)

    def set_code(role: Role = Role.CLINIC_ADMIN, offset: int = 0) -> None:
        at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset, UTC)
        monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[role], at))

    return set_code


def test_export_then_verify_file_and_database(data_dir: Path, tmp_path: Path, admin_env,  # type: ignore[no-untyped-def]
                                              capsys) -> None:
    out = tmp_path / "log.jsonl"
    admin_env(offset=-30)
    assert main(["audit", "export", "--data-dir", str(data_dir), "--out", str(out), "--user",
                 "admin"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[-1]["record"] == "anchor"
    assert all({"hash", "prev_hash", "seq", "action"} <= set(e) for e in lines[:-1])
    assert any(e["action"] == "auth.sign_in" and e["username"] == "admin" for e in lines[:-1])
    assert main(["audit", "verify", "--file", str(out)]) == 0
    assert f"intact: {len(lines) - 1} entries" in capsys.readouterr().out
    admin_env(offset=0)
    assert main(["audit", "verify", "--data-dir", str(data_dir), "--user", "admin"]) == 0


def test_verify_names_the_first_bad_entry(data_dir: Path, tmp_path: Path, admin_env,  # type: ignore[no-untyped-def]
                                          capsys) -> None:
    out = tmp_path / "log.jsonl"
    admin_env(offset=-30)
    main(["audit", "export", "--data-dir", str(data_dir), "--out", str(out), "--user", "admin"])
    rows = out.read_text().splitlines()
    rows[1] = rows[1].replace('"outcome": "success"', '"outcome": "refused"')
    out.write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["audit", "verify", "--file", str(out)]) == 2
    assert "BROKEN at entry 2" in capsys.readouterr().out
    ctx = open_context(data_dir)
    with ctx.db.sessions()() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(action="clinic.delete"))
    ctx.close()
    admin_env(offset=0)
    assert main(["audit", "verify", "--data-dir", str(data_dir), "--user", "admin"]) == 2
    assert "BROKEN at entry 1" in capsys.readouterr().out


def test_export_is_for_clinic_admins_only(data_dir: Path, tmp_path: Path, admin_env,  # type: ignore[no-untyped-def]
                                          capsys) -> None:
    admin_env(Role.RECEPTION)
    code = main(["audit", "export", "--data-dir", str(data_dir), "--out", str(tmp_path / "x"),
                 "--user", "rita"])
    assert code == 1 and "not allow" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
