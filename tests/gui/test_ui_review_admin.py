"""Administration as the clinic admin reads it: the audit log's dates are switched off with their
tick box, and its count of what the search found is not taken for the chain's count."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.audit_tab import AuditTab

pytestmark = pytest.mark.usefixtures("themed")
WAIT = 20_000


@pytest.fixture
def audit(qtbot: Any, ctx: Any, actors: Any) -> AuditTab:
    tab = AuditTab(ctx, actors[Role.CLINIC_ADMIN])
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: not tab.model.loading and tab.summary.text() != "", timeout=WAIT)
    return tab


def test_an_audit_date_can_be_changed_only_while_its_box_is_ticked(qtbot, audit) -> None:  # type: ignore[no-untyped-def]
    assert not audit.use_from.isChecked() and not audit.use_to.isChecked()
    assert not audit.date_from.isEnabled() and not audit.date_to.isEnabled()
    qtbot.mouseClick(audit.use_from, Qt.MouseButton.LeftButton)
    assert audit.date_from.isEnabled() and not audit.date_to.isEnabled()
    assert audit.filters()["date_from"] == audit.date_from.date().toPython()
    qtbot.mouseClick(audit.use_from, Qt.MouseButton.LeftButton)
    assert not audit.date_from.isEnabled() and audit.filters()["date_from"] is None


def test_the_chains_verdict_says_it_counts_the_whole_log(qtbot, audit) -> None:  # type: ignore[no-untyped-def]
    audit.action.setText("clinic.create")
    audit.search()
    qtbot.waitUntil(lambda: not audit.model.loading and audit.model.total == 1, timeout=WAIT)
    assert audit.summary.text() == "1 entry found"
    audit.verify()
    qtbot.waitUntil(lambda: "✓" in audit.verdict.text(), timeout=WAIT)
    verdict = audit.verdict.text()
    assert verdict.startswith("✓ Chain intact (all ") and verdict.endswith(" entries)"), verdict


def test_the_sync_tab_has_margins_and_its_workstation_label_is_level_with_the_name(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors) -> None:
    from PySide6.QtWidgets import QLabel

    from pms_desktop.ui.sync.sync_tab import SyncTab

    tab = SyncTab(ctx, actors[Role.CLINIC_ADMIN])
    qtbot.addWidget(tab)
    tab.resize(1100, 500)
    tab.show()
    qtbot.waitUntil(lambda: tab.name.text() != "", timeout=WAIT)
    assert tab.rename_button.isVisible()
    labels = {w.text(): w for w in tab.findChildren(QLabel) if w.isVisible()}
    intro = next(w for text, w in labels.items() if text.startswith("This workstation keeps"))
    assert intro.geometry().left() >= 16 and intro.geometry().top() >= 12  # not on the border

    def middle(widget) -> int:  # type: ignore[no-untyped-def]
        return widget.mapTo(tab, widget.rect().center()).y()

    label = labels["This workstation"]
    assert abs(middle(label) - middle(tab.name)) <= 1, (middle(label), middle(tab.name))
    assert abs(middle(label) - middle(tab.rename_button)) <= 1


def test_the_backups_tab_says_when_the_last_backup_ran(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pms_desktop.ui.admin.backups_tab import BackupsTab

    admin = actors[Role.CLINIC_ADMIN]
    clinic_zone = ctx.setup.clinic().timezone
    tab = BackupsTab(ctx, admin, None, clinic_zone)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.last.text() != "", timeout=WAIT)
    assert tab.last.text() == "No backup in this folder yet."
    tab.backup_now()
    qtbot.waitUntil(lambda: tab.last.text().startswith("Last backup: "), timeout=WAIT)
    zone = ZoneInfo(clinic_zone)
    made = list((ctx.db.data_dir / "backups").glob("clinic-manual-*.pmsbak"))
    assert len(made) == 1
    when = datetime.fromtimestamp(made[0].stat().st_mtime, zone)
    assert tab.last.text() == f"Last backup: {when.day} {when:%b %Y %H:%M}"
    # another day, the tab opened again: it still says so (it said nothing)
    again = BackupsTab(ctx, admin, None, clinic_zone)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.last.text() != "", timeout=WAIT)
    assert again.last.text() == tab.last.text()
