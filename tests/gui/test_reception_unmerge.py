"""A clinic admin undoes a merge from the patient file; other roles do not get the button."""

from __future__ import annotations

from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.store.models import Patient
from pms_desktop.ui.patients.patient_file import PatientFile


def _open(qtbot, ctx, session, pid):  # type: ignore[no-untyped-def]
    panel = PatientFile(ctx, session, pid, None)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10000):
        pass
    return panel


def test_admin_undoes_a_merge_from_the_patient_file(qtbot, ctx, actors, make_patient, monkeypatch):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    keep = make_patient("Mary", "Murphy", mrn="K1")
    dup = make_patient("Mary", "Murphey", phone="01 222 3333", mrn="D1")
    other = make_patient("John", "Byrne", phone=None, mrn="B1")
    unmerged = _open(qtbot, ctx, actors[Role.CLINIC_ADMIN], other)
    assert not unmerged.unmerge_button.isVisibleTo(unmerged)
    ctx.patients.merge_patients(actors[Role.RECEPTION], survivor_id=keep, merged_id=dup,
                                reason="same")
    desk = _open(qtbot, ctx, actors[Role.RECEPTION], keep)
    assert not desk.unmerge_button.isVisibleTo(desk)
    panel = _open(qtbot, ctx, actors[Role.CLINIC_ADMIN], keep)
    assert panel.unmerge_button.isVisibleTo(panel)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.loaded, timeout=10000):
        panel.unmerge_button.click()
    with ctx.db.sessions()() as s:
        restored = s.get(Patient, dup)
        assert (restored.active, restored.merged_into_id) == (True, None)
        assert s.scalars(select(Patient.id).where(Patient.merged_into_id.is_not(None))).all() == []
    assert not panel.unmerge_button.isVisibleTo(panel)  # nothing left to undo
