"""A staff member created on workstation A signs in on a brand-new workstation B of the clinic
with the same password and authenticator, after B received the clinic key with the code a
clinic admin issued on A; the sync server never holds the password hash or the TOTP secret in
the clear, and its FHIR API never shows the account.

B is a real new install made with the commands an admin runs (``pms-desktop enroll`` into an
empty folder, ``clinic-key enter``, ``sync``), not a copy of A: it starts without the clinic
key and without any staff account.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pms_desktop.cli import main as desktop
from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import AuthenticationError
from pms_desktop.security.totp import current_code
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import StaffUser
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.sync.conftest import SyncServer, _actor, _copy

pytestmark = pytest.mark.e2e

PASSWORD = "Harbour-Lantern-Quiet-93"  # noqa: S105 - a test account
NEW_PASSWORD = "Copper-Meadow-Sparrow-71"  # noqa: S105


def _staff(ctx: AppContext, username: str) -> StaffUser:
    with ctx.db.sessions()() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        s.expunge(user)
        return user


def _server_holdings(server: SyncServer) -> str:
    """Every value in every table of the server's database, as one text."""
    conn = sqlite3.connect(f"file:{server.data / 'server.db'}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    finally:
        conn.close()


def test_staff_made_on_one_workstation_sign_in_on_a_new_one(
        _template: tuple[Path, bytes], tmp_path: Path, sync_server: SyncServer,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = sync_server.new_clinic("Staff key clinic")
    a = _copy(_template, tmp_path / "alpha", "alpha")
    b: AppContext | None = None
    try:
        a.sync.enrol_device(server_url=sync_server.url, code=sync_server.enrol_code(clinic),
                            device_name="alpha")
        admin = _actor(a, "admin")
        nina_id = a.accounts.create_user(admin, username="nina", display_name="Nina Byrne",
                                         role=Role.CLINICIAN, password=PASSWORD).id
        nina = a.accounts.sign_in(username="nina", password=PASSWORD, totp_code="")
        secret = a.accounts.begin_totp_enrolment(nina).secret
        recovery = a.accounts.confirm_totp_enrolment(
            nina, code=current_code(secret, datetime.now(UTC))).codes
        a.sync.run_sync()  # the clinic's first workstation makes the clinic key
        monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
        monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[Role.CLINIC_ADMIN],
                                                    datetime.now(UTC)))
        assert desktop(["clinic-key", "issue", "--data-dir", str(tmp_path / "alpha"),
                        "--user", "admin"]) == 0
        key_code = capsys.readouterr().out.strip().splitlines()[-1]
        on_a = _staff(a, "nina")

        # The server holds the account only sealed, and its FHIR API does not show it.
        held = _server_holdings(sync_server)
        assert nina_id in held and "sealed-credentials" in held
        for plain in (on_a.password_hash, on_a.password_hash.rsplit("$", 1)[-1], secret,
                      on_a.recovery_codes, PASSWORD, key_code, key_code.replace("-", "")):
            assert plain and plain not in held
        token = a.sync.keystore.get(a.sync._credential_name()).decode()
        fhir = httpx.Client(base_url=f"{sync_server.url}/fhir", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        with fhir:
            assert fhir.get(f"/Basic/{nina_id}").status_code == 404
            for url in ("/Basic", "/Basic/_history", "/_history?_count=500"):
                answer = fhir.get(url)
                assert answer.status_code == 200 and "sealed-credentials" not in answer.text
                served = {e["fullUrl"].rsplit("/fhir/", 1)[1] for e in answer.json()["entry"]}
                assert f"Basic/{nina_id}" not in served  # (AuditEvents may name the id)

        # B: a new install joins only with the clinic key (else nothing is kept, as in the
        # first-run wizard); a wrong key code is refused; the right one, however typed, works.
        folder = str(tmp_path / "bravo")
        assert desktop(["enroll", "--data-dir", folder, "--server", sync_server.url,
                        "--code", sync_server.enrol_code(clinic), "--name", "bravo"]) == 1
        assert "clinic key code" in capsys.readouterr().err
        assert not Path(folder).exists()
        assert desktop(["enroll", "--data-dir", folder, "--server", sync_server.url,
                        "--code", sync_server.enrol_code(clinic), "--name", "bravo",
                        "--clinic-key", "ABCDEF-GHIJKL-MNOPQR-STUVWX"]) == 1
        assert "does not open the clinic key" in capsys.readouterr().err
        assert not Path(folder).exists()
        assert desktop(["enroll", "--data-dir", folder, "--server", sync_server.url,
                        "--code", sync_server.enrol_code(clinic), "--name", "bravo",
                        "--clinic-key", key_code.lower().replace("-", " ")]) == 0
        assert "recovery-secret=" in capsys.readouterr().out
        assert desktop(["sync", "--data-dir", folder]) == 0
        later = datetime.now(UTC) + timedelta(seconds=90)  # B signs in a few time steps later
        b = build_context(ClinicDatabase.open(Path(folder)), clock=lambda: later)

        on_b = _staff(b, "nina")
        assert (on_b.password_hash, on_b.totp_secret) == (on_a.password_hash, on_a.totp_secret)
        with pytest.raises(AuthenticationError):
            b.accounts.sign_in(username="nina", password=PASSWORD, totp_code="000000")
        signed_in = b.accounts.sign_in(username="nina", password=PASSWORD,
                                       totp_code=current_code(secret, later))
        assert signed_in.role is Role.CLINICIAN and signed_in.user_id == nina_id
        b.accounts.sign_in(username="nina", password=PASSWORD, totp_code=recovery[0])

        # And back: a new password set on B reaches A, sealed under the same key.
        b.accounts.change_password(signed_in, current=PASSWORD, new=NEW_PASSWORD)
        b.sync.run_sync()
        a.sync.run_sync()
        with pytest.raises(AuthenticationError):
            a.accounts.sign_in(username="nina", password=PASSWORD, totp_code=recovery[1])
        a.accounts.sign_in(username="nina", password=NEW_PASSWORD, totp_code=recovery[2])
        assert _staff(b, "nina").password_hash not in _server_holdings(sync_server)
    finally:
        a.close()
        if b is not None:
            b.close()
