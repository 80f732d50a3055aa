"""``pms-desktop report``: signs in, writes PDF or CSV, refuses roles without REPORTS."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pms_desktop.cli import main
from pms_desktop.context import build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.security.totp import current_code
from pms_desktop.services.billing import load_default_fee_schedule
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Clinic, Patient, StaffUser
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS

DAY = datetime(2025, 3, 3, 11, tzinfo=UTC)


@pytest.fixture
def billed(data_dir):
    ctx = build_context(ClinicDatabase.open(data_dir))
    try:
        with ctx.db.sessions()() as s, s.begin():
            load_default_fee_schedule(s)
            p = Patient(
                clinic_id=s.scalars(select(Clinic.id)).one(),
                given="Cara",
                family="Doyle",
                birth_date=datetime(1970, 1, 1).date(),
            )
            s.add(p)
            s.flush()
            pid = p.id
            u = s.scalars(select(StaffUser).where(StaffUser.username == "paul")).one()
            actor = StaffSession(
                u.id,
                u.username,
                u.display_name,
                Role.PRACTICE_MANAGER,
                ctx.core.workstation_id,
                DAY,
            )
        ctx.core.clock = lambda: DAY
        d = ctx.billing.create_invoice(actor, patient_id=pid, lines=[LineInput(fee_code="CONS-N")])
        inv = ctx.billing.issue_invoice(actor, invoice_id=d.id)
        ctx.payments.take_payment(
            actor, patient_id=pid, method="card", amount_minor=4000, invoice_id=inv.id
        )
        return inv
    finally:
        ctx.close()


def _sign(monkeypatch, role):
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[role], datetime.now(UTC)))


def test_report_cli_writes_csv_and_pdf(data_dir, billed, tmp_path, monkeypatch, capsys):
    _sign(monkeypatch, Role.PRACTICE_MANAGER)
    out = tmp_path / "takings.csv"
    assert (
        main(
            [
                "report",
                "takings",
                "--data-dir",
                str(data_dir),
                "--from",
                "2025-03-01",
                "--to",
                "2025-03-31",
                "--out",
                str(out),
                "--user",
                "paul",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["Method"] == "Card" and Decimal(rows[-1]["Net takings"]) == Decimal("40.00")
    _sign(monkeypatch, Role.CLINIC_ADMIN)
    pdf = tmp_path / "aging.pdf"
    assert (
        main(
            [
                "report",
                "aging",
                "--data-dir",
                str(data_dir),
                "--from",
                "2025-03-01",
                "--to",
                "2025-04-30",
                "--out",
                str(pdf),
                "--user",
                "admin",
            ]
        )
        == 0
    )
    text = PdfReader(str(pdf)).pages[0].extract_text()
    assert billed.summary.number in text and "€70.00" in text  # 110.00 - 40.00 outstanding


def test_report_cli_refuses_reception_and_bad_suffix(
    data_dir, billed, tmp_path, monkeypatch, capsys
):
    _sign(monkeypatch, Role.RECEPTION)
    out = tmp_path / "r.csv"
    assert (
        main(
            [
                "report",
                "revenue",
                "--data-dir",
                str(data_dir),
                "--from",
                "2025-03-01",
                "--to",
                "2025-03-31",
                "--out",
                str(out),
                "--user",
                "rita",
            ]
        )
        == 1
    )
    assert not out.exists() and "error:" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "revenue",
                "--data-dir",
                str(data_dir),
                "--from",
                "2025-03-01",
                "--to",
                "2025-03-31",
                "--out",
                str(tmp_path / "r.txt"),
                "--user",
                "rita",
            ]
        )
        == 1
    )
