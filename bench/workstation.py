"""Service-level figures on a demo clinic: search, chart, appointment book, note saves."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.store.models import Patient, StaffUser

from .harness import Figure, sample, timed


def actor(ctx: AppContext, role: Role) -> StaffSession:
    with ctx.db.sessions()() as s:
        u = s.scalars(select(StaffUser).where(StaffUser.role == role.value)).first()
        assert u is not None
        return StaffSession(u.id, u.username, u.display_name, role, ctx.core.workstation_id,
                            datetime.now(UTC), u.practitioner_id)


def _sample_patients(ctx: AppContext, k: int, rng: random.Random) -> list[Any]:
    with ctx.db.sessions()() as s:
        n = s.query(Patient).count()
        offsets = [rng.randrange(n) for _ in range(k)]
        return [s.execute(select(Patient.id, Patient.given, Patient.family, Patient.birth_date,
                                 Patient.phone_digits).offset(o).limit(1)).one() for o in offsets]


def measure(ctx: AppContext, repeat: int) -> list[Figure]:
    rng = random.Random(42)
    doctor = actor(ctx, Role.CLINICIAN)
    desk = actor(ctx, Role.RECEPTION)
    people = _sample_patients(ctx, repeat, rng)
    figures = []
    it = iter(range(10**9))

    def pick() -> Any:
        return people[next(it) % len(people)]

    search = ctx.patients  # type: ignore[attr-defined]
    figures.append(timed("patient search: surname + given prefix", 10,
                         sample(lambda: search.search(desk, f"{pick().family} {pick().given[:3]}"), repeat)))
    figures.append(timed("patient search: name parts any order", 10,
                         sample(lambda: (lambda p: search.search(desk, f"{p.given[:4]} {p.family[:4]}"))(pick()), repeat)))
    figures.append(timed("patient search: date of birth", 10,
                         sample(lambda: search.search(desk, pick().birth_date.strftime("%d/%m/%Y")), repeat)))
    figures.append(timed("patient search: phone", 10,
                         sample(lambda: search.search(desk, pick().phone_digits[-7:]), repeat)))

    clinical = ctx.clinical  # type: ignore[attr-defined]

    def open_chart() -> None:
        pid = pick().id
        search.banner(doctor, patient_id=pid)
        clinical.chart_summary(doctor, patient_id=pid)
        clinical.timeline(doctor, patient_id=pid)
        clinical.list_notes(doctor, patient_id=pid)
        clinical.list_results(doctor, patient_id=pid)

    figures.append(timed("open a chart (all its queries)", 100, sample(open_chart, repeat)))

    book = ctx.scheduling  # type: ignore[attr-defined]
    today = date.today()
    figures.append(timed("appointment book: a day, 10 practitioners", 50,
                         sample(lambda: book.view(desk, first_day=today, days=1), repeat)))
    monday = today - timedelta(days=today.weekday())
    figures.append(timed("appointment book: a week, 10 practitioners", 50,
                         sample(lambda: book.view(desk, first_day=monday, days=7), max(5, repeat // 4)),
                         note="budget of a day"))

    note = clinical.create_draft(doctor, patient_id=people[0].id)
    words = iter(range(10**9))
    figures.append(timed("save a note draft (durable)", 50, sample(
        lambda: clinical.save_draft(doctor, note_id=note.id, subjective=f"typed text {next(words)}"), repeat)))
    return figures
