"""The drift check after a sync is skipped while neither side has moved since it last found
both equal (a sync with nothing to do stays quick on a large clinic) and runs at most every
``RECHECK_MOVING`` while changes flow, but drift is still found and repaired: at a change of
the clinic once that time has passed, and after ``RECHECK_AFTER`` in any case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import Patient
from pms_desktop.sync import digest

pytestmark = pytest.mark.e2e

DRAFT = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female",
                     city="Cork")


def _drift(ctx, pid: str) -> None:  # type: ignore[no-untyped-def]
    """A record whose server version no longer says what the server holds (a bug, a restore)."""
    with ctx.db.sessions()() as s, s.begin():
        s.get(Patient, pid).server_version = 7


def _version(ctx, pid: str) -> int | None:  # type: ignore[no-untyped-def]
    with ctx.db.sessions()() as s:
        return s.get(Patient, pid).server_version  # type: ignore[no-any-return]


def test_drift_is_repaired_at_the_next_change_and_after_the_recheck_period(
        workstations, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    a, b = workstations()
    pid = a.ctx.patients.register_patient(a.actor, draft=DRAFT).id
    a.sync.run_sync()
    b.sync.run_sync()
    quiet = b.sync.run_sync()
    assert (quiet.pulled, quiet.digest_ok) == (0, True)

    _drift(b.ctx, pid)  # the clinic then moves on: compared at the next sync after a while
    monkeypatch.setattr(digest, "RECHECK_MOVING", timedelta(0))
    a.ctx.patients.register_patient(a.actor, draft=PatientDraft(
        given="Liam", family="Walsh", birth_date="1990-01-01", sex="male", city="Sligo"))
    a.sync.run_sync()
    moved = b.sync.run_sync()
    assert (moved.pulled, moved.repaired, moved.digest_ok) == (1, 1, True)
    assert _version(b.ctx, pid) == 1

    _drift(b.ctx, pid)  # nothing moves any more, but the recheck period passes
    monkeypatch.setattr(digest, "RECHECK_AFTER", timedelta(0))
    later = b.sync.run_sync()
    assert (later.pulled, later.repaired, later.digest_ok) == (0, 1, True)
    assert _version(b.ctx, pid) == 1
