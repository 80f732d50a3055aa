"""Large syncs behave like small ones: every pending change leaves in one sync, however many
batches it takes."""

from __future__ import annotations

import pytest

from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.sync import engine

pytestmark = pytest.mark.e2e


def test_one_sync_pushes_every_pending_change(workstations,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = workstations()
    monkeypatch.setattr(engine, "PUSH_BATCH", 2)  # 13 changes: 7 batches
    for i in range(13):
        a.ctx.patients.register_patient(a.actor, draft=PatientDraft(
            given=f"Niamh{i}", family="Doyle", birth_date="1990-01-01", sex="female"))
    pending = a.sync.device_status().pending_changes
    assert pending >= 13
    result = a.sync.run_sync()
    assert result.pushed == pending
    assert a.sync.device_status().pending_changes == 0
    assert b.sync.run_sync().pulled >= 13


def test_batches_sent_while_the_next_is_recorded_lose_and_repeat_nothing(
        workstations, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Big batches are sent from a thread while the next one is recorded, and the next is sent
    before the answers are handled (here with batches of 4): creates and then edits of the
    same records all arrive once, with the right versions, and both workstations agree."""
    from tests.sync.sync_server_helpers import diff_holdings, fhir_holdings

    a, b = workstations()
    monkeypatch.setattr(engine, "PUSH_BATCH", 4)
    monkeypatch.setattr(engine, "PUSH_AHEAD_FROM", 2)
    ids = [a.ctx.patients.register_patient(a.actor, draft=PatientDraft(
        given=f"Cian{i}", family="Kelleher", birth_date="1988-02-03", sex="male")).id
        for i in range(11)]
    assert a.sync.run_sync().new_conflicts == 0
    b.sync.run_sync()
    for pid in ids:
        a.ctx.patients.update_patient(a.actor, patient_id=pid, draft=PatientDraft(
            given="Cian", family="Kelleher", birth_date="1988-02-03", sex="male",
            city=f"Trá Lí {pid[:4]}"))
    edits = a.sync.run_sync()
    assert (edits.pushed, edits.new_conflicts, edits.quarantined) == (11, 0, 0)
    assert b.sync.run_sync().pulled == 11
    assert diff_holdings(fhir_holdings(a.ctx), fhir_holdings(b.ctx)) == []
