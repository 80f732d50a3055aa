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


def test_columns_fit_their_entries_with_a_gap_and_the_patient_column_does_not_take_the_room(
    qtbot, ctx, actors, make_patient
):  # type: ignore[no-untyped-def]
    rita = actors[Role.RECEPTION]
    pid = make_patient("Mary", "Murphy")
    prac = ctx.scheduling.practitioners(rita)[0].id
    appt = ctx.scheduling.book(rita, patient_id=pid, practitioner_id=prac,
                               start_at=datetime.now(UTC).replace(second=0, microsecond=0),
                               override_reason="t")
    ctx.scheduling.check_in(rita, appointment_id=appt.id)
    panel = WaitingRoomPanel(ctx, rita, None)
    qtbot.addWidget(panel)
    panel.resize(1156, 700)  # beside the navigation on a 1366-pixel screen
    panel.show()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT)
    table, metrics = panel.table, panel.table.fontMetrics()
    last = panel.model.columnCount() - 1
    for col in range(last):  # every entry clear of the next column's by a gap
        text = panel.model.index(0, col).data()
        assert table.columnWidth(col) >= metrics.horizontalAdvance(text) + 16, text
    # the room left over goes after Status, not into the Patient column
    assert table.columnWidth(2) < table.viewport().width() / 3
    assert table.columnWidth(last) > table.columnWidth(2)
