# ruff: noqa: F811  (pytest fixtures imported from conftest_billing)
"""Reports agree with the invoices, credit notes, payments and appointments they sum."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied, ValidationError
from pms_desktop.services.billing_dto import LineInput

from .conftest_billing import fees, make_appointment  # noqa: F401

M = Role.PRACTICE_MANAGER
D0, D1 = date(2025, 3, 1), date(2025, 3, 31)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def book(fees, actors, make_patient):  # noqa: F811
    """A month of invoices, credits, payments and appointments; returns the expected figures."""
    a, b = make_patient(given="Ann", family="Ahern"), make_patient(given="Bob", family="Burke")
    bill, pay = fees.billing, fees.payments
    exp = {"net": 0, "tax": 0, "cash": 0, "card": 0, "refunds": 0, "credited": 0}

    def invoice(pid, when, lines):
        fees.core.clock = lambda: when
        d = bill.create_invoice(actors[M], patient_id=pid, lines=lines)
        return bill.issue_invoice(actors[M], invoice_id=d.id)

    i1 = invoice(a, at(3), [LineInput(fee_code="CONS-S"), LineInput(fee_code="CERT")])
    i2 = invoice(
        b, at(10), [LineInput(fee_code="VACC-FLU", quantity=Decimal(3), discount_minor=99)]
    )
    i3 = invoice(b, at(20), [LineInput(fee_code="REPORT")])
    fees.core.clock = lambda: at(25)
    draft = bill.create_invoice(actors[M], patient_id=a, lines=[LineInput(fee_code="HOME")])
    voided = invoice(a, at(26), [LineInput(fee_code="HOME")])
    bill.void_invoice(actors[M], invoice_id=voided.id, reason="Duplicate")
    fees.core.clock = lambda: datetime(2025, 2, 27, 10, tzinfo=UTC)  # outside the month
    invoice(b, datetime(2025, 2, 27, 10, tzinfo=UTC), [LineInput(fee_code="TELE")])
    for inv in (i1, i2, i3):
        exp["net"] += inv.net_minor
        exp["tax"] += inv.tax_minor
    fees.core.clock = lambda: at(21)
    cn = bill.issue_credit_note(actors[M], invoice_id=i3.id, reason="Report withdrawn")
    exp["credited"] = cn.net_minor
    exp["tax"] -= cn.tax_minor
    fees.core.clock = lambda: at(4, 9)
    pay.take_payment(actors[M], patient_id=a, method="cash", amount_minor=5000, invoice_id=i1.id)
    fees.core.clock = lambda: at(4, 15)
    pay.take_payment(actors[M], patient_id=a, method="card", amount_minor=5000, auto_allocate=True)
    fees.core.clock = lambda: at(11)
    pay.take_payment(actors[M], patient_id=b, method="card", amount_minor=2000, invoice_id=i2.id)
    fees.core.clock = lambda: at(28)
    pay.refund(actors[M], patient_id=a, amount_minor=500, method="cash", reason="Overpaid")
    exp.update(cash=5000, card=7000, refunds=500)
    for day, status in (
        (5, "completed"),
        (5, "noshow"),
        (6, "noshow"),
        (7, "cancelled"),
        (8, "completed"),
    ):
        make_appointment(fees, a, start=at(day), status=status)
    exp["i2_outstanding"] = i2.summary.total_minor - 2000
    exp["draft"] = draft.id
    fees.core.clock = lambda: datetime.now(UTC)
    return exp


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def money_sum(rows, key) -> Decimal:
    return sum((Decimal(r[key] or "0") for r in rows), Decimal(0))


def test_revenue_csv_totals_agree_with_invoices_and_credit_notes(fees, actors, book):  # noqa: F811
    for group in ("period", "practitioner", "service"):
        rep = fees.reports.run(actors[M], kind="revenue", date_from=D0, date_to=D1, group_by=group)
        rows = rows_of(fees.reports.export_csv(actors[M], report=rep))
        body, total = rows[:-1], rows[-1]
        assert total[rep.columns[0].title] == "Total"
        assert (
            money_sum(body, "Invoiced (net)")
            == Decimal(total["Invoiced (net)"])
            == Decimal(book["net"]) / 100
        )
        assert Decimal(total["Credited (net)"]) == Decimal(book["credited"]) / 100
        assert Decimal(total["Net revenue"]) == Decimal(book["net"] - book["credited"]) / 100
        assert Decimal(total["Tax"]) == Decimal(book["tax"]) / 100



def test_revenue_credit_counts_on_its_own_day_service_and_practitioner(fees, actors, book):  # noqa: F811
    """The credit note (on the report of the 20th, credited on the 21st) is a credit of that
    day, of the REPORT service it credited, and of the invoice's practitioner."""

    def credited(group: str) -> dict[str, int]:
        rep = fees.reports.run(actors[M], kind="revenue", date_from=D0, date_to=D1, group_by=group)
        return {str(r[0]): r[3] for r in rep.rows if r[3]}

    assert credited("period") == {"2025-03-21": book["credited"]}
    [(service, amount)] = credited("service").items()
    assert service.startswith("REPORT ") and amount == book["credited"]
    assert list(credited("practitioner").values()) == [book["credited"]]

def test_takings_sum_payments_by_method_and_day(fees, actors, book):  # noqa: F811
    rep = fees.reports.run(actors[M], kind="takings", date_from=D0, date_to=D1)
    rows = rows_of(fees.reports.export_csv(actors[M], report=rep))
    body, total = rows[:-1], rows[-1]
    by_method = {}
    for r in body:
        by_method[r["Method"]] = by_method.get(r["Method"], Decimal(0)) + Decimal(r["Received"])
    assert by_method == {"Cash": Decimal(50), "Card": Decimal(70)}
    assert Decimal(total["Refunded"]) == Decimal(5)
    assert Decimal(total["Net takings"]) == Decimal(115) == money_sum(body, "Net takings")
    assert total["Payments"] == "3"
    one_day = fees.reports.run(
        actors[M], kind="takings", date_from=date(2025, 3, 4), date_to=date(2025, 3, 4)
    )
    assert one_day.totals[3] == 10000


def test_aging_buckets_outstanding_invoices(fees, actors, book):  # noqa: F811
    rep = fees.reports.run(actors[M], kind="aging", date_from=D0, date_to=date(2025, 5, 1))
    rows = rows_of(fees.reports.export_csv(actors[M], report=rep))
    body, total = rows[:-1], rows[-1]
    outstanding = {r["Invoice"]: Decimal(r["Outstanding"]) for r in body}
    assert Decimal(book["i2_outstanding"]) / 100 in outstanding.values()
    buckets = sum(
        Decimal(total[b] or 0) for b in ("0-30 days", "31-60 days", "61-90 days", "90+ days")
    )
    assert buckets == Decimal(total["Outstanding"]) == money_sum(body, "Outstanding")
    i2 = next(r for r in body if Decimal(r["Outstanding"]) == Decimal(book["i2_outstanding"]) / 100)
    assert i2["Days"] == "52" and i2["31-60 days"]  # issued 10 March, aged to 1 May
    # A past date's ageing says what was owed then, not today.
    assert [n for n in rep.notes if "end date" in n] and not [n for n in rep.notes if "today" in n]


def test_no_show_rate_and_day_sheet_count_appointments(fees, actors, book):  # noqa: F811
    rep = fees.reports.run(actors[M], kind="no-show", date_from=D0, date_to=D1)
    assert rep.totals[1:] == (4, 2, Decimal("0.5"))
    sheet = fees.reports.run(
        actors[M], kind="day-sheet", date_from=date(2025, 3, 5), date_to=date(2025, 3, 5)
    )
    assert len(sheet.rows) == 2 and {r[5] for r in sheet.rows} == {"Completed", "Did not attend"}
    assert "Counted by appointment date" in sheet.basis
    missing = fees.reports.run(actors[M], kind="not-invoiced", date_from=D0, date_to=D1)
    assert len(missing.rows) == 2


def test_report_pdf_has_title_basis_and_totals(fees, actors, book):  # noqa: F811
    rep = fees.reports.run(actors[M], kind="revenue", date_from=D0, date_to=D1, group_by="service")
    text = (
        PdfReader(io.BytesIO(fees.reports.export_pdf(actors[M], report=rep)))
        .pages[0]
        .extract_text()
    )
    assert "Revenue by service" in text and "Counted by invoice date" in text
    assert "CONS-S" in text and f"€{Decimal(book['net'] - book['credited']) / 100:,.2f}" in text


def test_reports_need_the_reports_permission_and_sane_dates(fees, actors):  # noqa: F811
    for role in (Role.RECEPTION, Role.CLINICIAN):
        with pytest.raises(PermissionDenied):
            fees.reports.run(actors[role], kind="takings", date_from=D0, date_to=D1)
    fees.reports.run(actors[Role.CLINIC_ADMIN], kind="takings", date_from=D0, date_to=D1)
    with pytest.raises(ValidationError):
        fees.reports.run(actors[M], kind="takings", date_from=D1, date_to=D0)
    with pytest.raises(ValidationError):
        fees.reports.run(actors[M], kind="bogus", date_from=D0, date_to=D1)


def test_uninvoiced_list_drops_an_appointment_once_invoiced(fees, actors, make_patient):  # noqa: F811
    pid = make_patient()
    appt = make_appointment(fees, pid, start=datetime.now(UTC) - timedelta(minutes=30))
    today = datetime.now(UTC).date()
    found = fees.billing.list_uninvoiced(
        actors[M], date_from=today - timedelta(days=1), date_to=today + timedelta(days=1)
    )
    assert [u.appointment_id for u in found] == [appt]
    fees.billing.create_invoice_from_appointment(actors[M], appointment_id=appt)
    assert (
        fees.billing.list_uninvoiced(
            actors[M], date_from=today - timedelta(days=1), date_to=today + timedelta(days=1)
        )
        == []
    )


def test_aging_as_at_a_past_date_ignores_later_payments_credits_and_voids(fees, actors, book):  # noqa: F811
    """The debtors at a month's end stay what they were, whatever happened after."""
    def owed(as_at: date) -> dict[str, Decimal]:
        rep = fees.reports.run(actors[M], kind="aging", date_from=D0, date_to=as_at)
        return {r["Invoice"]: Decimal(r["Outstanding"])
                for r in rows_of(fees.reports.export_csv(actors[M], report=rep))[:-1]}

    before = owed(date(2025, 3, 10))  # i2 issued on the 10th, its payment came on the 11th
    i2_total = Decimal(book["i2_outstanding"] + 2000) / 100
    assert i2_total in before.values()
    after = owed(date(2025, 5, 1))
    assert Decimal(book["i2_outstanding"]) / 100 in after.values()
    # i3 was credited on the 21st: owed on the 20th, not at the end of the month
    on_20th, on_22nd = owed(date(2025, 3, 20)), owed(date(2025, 3, 22))
    assert len(on_20th) == len(on_22nd) + 1
    # an invoice voided on the 26th was owed on the 26th's eve... and not at the month's end
    fees.core.clock = lambda: datetime(2025, 3, 30, 9, tzinfo=UTC)
    pid = make_patient_for_aging(fees, actors)
    d = fees.billing.create_invoice(actors[M], patient_id=pid, lines=[LineInput(fee_code="ECG")])
    inv = fees.billing.issue_invoice(actors[M], invoice_id=d.id)
    fees.core.clock = lambda: datetime(2025, 4, 2, 9, tzinfo=UTC)
    fees.billing.void_invoice(actors[M], invoice_id=inv.id, reason="Wrong patient")
    fees.core.clock = lambda: datetime.now(UTC)
    assert inv.summary.number in owed(date(2025, 3, 31))
    assert inv.summary.number not in owed(date(2025, 4, 30))
    assert owed(date(2025, 3, 10)) == before  # asking again changes nothing


def make_patient_for_aging(fees, actors):  # type: ignore[no-untyped-def]
    from pms_desktop.services.patients_dto import PatientDraft

    draft = PatientDraft(given="Cara", family="Cullen", birth_date="1975-01-02", sex="female")
    return fees.patients.register_patient(actors[Role.RECEPTION], draft=draft).id


def test_aging_counts_a_payment_until_it_is_voided_and_drops_a_paid_invoice(
    fees,
    actors,
    make_patient,  # noqa: F811
):
    pid = make_patient(given="Dara", family="Doyle")
    fees.core.clock = lambda: at(3)
    draft = fees.billing.create_invoice(
        actors[M], patient_id=pid, lines=[LineInput(fee_code="CONS-S")]
    )
    inv = fees.billing.issue_invoice(actors[M], invoice_id=draft.id)
    total = inv.summary.total_minor
    fees.core.clock = lambda: at(5)
    pay = fees.payments.take_payment(
        actors[M], patient_id=pid, method="card", amount_minor=1000, invoice_id=inv.id
    )
    fees.core.clock = lambda: at(12)
    fees.payments.void_payment(actors[M], payment_id=pay.id, reason="Card declined")
    fees.core.clock = lambda: at(14)
    fees.payments.take_payment(
        actors[M], patient_id=pid, method="cash", amount_minor=total, invoice_id=inv.id
    )
    fees.core.clock = lambda: datetime.now(UTC)

    def row(day: int):  # type: ignore[no-untyped-def]
        as_at = date(2025, 3, day)
        rep = fees.reports.run(actors[M], kind="aging", date_from=D0, date_to=as_at)
        return next((r for r in rep.rows if r[0] == inv.summary.number), None)

    assert row(2) is None  # not issued yet
    assert row(4)[:6] == (inv.summary.number, "DOYLE, Dara", date(2025, 3, 3), 1, total, total)
    assert row(8)[5] == total - 1000  # the card payment counted then
    assert row(13)[5] == total  # ... and not once voided
    assert row(20) is None  # paid in full on the 14th
