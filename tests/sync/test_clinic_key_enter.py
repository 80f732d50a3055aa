"""``pms-desktop clinic-key enter``, run as an admin runs it, against the real server: a
workstation enrolled without the clinic key receives it with the code a clinic admin issued,
and then staff made on another workstation sign in there. A wrong code, a code replaced by a
newer one and a code already used by another workstation are refused with one clear line and a
non-zero status, and leave the workstation as it was (still without the key, still asking)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pms_desktop.cli import main as desktop
from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import AuthenticationError
from pms_desktop.security.totp import current_code
from pms_desktop.services.sync_clinic_key import CLINIC_KEY
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.sync import sync_state as st
from tests.sync.conftest import SyncServer, _actor, _copy

pytestmark = pytest.mark.e2e

PASSWORD = "Harbour-Lantern-Quiet-93"  # noqa: S105 - a test account
NOT_A_CODE = "ABCDEF-GHIJKL-MNOPQR-STUVWX"


def _without_key(template: tuple[Path, bytes], folder: Path, server: SyncServer,
                 clinic: str) -> None:
    """A workstation of the clinic enrolled in place, without the clinic key (closed)."""
    _copy(template, folder, folder.name).close()
    assert desktop(["enroll", "--data-dir", str(folder), "--server", server.url,
                    "--code", server.enrol_code(clinic), "--name", folder.name]) == 0


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _holds_key(folder: Path) -> bool:
    db = ClinicDatabase.open(folder)
    try:
        with db.sessions()() as s:
            return st.get(s, CLINIC_KEY) is not None
    finally:
        db.close()


def _refused(folder: Path, code: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert desktop(["clinic-key", "enter", "--data-dir", str(folder), "--code", code]) == 1
    message = _error(capsys)
    # Nothing half-done: no key kept, and the workstation still says it needs the code.
    assert not _holds_key(folder)
    assert desktop(["sync", "--data-dir", str(folder)]) != 0
    assert "clinic key code" in _error(capsys)
    return message


def test_clinic_key_enter(_template: tuple[Path, bytes], tmp_path: Path,
                          sync_server: SyncServer, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PMS_CLINIC_KEY", raising=False)
    clinic = sync_server.new_clinic("Key entry clinic")
    a = _copy(_template, tmp_path / "alpha", "alpha")
    b: AppContext | None = None
    try:
        a.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(clinic), device_name="alpha")
        admin = _actor(a, "admin")
        a.accounts.create_user(admin, username="nina", display_name="Nina Byrne",  # type: ignore[attr-defined]
                               role=Role.CLINICIAN, password=PASSWORD)
        nina = a.accounts.sign_in(username="nina", password=PASSWORD, totp_code="")  # type: ignore[attr-defined]
        secret = a.accounts.begin_totp_enrolment(nina).secret  # type: ignore[attr-defined]
        a.accounts.confirm_totp_enrolment(  # type: ignore[attr-defined]
            nina, code=current_code(secret, datetime.now(UTC)))
        # The first workstation makes the clinic key at its first sync.
        a.sync.run_sync()  # type: ignore[attr-defined]
        replaced = a.sync.issue_clinic_key_code(admin)  # type: ignore[attr-defined]
        code = a.sync.issue_clinic_key_code(admin)  # type: ignore[attr-defined]

        bravo = tmp_path / "bravo"
        _without_key(_template, bravo, sync_server, clinic)
        assert desktop(["sync", "--data-dir", str(bravo)]) == 1
        assert "clinic key code" in _error(capsys)

        assert desktop(["clinic-key", "enter", "--data-dir", str(bravo)]) == 1
        assert "Give the clinic key code" in _error(capsys)
        assert "does not open the clinic key" in _refused(bravo, NOT_A_CODE, capsys)
        assert "does not open the clinic key" in _refused(bravo, replaced, capsys)

        # The right code, however it was typed: bravo holds the key and syncs; nina signs in.
        assert desktop(["clinic-key", "enter", "--data-dir", str(bravo),
                        "--code", code.lower().replace("-", " ")]) == 0
        assert "holds the clinic key" in capsys.readouterr().out
        assert desktop(["sync", "--data-dir", str(bravo)]) == 0
        later = datetime.now(UTC) + timedelta(seconds=90)  # a few time steps later
        b = build_context(ClinicDatabase.open(bravo), clock=lambda: later)
        with pytest.raises(AuthenticationError):
            b.accounts.sign_in(username="nina", password="wrong-" + PASSWORD,  # type: ignore[attr-defined]
                               totp_code=current_code(secret, later))
        signed_in = b.accounts.sign_in(username="nina", password=PASSWORD,  # type: ignore[attr-defined]
                                       totp_code=current_code(secret, later))
        assert signed_in.role is Role.CLINICIAN
        b.close()
        b = None

        # The code was for bravo: typed on another workstation, it no longer opens the key.
        charlie = tmp_path / "charlie"
        _without_key(_template, charlie, sync_server, clinic)
        assert "does not open the clinic key" in _refused(charlie, code, capsys)
        # A fresh code from the clinic admin works there.
        fresh = a.sync.issue_clinic_key_code(admin)  # type: ignore[attr-defined]
        assert desktop(["clinic-key", "enter", "--data-dir", str(charlie), "--code", fresh]) == 0
        assert desktop(["sync", "--data-dir", str(charlie)]) == 0
        assert _holds_key(charlie)
    finally:
        a.close()
        if b is not None:
            b.close()


def test_clinic_key_enter_says_what_is_missing(
        _template: tuple[Path, bytes], tmp_path: Path, sync_server: SyncServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Not enrolled, or the server out of reach: one clear line, nothing kept."""
    plain = tmp_path / "plain"
    _copy(_template, plain, "plain").close()
    assert desktop(["clinic-key", "enter", "--data-dir", str(plain), "--code", NOT_A_CODE]) == 1
    assert "not enrolled" in _error(capsys).lower()
    assert not _holds_key(plain)

    clinic = sync_server.new_clinic("Away clinic")
    away = tmp_path / "away"
    _without_key(_template, away, sync_server, clinic)
    db = ClinicDatabase.open(away)
    with db.sessions()() as s, s.begin():  # the server has moved: nothing answers there
        st.put(s, st.SERVER_URL, "http://127.0.0.1:9")
    db.close()
    assert desktop(["clinic-key", "enter", "--data-dir", str(away), "--code", NOT_A_CODE]) != 0
    assert "cannot be reached" in _error(capsys)
    assert not _holds_key(away)
