# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Invoice numbers stay unique across workstations issuing offline, and after a restore."""

from __future__ import annotations

import re
import shutil
from datetime import date

from sqlalchemy import select

from pms_desktop.context import build_context
from pms_desktop.domain.enums import Role
from pms_desktop.services.base import ServiceCore
from pms_desktop.services.billing import BillingService
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.services.payments import PaymentsService
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Invoice, NumberSeries, Workstation

from .conftest_billing import add_workstation, fees  # noqa: F401

M = Role.PRACTICE_MANAGER


def _issue(billing, actor, patient_id, n):
    out = []
    for _ in range(n):
        d = billing.create_invoice(actor, patient_id=patient_id, lines=[LineInput(fee_code="TELE")])
        out.append(billing.issue_invoice(actor, invoice_id=d.id).summary.number)
    return out


def test_two_workstation_series_in_one_store_never_collide(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    other = BillingService(ServiceCore(fees.core.sessions, add_workstation(fees, "ZQ7K")))
    mine = []
    theirs = []
    for _ in range(3):
        mine += _issue(fees.billing, actors[M], pid, 2)
        theirs += _issue(other, actors[M], pid, 2)
    assert len(set(mine + theirs)) == 12
    assert all(re.fullmatch(r"INV-ZQ7K-\d{6}", n) for n in theirs)
    assert theirs[:2] == ["INV-ZQ7K-000001", "INV-ZQ7K-000002"]
    assert len({n.split("-")[1] for n in mine}) == 1 and "ZQ7K" not in mine[0]
    pay = PaymentsService(ServiceCore(fees.core.sessions, fees.core.workstation_id))
    rcp = pay.take_payment(actors[M], patient_id=pid, method="cash", amount_minor=100)
    assert rcp.receipt_number and rcp.receipt_number.startswith("RCP-" + mine[0].split("-")[1])


def test_two_data_folders_offline_then_merged_have_no_duplicate(
    template_dir, tmp_path, actors, make_patient, ctx
):
    """Two workstations' folders (each with its own series) issue offline; their numbers,
    brought together as sync would, are all distinct."""
    numbers = []
    for n, code in enumerate(("AAA1", "BBB2")):
        folder = tmp_path / f"ws{n}"
        shutil.copytree(template_dir, folder, ignore=shutil.ignore_patterns(".lock"))
        c = build_context(ClinicDatabase.open(folder))
        try:
            with c.db.sessions()() as s, s.begin():
                ws = s.scalars(select(Workstation).where(Workstation.is_local.is_(True))).one()
                for series in s.scalars(
                    select(NumberSeries).where(NumberSeries.series_code == ws.series_code)
                ):
                    series.series_code = code
                ws.series_code = code
            from pms_desktop.services.billing import load_default_fee_schedule
            from pms_desktop.store.models import Clinic, Patient

            with c.db.sessions()() as s, s.begin():
                load_default_fee_schedule(s)
                p = Patient(
                    clinic_id=s.scalars(select(Clinic.id)).one(),
                    given="A",
                    family="B",
                    birth_date=date(1990, 1, 1),
                )
                s.add(p)
                s.flush()
                pid = p.id
            numbers += _issue(c.billing, actors[M], pid, 5)
        finally:
            c.close()
    assert len(numbers) == len(set(numbers)) == 10


def test_counter_behind_after_restore_skips_numbers_already_known(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    first = _issue(fees.billing, actors[M], pid, 3)
    with fees.db.sessions()() as s, s.begin():  # as if restored from a backup taken before
        for series in s.scalars(select(NumberSeries).where(NumberSeries.kind == "invoice")):
            series.next_value = 1
    again = _issue(fees.billing, actors[M], pid, 1)
    assert again[0] not in first
    with fees.db.sessions()() as s:
        assert s.scalar(select(Invoice.number).where(Invoice.number == again[0]))
