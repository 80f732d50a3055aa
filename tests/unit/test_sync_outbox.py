"""The outbox stamps a change with the service clock (the workstation's own, possibly hours
off): one clock for the access log and the record, and a clock a test can skew."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import OutboxChange, Patient

SKEWED = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_change_is_stamped_with_the_service_clock(ctx, actors) -> None:  # type: ignore[no-untyped-def]
    ctx.core.clock = lambda: SKEWED
    draft = PatientDraft(given="Aoife", family="Byrne", birth_date="1984-03-02", sex="female")
    pid = ctx.patients.register_patient(actors[Role.RECEPTION], draft=draft).id
    with ctx.db.sessions()() as s:
        assert s.get(Patient, pid).updated_at == SKEWED
        change = s.scalars(select(OutboxChange).where(OutboxChange.resource_id == pid)).one()
        assert change.created_at == SKEWED
