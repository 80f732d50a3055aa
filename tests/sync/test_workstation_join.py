"""A second workstation joins a clinic in use, against the real sync server: its store is made
in a staging folder and moved into place only once enrolled with the clinic key (a wrong code or
a server out of reach leaves the data folder without a half-made clinic, and the attempt can be
corrected); its first sync registers it with a series code of its own, which the clinic learns;
invoices issued offline on both workstations never share a number, and after sync both hold
both."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.errors import ValidationError
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.services.workstation_join import STAGING, ClinicJoin, JoinRequest
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.store.models import Invoice, Workstation
from pms_desktop.sync import sync_state as st
from pms_desktop.sync.transport import SyncOffline
from tests.conftest import TEST_PASSWORD
from tests.sync.conftest import SyncServer, Workstation_, _actor, _free_port

pytestmark = pytest.mark.e2e
DRAFT = PatientDraft(given="Nuala", family="Brennan", birth_date="1979-11-30", sex="female",
                     city="Galway", phone="087 555 0199")


def _clinic_id(ctx: AppContext) -> str:
    with ctx.db.sessions()() as s:
        return str(st.get(s, st.CLINIC_ID))


def _issue(ctx: AppContext, patient_id: str, euros: int) -> str:
    paul = _actor(ctx, "nora")  # a practice manager made on the first workstation, synced
    draft = ctx.billing.create_invoice(  # type: ignore[attr-defined]
        paul, patient_id=patient_id, lines=[LineInput(
            description="Consultation", unit_price_minor=euros * 100, tax_rate=Decimal(0))])
    issued = ctx.billing.issue_invoice(paul, invoice_id=draft.summary.id)  # type: ignore[attr-defined]
    return str(issued.summary.number)


def _numbers(ctx: AppContext) -> set[str]:
    with ctx.db.sessions()() as s:
        return {n for n in s.scalars(select(Invoice.number)) if n}


def _workstations(ctx: AppContext) -> dict[str, tuple[str, bool]]:
    with ctx.db.sessions()() as s:
        return {w.id: (w.series_code, w.is_local) for w in s.scalars(select(Workstation))}


def _key_code(first: Workstation_) -> str:
    return str(first.sync.issue_clinic_key_code(_actor(first.ctx, "admin")))


def test_join_retries_then_invoices_never_share_a_number(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path) -> None:
    [first] = make_workstations(1)
    patient_id = first.ctx.patients.register_patient(first.actor, draft=DRAFT).id  # type: ignore[attr-defined]
    first.ctx.accounts.create_user(  # type: ignore[attr-defined]
        _actor(first.ctx, "admin"), username="nora", display_name="Nora Manager",
        role="practice_manager", password=TEST_PASSWORD)
    first.ctx.accounts.change_password(  # type: ignore[attr-defined]
        _actor(first.ctx, "nora"), current=TEST_PASSWORD, new="Quiet-Harbour-73-Meadow")
    first.sync.run_sync()
    key_code = _key_code(first)
    folder = tmp_path / "joined"
    join = ClinicJoin(folder)
    good = JoinRequest(server_url=sync_server.url,
                       code=sync_server.enrol_code(_clinic_id(first.ctx)),
                       clinic_key_code=key_code, workstation_name="Consulting room 2")

    # Nobody answers at the address: nothing was sent, the data folder holds no clinic.
    away = JoinRequest(**{**good.__dict__, "server_url": f"http://127.0.0.1:{_free_port()}"})
    with pytest.raises(SyncOffline):
        join.run(away)
    assert not join.enrolled and not ClinicDatabase.exists(folder)
    # Enrolled, but the clinic key code is mistyped: only that is left to correct.
    wrong = key_code[:-1] + ("A" if key_code[-1] != "A" else "B")
    with pytest.raises(ValidationError) as refused:
        join.run(JoinRequest(**{**good.__dict__, "clinic_key_code": wrong}))
    assert set(refused.value.field_errors) == {"clinic_key_code"}
    assert join.enrolled and not ClinicDatabase.exists(folder)
    secret = join.recovery_secret
    db = join.run(good)  # the same store and enrolment, the right code
    assert ClinicDatabase.exists(folder) and not (folder / STAGING).exists()
    assert join.recovery_secret == secret and secret is not None
    joined = build_context(db)
    try:
        assert not joined.setup.has_clinic()  # type: ignore[attr-defined]
        joined.sync.run_sync()  # type: ignore[attr-defined]
        _offline_invoices(first, joined, patient_id)
    finally:
        joined.close()


def _offline_invoices(first: Workstation_, joined: AppContext, patient_id: str) -> None:
    # The first sync brought the clinic and registered this workstation with a code of its own.
    mine = {i: c for i, (c, local) in _workstations(joined).items() if local}
    assert len(mine) == 1 and joined.core.workstation_id in mine
    first_code = next(c for c, local in _workstations(first.ctx).values() if local)
    assert first_code in {c for c, _ in _workstations(joined).values()}
    assert mine[joined.core.workstation_id] != first_code

    # Both offline: each issues invoices in its own series.
    on_first = {_issue(first.ctx, patient_id, 40), _issue(first.ctx, patient_id, 55)}
    on_joined = {_issue(joined, patient_id, 60), _issue(joined, patient_id, 25)}
    assert not on_first & on_joined
    assert all(f"-{first_code}-" in n for n in on_first)
    assert all(f"-{mine[joined.core.workstation_id]}-" in n for n in on_joined)

    for ctx in (first.ctx, joined, first.ctx):
        ctx.sync.run_sync()  # type: ignore[attr-defined]
    assert _numbers(first.ctx) == _numbers(joined) == on_first | on_joined
    # The first workstation knows the joined one (not as its own).
    assert _workstations(first.ctx)[joined.core.workstation_id] == (
        mine[joined.core.workstation_id], False)


def test_a_cancelled_join_leaves_nothing_behind(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path) -> None:
    [first] = make_workstations(1)
    first.sync.run_sync()
    key_code = _key_code(first)
    folder = tmp_path / "joined"
    join = ClinicJoin(folder)
    request = JoinRequest(server_url=sync_server.url,
                          code=sync_server.enrol_code(_clinic_id(first.ctx)),
                          clinic_key_code=key_code[:-1] + ("A" if key_code[-1] != "A" else "B"),
                          workstation_name="Reception 2")
    with pytest.raises(ValidationError):
        join.run(request)
    info = KeyInfo.load(folder / STAGING)
    assert KeyStore().get(f"device:{info.database_id}") is not None
    join.abandon()
    assert not (folder / STAGING).exists() and not ClinicDatabase.exists(folder)
    assert KeyStore().get(info.keyring_name) is None
    assert KeyStore().get(f"device:{info.database_id}") is None
    # A new attempt (a new enrolment code: the last one was used) starts clean.
    again = ClinicJoin(folder)
    db = again.run(JoinRequest(**{**request.__dict__, "clinic_key_code": key_code,
                                  "code": sync_server.enrol_code(_clinic_id(first.ctx))}))
    db.close()
    assert ClinicDatabase.exists(folder)
