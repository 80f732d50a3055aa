"""Invoice, credit note, receipt and statement PDFs: rows -> formatted text -> ``documents``.

Amounts are formatted in the clinic's currency and locale, dates in the clinic's timezone; the
letterhead (name, address, contacts, tax number, logo, footer) comes from the clinic settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..documents.credit_note_pdf import render_credit_note_pdf
from ..documents.invoice_pdf import render_invoice_pdf
from ..documents.receipt_pdf import render_receipt_pdf
from ..documents.statement_pdf import render_statement_pdf
from ..domain.dates import day_text
from ..domain.money import format_amount, format_rate
from ..store.models import CreditNote, Invoice, Patient, Payment, Practitioner
from . import billing_queries as q
from .billing_period import local_time
from .clinic_letterhead import letterhead
from .payments_account import build_account

METHODS = {"cash": "Cash", "card": "Card", "bank_transfer": "Bank transfer", "insurer": "Insurer"}


def _formatter(currency: str, locale: str) -> Callable[[int], str]:
    def money(minor: int) -> str:
        return format_amount(minor, currency, locale)

    return money


def fmt_date(value: datetime | date | None, tz: str) -> str:
    if value is None:
        return ""
    d = local_time(value, tz).date() if isinstance(value, datetime) else value
    return day_text(d)


def fmt_qty(q_: Decimal) -> str:
    text = f"{q_.normalize():f}"
    return text


def patient_lines(p: Patient) -> list[str]:
    name = " ".join(x for x in (p.prefix, p.given, p.family) if x)
    lines = [name]
    lines += [x for x in (p.address_line, p.address_line2) if x]
    town = " ".join(x for x in (p.postal_code, p.city) if x)
    if town:
        lines.append(town)
    lines.append(f"Date of birth {day_text(p.birth_date)}")
    for ident in p.identifiers[:1]:
        lines.append(f"{ident.label} {ident.value}")
    return lines


def invoice_pdf(s: Session, inv: Invoice) -> bytes:
    c = q.clinic_row(s)
    money = _formatter(inv.currency, c.locale)
    rows = [
        [
            x.code or "",
            x.description,
            fmt_qty(x.quantity),
            money(x.unit_price_minor),
            money(x.discount_minor) if x.discount_minor else "",
            format_rate(x.tax_rate),
            money(x.net_minor),
        ]
        for x in inv.lines
    ]
    paid = q.paid_by_invoice(s, [inv.id]).get(inv.id, 0)
    credited = q.credited_by_invoice(s, [inv.id]).get(inv.id, 0)
    totals = [("Subtotal", money(inv.subtotal_minor))]
    if inv.discount_minor:
        totals.append(("Discount", "-" + money(inv.discount_minor)))
        totals.append(("Net", money(inv.subtotal_minor - inv.discount_minor)))
    totals += [("Tax", money(inv.tax_minor)), ("Total", money(inv.total_minor))]
    if credited:
        totals.append(("Credited", "-" + money(credited)))
    if paid:
        totals.append(("Paid", "-" + money(paid)))
    if paid or credited:
        totals.append(("Amount due", money(inv.total_minor - paid - credited)))
    else:
        totals[-1] = ("Total due", money(inv.total_minor))
    prac = s.get(Practitioner, inv.practitioner_id) if inv.practitioner_id else None
    reference = [
        ("Invoice no.", inv.number or "Draft (not issued)"),
        ("Date", fmt_date(inv.issued_at or inv.created_at, c.timezone)),
    ]
    if inv.due_date and inv.status == "issued":
        reference.append(("Due date", fmt_date(inv.due_date, c.timezone)))
    if prac:
        reference.append(("Practitioner", q.practitioner_name(prac) or ""))
    notes = [inv.note] if inv.note else []
    if c.tax_rounding == "total":
        notes.append("Tax is calculated on the invoice total.")
    if inv.status == "void":
        notes.append(f"Voided: {inv.void_reason}")
    stamp = {"draft": "DRAFT", "void": "VOID"}.get(inv.status)
    if stamp is None and paid + credited >= inv.total_minor and inv.total_minor > 0:
        stamp = "PAID" if paid else None
    return render_invoice_pdf(
        head=letterhead(c),
        title="Invoice",
        reference=reference,
        patient_lines=patient_lines(q.patient_row(s, inv.patient_id)),
        rows=rows,
        totals=totals,
        notes=notes,
        stamp=stamp,
    )


def credit_note_pdf(s: Session, cn: CreditNote) -> bytes:
    c = q.clinic_row(s)
    inv = q.invoice_row(s, cn.invoice_id)
    money = _formatter(inv.currency, c.locale)
    rows = [
        [x.description, money(x.net_minor), money(x.tax_minor), money(x.total_minor)]
        for x in cn.lines
    ]
    totals = [
        ("Net", money(cn.net_minor)),
        ("Tax", money(cn.tax_minor)),
        ("Total credited", money(cn.total_minor)),
    ]
    reference = [
        ("Credit note no.", cn.number),
        ("Date", fmt_date(cn.issued_at, c.timezone)),
        ("Invoice", inv.number or ""),
    ]
    return render_credit_note_pdf(
        head=letterhead(c),
        reference=reference,
        patient_lines=patient_lines(q.patient_row(s, inv.patient_id)),
        rows=rows,
        totals=totals,
        notes=[f"Reason: {cn.reason}"],
    )


def receipt_pdf(s: Session, pay: Payment) -> bytes:
    c = q.clinic_row(s)
    money = _formatter(pay.currency, c.locale)
    refund = pay.kind == "refund"
    numbers = {
        i.id: i.number
        for i in s.scalars(
            select(Invoice).where(Invoice.id.in_([a.invoice_id for a in pay.allocations]))
        )
    }
    rows = [
        [f"Invoice {numbers.get(a.invoice_id) or ''}", money(a.amount_minor)]
        for a in pay.allocations
    ]
    free = pay.amount_minor - sum(a.amount_minor for a in pay.allocations)
    if refund:
        rows = [["Refund of account credit", money(pay.amount_minor)]]
    elif free > 0:
        rows.append(["Credit on account", money(free)])
    reference = [
        ("Receipt no.", pay.receipt_number or ""),
        ("Date", fmt_date(pay.received_at, c.timezone)),
        ("Method", METHODS.get(pay.method, pay.method)),
    ]
    if pay.reference:
        reference.append(("Reference", pay.reference))
    totals = [("Amount refunded" if refund else "Amount received", money(pay.amount_minor))]
    acct = build_account(s, q.patient_row(s, pay.patient_id))
    notes = [
        f"Account balance after this {'refund' if refund else 'payment'}: "
        f"{money(acct.balance_minor)}" + (" (in credit)" if acct.balance_minor < 0 else "")
    ]
    return render_receipt_pdf(
        head=letterhead(c),
        title="Refund receipt" if refund else "Receipt",
        reference=reference,
        patient_lines=patient_lines(q.patient_row(s, pay.patient_id)),
        rows=rows,
        totals=totals,
        notes=notes,
    )


def statement_pdf(s: Session, patient: Patient, now: datetime) -> bytes:
    c = q.clinic_row(s)
    acct = build_account(s, patient)
    money = _formatter(acct.currency, c.locale)
    rows = [
        [
            fmt_date(e.at, c.timezone),
            e.reference,
            e.description,
            money(e.debit_minor) if e.debit_minor else "",
            money(e.credit_minor) if e.credit_minor else "",
            money(e.balance_minor),
        ]
        for e in acct.entries
    ]
    label = "Balance due" if acct.balance_minor >= 0 else "In credit"
    totals = [
        ("Charges", money(acct.invoiced_minor + acct.refunded_minor)),
        ("Credits and payments", money(acct.credited_minor + acct.paid_minor)),
        (label, money(abs(acct.balance_minor))),
    ]
    return render_statement_pdf(
        head=letterhead(c),
        reference=[("Date", fmt_date(now, c.timezone))],
        patient_lines=patient_lines(patient),
        rows=rows,
        totals=totals,
        notes=["Thank you. Please quote the invoice number with any payment."],
    )
