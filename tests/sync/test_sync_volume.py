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
