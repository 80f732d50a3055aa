"""AdminScreen on a real store: users table, audit log with paging/filter/verify/export, access
report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied
from pms_desktop.ui.admin.admin_screen import AdminScreen
from pms_desktop.ui.admin.audit_table_model import AuditTableModel

pytestmark = pytest.mark.usefixtures("themed")

# Screenshots go to docs/ only when asked (PMS_SCREENSHOTS=1), so a test run leaves the tree clean.
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS")
         else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000


def test_admin_screen_users_and_audit(qtbot, ctx, actors, make_patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, rita = actors[Role.CLINIC_ADMIN], actors[Role.RECEPTION]
    patient = make_patient()
    ctx.accounts.break_glass(rita, patient_id=patient, reason="Fainted in the waiting room")
    with pytest.raises(PermissionDenied):
        ctx.audit.search(rita)
    screen = AdminScreen(ctx, admin)
    qtbot.addWidget(screen)
    screen.resize(1100, 620)
    screen.show()
    qtbot.waitUntil(lambda: screen.users.model.rowCount() == 4, timeout=WAIT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    screen.grab().save(str(SHOTS / "admin-users.png"))
    audit = screen.audit
    screen.tabs.setCurrentWidget(audit)
    qtbot.waitUntil(lambda: audit.model.rowCount() > 0, timeout=WAIT)
    assert audit.model.total == audit.model.rowCount()
    audit.verify()
    qtbot.waitUntil(lambda: "Chain intact" in audit.verdict.text(), timeout=WAIT)
    screen.grab().save(str(SHOTS / "admin-audit.png"))
    audit.user.setText("rita")
    audit.search()
    qtbot.waitUntil(lambda: audit.model.rowCount() > 0 and not audit.model.loading, timeout=WAIT)
    rows = audit.model.rows
    assert {e.username for e in rows} == {"rita"}
    assert {e.outcome for e in rows} >= {"refused", "success"} and any(e.break_glass for e in rows)
    audit.export_csv(tmp_path / "log.csv")
    qtbot.waitUntil(lambda: "Exported" in audit.summary.text(), timeout=WAIT)
    assert "break_glass.grant" in (tmp_path / "log.csv").read_text()
    audit.patient.setText(patient)
    audit.save_access_report(tmp_path / "report.pdf")
    qtbot.waitUntil(lambda: "access report" in audit.summary.text(), timeout=WAIT)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_audit_model_pages_with_fetch_more(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    admin = actors[Role.CLINIC_ADMIN]
    for _ in range(25):
        ctx.accounts.list_users(admin)
    model = AuditTableModel()
    requested: list[int] = []
    model.request_page = lambda offset: requested.append(offset) or model.append_page(
        ctx.audit.search(admin, offset=offset, limit=10))
    model.append_page(ctx.audit.search(admin, limit=10))
    assert model.rowCount() == 10 and model.canFetchMore()
    model.fetchMore()
    assert requested == [10] and model.rowCount() == 20
    qtmodeltester = pytest.importorskip("pytestqt.modeltest")
    qtmodeltester.ModelTester(None).check(model) if hasattr(qtmodeltester, "ModelTester") else None
