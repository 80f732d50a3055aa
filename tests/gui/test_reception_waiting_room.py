"""The waiting room panel on real services: arrivals appear, Start consultation asks for it."""

from __future__ import annotations

from datetime import UTC, datetime


from pms_desktop.domain.enums import Role
from pms_desktop.ui.schedule.waiting_room import WaitingRoomPanel

# Waits return as soon as the condition holds; the bound only matters on a loaded machine.
WAIT = 10_000



def test_arrived_patients_appear_and_start_consultation_is_requested(
    qtbot, ctx, actors, make_patient
):  # type: ignore[no-untyped-def]
    rita, doc = actors[Role.RECEPTION], actors[Role.CLINICIAN]
    pid = make_patient("Mary", "Murphy")
    prac = ctx.scheduling.practitioners(rita)[0].id
    appt = ctx.scheduling.book(
        rita,
        patient_id=pid,
        practitioner_id=prac,
        start_at=datetime.now(UTC).replace(second=0, microsecond=0),
        override_reason="t",
    )
    panel = WaitingRoomPanel(ctx, doc, None)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: not panel._loading, timeout=WAIT)
    assert panel.model.rowCount() == 0
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT):
        ctx.scheduling.check_in(rita, appointment_id=appt.id)  # the change bus triggers a refresh
    assert panel.model.rowCount() == 1
    assert "MURPHY, Mary" in panel.model.index(0, 2).data()
    panel.table.selectRow(0)
    assert panel.start_button.isEnabled()
    with qtbot.waitSignal(panel.consultation_requested, timeout=1000) as sig:
        panel.start_button.click()
    assert sig.args == [appt.id, pid]


def test_reception_has_no_start_button(qtbot, ctx, actors):  # type: ignore[no-untyped-def]
    panel = WaitingRoomPanel(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(panel)
    assert not panel.start_button.isVisibleTo(panel)
