"""A possible duplicate in the conflicts window: the same MRN (or PPSN) registered for two patients
on two offline workstations. The window offers "Same person — merge…" (the merge dialog, already
searching for the other record) and "Two people — give … a new MRN" (the patient's details at
the MRN; for a PPSN, the person's real number, "correct the PPSN of …" at the PPSN as
registered); once either is saved, the next sync closes the flag.

The clash is made as a pull makes it: the other workstation's patient applied through the
sync's own applier, so the panel shows what a real sync leaves."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from pms_desktop.domain.enums import Role
from pms_desktop.domain.ids import new_id
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.sync.remote_apply import RemoteApplier
from pms_desktop.ui.patients.merge_dialog import MergeDialog
from pms_desktop.ui.patients.patient_edit_dialog import PatientEditDialog
from pms_desktop.ui.sync.conflicts_window import ConflictsWindow
from pms_desktop.ui.sync.duplicate_panel import PossibleDuplicatePanel

WAIT = 20_000
DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork", mrn="MRN-77")


def _clash(ctx: Any, actor: Any, draft: PatientDraft = DRAFT) -> tuple[str, str]:
    """Aoife registered here with MRN-77; Ava, registered elsewhere with MRN-77, pulled (or
    with the identifiers of ``draft``)."""
    here = ctx.patients.register_patient(actor, draft=draft).id
    rmap = ctx.sync.rmap
    with ctx.db.sessions()() as s, s.begin():
        theirs = copy.deepcopy(rmap.resource_for(s, "patient", here))
        theirs["id"] = other = new_id()
        theirs["name"][0]["given"] = ["Ava"]
        for part in theirs.get("identifier", []) + theirs.get("telecom", []):
            if part.get("id") != "email":
                part["id"] = new_id()
        theirs.pop("meta", None)
        applier = RemoteApplier(s, rmap, ctx.core.workstation_id, lambda: datetime.now(UTC))
        assert applier.apply_guarded("Patient", other, 1, "upsert", theirs)
    return here, other


def _settle(ctx: Any) -> None:
    """What the end of the next pull does."""
    with ctx.db.sessions()() as s, s.begin():
        RemoteApplier(s, ctx.sync.rmap, ctx.core.workstation_id,
                      lambda: datetime.now(UTC)).after_pull()


def _window(qtbot: Any, ctx: Any, actor: Any) -> ConflictsWindow:
    window = ConflictsWindow(ctx, actor)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.loaded and isinstance(window.panel, PossibleDuplicatePanel),
                    timeout=WAIT)
    return window


def test_two_people_one_gets_a_new_mrn_from_the_conflicts_window(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    actor = actors[Role.RECEPTION]
    here, other = _clash(ctx, actor)
    window = _window(qtbot, ctx, actor)
    row = [window.model.index(0, c).data() for c in range(window.model.columnCount())]
    assert "Possible duplicate" in row
    panel = window.panel
    assert isinstance(panel, PossibleDuplicatePanel)
    assert "Ava Byrne" in panel.renumber_buttons["remote"].text()

    qtbot.mouseClick(panel.renumber_buttons["remote"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "dialog", None), PatientEditDialog)
                    and window.dialog.isVisible(), timeout=WAIT)
    dialog = window.dialog
    assert dialog.detail.id == other and dialog.inputs["mrn"].text() == ""
    assert dialog.field_error("mrn")  # the person is shown where to type
    dialog.set_field("mrn", "MRN-78")
    with qtbot.waitSignal(dialog.patient_saved, timeout=WAIT):
        dialog.save()
    assert "next sync" in window.summary.text()

    _settle(ctx)
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    assert ctx.patients.get_patient(actor, patient_id=other).draft.mrn == "MRN-78"
    assert ctx.patients.get_patient(actor, patient_id=here).draft.mrn == "MRN-77"


def test_the_same_person_is_merged_from_the_conflicts_window(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    actor = actors[Role.RECEPTION]
    here, other = _clash(ctx, actor)
    window = _window(qtbot, ctx, actor)

    qtbot.mouseClick(window.panel.merge_button, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert isinstance(dialog, MergeDialog) and dialog.survivor_id == here
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)  # the other one
    assert dialog.model.patient(0).id == other
    with qtbot.waitSignal(dialog.merged, timeout=WAIT):
        dialog.merge(other)

    _settle(ctx)
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    kept = ctx.patients.get_patient(actor, patient_id=here)
    assert kept.draft.mrn == "MRN-77"
    assert ctx.patients.get_patient(actor, patient_id=other).merged_into_id == here
    assert [p.id for p in ctx.patients.search(actor, "MRN-77")] == [here]


PPSN_DRAFT = replace(DRAFT, mrn="", national_id="1234567T")


def test_two_people_one_ppsn_is_corrected_from_the_conflicts_window(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    """A PPSN is the person's real number: the window does not renumber it, it opens the
    patient it is wrong for at the PPSN as registered (never the temporary mark), to correct."""
    actor = actors[Role.RECEPTION]
    here, other = _clash(ctx, actor, PPSN_DRAFT)
    window = _window(qtbot, ctx, actor)
    panel = window.panel
    assert isinstance(panel, PossibleDuplicatePanel)
    assert "PPSN 1234567T" in panel.findChild(QLabel, "sectionTitle").text()
    assert "correct the PPSN of Aoife Byrne" in panel.renumber_buttons["local"].text()

    qtbot.mouseClick(panel.renumber_buttons["remote"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "dialog", None), PatientEditDialog)
                    and window.dialog.isVisible(), timeout=WAIT)
    dialog = window.dialog
    assert dialog.detail.id == other and dialog.inputs["national_id"].text() == "1234567T"
    assert dialog.field_error("national_id")
    dialog.save()  # unchanged: still the other patient's number, refused where it is typed
    qtbot.waitUntil(lambda: "already belongs" in dialog.field_error("national_id"),
                    timeout=WAIT)
    dialog.set_field("national_id", "7654321W")
    with qtbot.waitSignal(dialog.patient_saved, timeout=WAIT):
        dialog.save()
    assert "PPSN corrected" in window.summary.text()

    _settle(ctx)
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    assert ctx.patients.get_patient(actor, patient_id=other).draft.national_id == "7654321W"
    assert ctx.patients.get_patient(actor, patient_id=here).draft.national_id == "1234567T"


def test_one_person_one_ppsn_is_merged_from_the_conflicts_window(qtbot, ctx, actors) -> None:  # type: ignore[no-untyped-def]
    actor = actors[Role.RECEPTION]
    here, other = _clash(ctx, actor, PPSN_DRAFT)
    window = _window(qtbot, ctx, actor)

    qtbot.mouseClick(window.panel.merge_button, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert isinstance(dialog, MergeDialog) and dialog.survivor_id == here
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)  # found by the PPSN
    assert dialog.model.patient(0).id == other
    with qtbot.waitSignal(dialog.merged, timeout=WAIT):
        dialog.merge(other)

    _settle(ctx)
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    assert ctx.patients.get_patient(actor, patient_id=here).draft.national_id == "1234567T"
    assert ctx.patients.get_patient(actor, patient_id=other).merged_into_id == here

