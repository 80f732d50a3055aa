"""A synced workstation restored from a backup: its access log is shorter than what the server
acknowledged, so the server refuses its uploads (409, log cut back). The workstation says what
happened and what to do, its records keep syncing; the central admin re-anchors the device
(``pms-sync-server admin device-re-anchor``), and the log goes on. Nothing the server held is
removed, every chain still verifies, and the server's own chain records both steps.
End to end: the real server, the real ``pms-desktop restore`` command."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pms_desktop.cli import main as desktop_cli
from pms_desktop.context import build_context
from pms_desktop.domain.enums import Role
from pms_desktop.security.totp import current_code
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.sync.engine import AuditLogRefused
from sync_server.cli import main as server_cli
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.sync.conftest import _actor

pytestmark = pytest.mark.e2e


def _work(ctx: Any, actor: Any, n: int, tag: str) -> None:
    for i in range(n):
        ctx.patients.register_patient(actor, draft=PatientDraft(
            given=f"{tag}{i}", family="Restored", birth_date="1970-01-01"))


def _server(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = server_cli(["admin", *args])
    return code, out.getvalue()


def _device_entries(server_data: Path, device_id: str) -> list[tuple[int, str]]:
    engine = create_engine(f"sqlite:///{server_data / 'server.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM audit_entries WHERE device_id = :d "
                                 "ORDER BY seq"), {"d": device_id}).all()
        chain = [json.loads(e) for (e,) in conn.execute(text(
            "SELECT entry FROM server_audit ORDER BY seq"))]
    engine.dispose()
    return [(int(s), str(h)) for s, h in rows], chain  # type: ignore[return-value]


def test_a_restored_workstation_is_told_what_to_do_and_re_anchored_by_the_admin(
        make_workstations: Any, sync_server: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (ws,) = make_workstations(1)
    ctx, data = ws.ctx, ws.ctx.db.data_dir
    _work(ctx, ws.actor, 3, "Before")
    ws.sync.run_sync()
    backup = ctx.backups.backup_now(ws.as_user("admin"), out=tmp_path / "b.pmsbak").path
    _work(ctx, ws.actor, 3, "After")  # read and written after the backup: on the server only
    ws.sync.run_sync()
    device_id = ws.sync.device_status().device_id
    shipped, _ = _device_entries(sync_server.data, device_id)
    ctx.close()

    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[Role.CLINIC_ADMIN], datetime.now(UTC)))
    assert desktop_cli(["restore", "--data-dir", str(data), "--from", str(backup),
                        "--user", "admin"]) == 0
    ctx = build_context(ClinicDatabase.open(data))
    try:
        actor = _actor(ctx)
        _work(ctx, actor, 2, "Restored")
        with pytest.raises(AuditLogRefused) as refused:
            ctx.sync.run_sync()
        status = ctx.sync.device_status()
        message = str(refused.value)
        assert "restored from a backup" in message and "cut back" in message
        assert f"pms-sync-server admin device-re-anchor {device_id}" in message
        assert status.audit_refused == message and status.last_error == message
        assert status.pending_changes == 0  # the records still sync
        with pytest.raises(AuditLogRefused):  # and again until the admin acts
            ctx.sync.run_sync()

        code, said = _server("device-re-anchor", "--data-dir", str(sync_server.data),
                             device_id, "--reason", "restored from backup (ticket 42)")
        assert code == 0 and said.strip().splitlines()[-1] == device_id
        result = ctx.sync.run_sync()
        assert result.audit_shipped > 0
        assert ctx.sync.device_status().audit_refused is None
        assert ctx.sync.device_status().last_error is None
        _work(ctx, actor, 1, "Later")
        assert ctx.sync.run_sync().audit_shipped > 0  # and goes on from there
    finally:
        ctx.close()

    kept, chain = _device_entries(sync_server.data, device_id)
    assert kept == shipped  # nothing the server held was removed or changed
    allowed = [e for e in chain if e.get("interaction") == "audit-re-anchor-allowed"]
    done = [e for e in chain if e.get("interaction") == "audit-re-anchored"]
    assert [e["reason"] for e in allowed] == ["restored from backup (ticket 42)"]
    assert len(done) == 1 and done[0]["old_head"]["seq"] == shipped[-1][0]
    assert done[0]["fork"]["seq"] < shipped[-1][0]
    code, said = _server("audit", "verify", "--data-dir", str(sync_server.data))
    assert code == 0, said
    assert "re-anchor" in said
