"""A conflict over a phone, email or identifier list is a choice between two whole lists (a ring
of merges leaves one per list, ``merge_cycles._one_choice``): the conflicts window says so under
the two sides before anyone chooses, and what it says is what happens. Other conflicts show no
such line."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.store.models import PatientTelecom, SyncConflict
from pms_desktop.sync.merge import units_of
from pms_desktop.ui.sync.conflict_panels import FieldConflictPanel
from pms_desktop.ui.sync.conflicts_window import ConflictsWindow

pytestmark = pytest.mark.usefixtures("themed")

SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
         if os.environ.get("PMS_SCREENSHOTS") else Path(tempfile.gettempdir()) / "pms-screenshots")
WAIT = 10_000
DIGITS = "https://clinic-pms.example/fhir/StructureDefinition/digits"
PHONE_DIGITS = "extension:https://clinic-pms.example/fhir/StructureDefinition/phone-digits"


def _held_phones(ctx: Any, pid: str) -> Any:
    with ctx.db.sessions()() as s:
        resource = ctx.sync.rmap.resource_for(s, "patient", pid)
    return units_of(resource, ctx.sync.rmap.derived)["phone"]


def _other_list(held: Any, number: str) -> Any:
    """The held list's shape with one other number: the list the other side kept."""
    other = copy.deepcopy(held)
    digits = "".join(ch for ch in number if ch.isdigit())
    other[PHONE_DIGITS] = {"valueString": digits}
    entry = other["telecom#phone"][0]
    entry.update(id="other-1", value=number, extension=[{"url": DIGITS, "valueString": digits}])
    other["telecom#phone"] = [entry]
    return other


def _conflict(ctx: Any, pid: str, field: str, local: Any, remote: Any) -> None:
    with ctx.db.sessions()() as s, s.begin():
        s.add(SyncConflict(kind="field", resource_type="Patient", resource_id=pid, field=field,
                           base_value=None, local_value=json.dumps(local),
                           remote_value=json.dumps(remote), created_at=datetime.now(UTC)))


def _window(qtbot, ctx, actor):  # type: ignore[no-untyped-def]
    window = ConflictsWindow(ctx, actor)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.loaded and isinstance(window.panel, FieldConflictPanel),
                    timeout=WAIT)
    return window


def test_a_list_conflict_says_the_chosen_list_is_taken_whole_and_it_is(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    pid = make_patient(given="Aoife", family="Byrne", phone="087 123 4567")
    held = _held_phones(ctx, pid)
    _conflict(ctx, pid, "phone", held, _other_list(held, "086 222 2222"))
    window = _window(qtbot, ctx, actors[Role.RECEPTION])
    panel = window.panel
    note = panel.findChild(QLabel, "listNote")
    assert note is not None and note.isVisible()
    assert note.text() == ("Phone: the list you choose becomes this record's whole list; an "
                           "entry only in the other list is not kept.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "conflicts-list-chosen-whole.png"))

    [(mine, theirs)] = panel.cells.values()
    assert "087 123 4567" in mine.text.text() and "086 222 2222" in theirs.text.text()
    qtbot.mouseClick(theirs.text, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    with ctx.db.sessions()() as s:  # as it said: the other list, whole; this one's number gone
        phones = s.scalars(select(PatientTelecom.value)
                           .where(PatientTelecom.patient_id == pid)).all()
    assert phones == ["086 222 2222"]


def test_a_conflict_over_one_value_has_no_such_line(  # type: ignore[no-untyped-def]
        qtbot, ctx, actors, make_patient) -> None:
    pid = make_patient(given="Aoife", family="Byrne")
    _conflict(ctx, pid, "birthDate", date(1980, 5, 17).isoformat(), "1980-05-18")
    window = _window(qtbot, ctx, actors[Role.RECEPTION])
    assert window.panel.findChild(QLabel, "listNote") is None
