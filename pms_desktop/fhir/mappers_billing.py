"""Money records: ChargeItemDefinition (fees), Invoice, credit notes, PaymentReconciliation.

Amounts are FHIR ``Money`` with an exact Decimal value (minor units scaled by the currency's
exponent; never float). An invoice line's price components: ``base`` (factor = quantity,
amount = quantity x unit price, the unit price itself in a ``unit-price`` extension),
``discount``, ``tax`` (factor = rate), and ``informational`` ones coded ``net`` and ``total``
carrying the stored line figures exactly. A credit note is an ``Invoice`` tagged
``credit_note`` with a ``credits-invoice`` extension naming the invoice it corrects. A
payment's allocations are ``PaymentReconciliation.detail`` entries whose ``request`` is the
invoice paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..domain.money import exponent
from ..store.models import (
    Clinic,
    CreditNote,
    CreditNoteLine,
    FeeItem,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)
from .common import (
    BASE,
    CS,
    Json,
    bad,
    clean,
    concept,
    day,
    dec,
    ext,
    ext_ref,
    exts,
    first_code,
    get_ext,
    instant,
    money,
    money_minor,
    opt_day,
    opt_instant,
    parse_instant,
    ref,
    req_ref,
    texts,
    unref,
)
from .mapper import Context, Mapper, Parsed

FEE_SCHEDULE = f"{CS}fee-schedule"
INVOICE_NUMBER = f"{CS}invoice-number"
CREDIT_NOTE_NUMBER = f"{CS}credit-note-number"
RECEIPT_NUMBER = f"{CS}receipt-number"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
PRICE_PART = f"{CS}price-component"
INVOICE_STATUS = {"draft": "draft", "issued": "issued", "void": "cancelled"}


def _currency(c: Context, clinic_id: str | None) -> str:
    clinic = c.session.get(Clinic, clinic_id) if clinic_id else None
    return clinic.currency if clinic is not None else "EUR"


def _ident(system: str, value: str | None) -> list[Json] | None:
    return [{"system": system, "value": value}] if value is not None else None


def _ident_in(res: Json, system: str) -> str | None:
    return next(
        (i.get("value") for i in res.get("identifier") or () if i.get("system") == system), None
    )


def _part(
    kind: str, amount: int, cur: str, code: str | None = None, factor: Decimal | None = None
) -> Json:
    return clean(
        {
            "type": kind,
            "code": concept(PRICE_PART, code) if code else None,
            "factor": factor,
            "amount": money(amount, cur),
        }
    )


def _parts_in(parts: list[Json], field: str, cur: str) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for p in parts:
        key = first_code(p.get("code"), PRICE_PART) or p.get("type")
        out[str(key)] = p
    return out


def _minor(
    parts: dict[str, Json], key: str, field: str, cur: str, default: int | None = None
) -> int:
    part = parts.get(key)
    if part is None:
        if default is not None:
            return default
        raise bad(field, f"the {key} price component is missing")
    return money_minor(part.get("amount"), f"{field}.{key}", cur)


# -- FeeItem -> ChargeItemDefinition ---------------------------------------------------------


def fee_out(c: Context, r: FeeItem) -> Json:
    cur = _currency(c, r.clinic_id)
    return {
        "extension": [ext("clinic", ref("Organization", r.clinic_id))],
        "url": f"{BASE}/ChargeItemDefinition/{r.id}",
        "title": r.description,
        "status": "active" if r.active else "retired",
        "code": concept(FEE_SCHEDULE, r.code, r.description),
        "propertyGroup": [
            {
                "priceComponent": [
                    {"type": "base", "amount": money(r.price_minor, cur)},
                    {"type": "tax", "factor": r.tax_rate},
                ]
            }
        ],
    }


def fee_in(c: Context, res: Json, row: Any) -> Parsed:
    code = first_code(res.get("code"), FEE_SCHEDULE)
    if not code or not res.get("title"):
        raise bad("code", "a fee needs a code and a description")
    parts = {
        p.get("type"): p
        for g in res.get("propertyGroup") or ()
        for p in g.get("priceComponent") or ()
    }
    if "base" not in parts or "tax" not in parts:
        raise bad("propertyGroup", "a fee needs base and tax price components")
    return {
        "clinic_id": ext_ref(res, "clinic", "Organization"),
        "code": code,
        "description": res["title"],
        "price_minor": money_minor(parts["base"].get("amount"), "base.amount"),
        "tax_rate": dec(parts["tax"].get("factor", 0), "tax.factor"),
        "active": res.get("status") == "active",
    }, None


# -- Invoice ---------------------------------------------------------------------------------


def _line_out(n: InvoiceLine, cur: str) -> Json:
    gross = (n.quantity * Decimal(n.unit_price_minor)).scaleb(-exponent(cur))
    base = {
        "extension": [ext("unit-price", money(n.unit_price_minor, cur), "Money")],
        "type": "base",
        "factor": n.quantity,
        "amount": {"value": gross, "currency": cur},
    }
    return clean(
        {
            "id": n.id,
            "extension": exts(ext("fee-item", ref("ChargeItemDefinition", n.fee_item_id))),
            "sequence": n.position + 1,
            "chargeItemCodeableConcept": concept(
                FEE_SCHEDULE if n.code else None, n.code, None, n.description
            ),
            "priceComponent": [
                base,
                _part("discount", n.discount_minor, cur),
                _part("tax", n.tax_minor, cur, factor=n.tax_rate),
                _part("informational", n.net_minor, cur, "net"),
                _part("informational", n.total_minor, cur, "total"),
            ],
        }
    )


def invoice_out(c: Context, r: Invoice) -> Json:
    cur = r.currency
    return clean(
        {
            "extension": exts(
                ext("created-at", r.created_at),
                ext("due-date", r.due_date),
                ext("voided-at", r.voided_at),
                ext("appointment", ref("Appointment", r.appointment_id)),
                ext("encounter", ref("Encounter", r.encounter_id)),
            ),
            "identifier": _ident(INVOICE_NUMBER, r.number),
            "status": INVOICE_STATUS.get(r.status, r.status),
            "cancelledReason": r.void_reason,
            "subject": ref("Patient", r.patient_id),
            "recipient": ref("Patient", r.patient_id),
            "date": instant(r.issued_at),
            "participant": [{"actor": ref("Practitioner", r.practitioner_id)}]
            if r.practitioner_id
            else None,
            "issuer": ref("Organization", r.clinic_id),
            "lineItem": [_line_out(n, cur) for n in r.lines],
            "totalPriceComponent": [
                _part("base", r.subtotal_minor, cur),
                _part("discount", r.discount_minor, cur),
                _part("tax", r.tax_minor, cur),
            ],
            "totalNet": money(r.subtotal_minor - r.discount_minor, cur),
            "totalGross": money(r.total_minor, cur),
            "note": [{"text": r.note}] if r.note is not None else None,
        }
    )


def _line_in(item: Json, n: int, cur: str) -> dict[str, Any]:
    field = f"lineItem[{n}]"
    parts = _parts_in(item.get("priceComponent") or [], field, cur)
    base = parts.get("base")
    if base is None:
        raise bad(field, "a line needs a base price component")
    unit = get_ext(base, "unit-price")
    cc = item.get("chargeItemCodeableConcept") or {}
    if not cc.get("text"):
        raise bad(field, "a line needs a description")
    quantity = dec(base.get("factor", 1), f"{field}.base.factor")
    unit_minor = (
        money_minor(unit, f"{field}.unit-price", cur)
        if unit is not None
        else int(money_minor(base.get("amount"), f"{field}.base", cur) / quantity)
    )
    return {
        "id": item.get("id"),
        "position": int(item.get("sequence", n + 1)) - 1,
        "fee_item_id": ext_ref(item, "fee-item", "ChargeItemDefinition"),
        "code": first_code(cc),
        "description": cc["text"],
        "quantity": quantity,
        "unit_price_minor": unit_minor,
        "discount_minor": _minor(parts, "discount", field, cur, 0),
        "tax_rate": dec((parts.get("tax") or {}).get("factor", 0), f"{field}.tax.factor"),
        "tax_minor": _minor(parts, "tax", field, cur, 0),
        "net_minor": _minor(parts, "net", field, cur),
        "total_minor": _minor(parts, "total", field, cur),
    }


def invoice_in(c: Context, res: Json, row: Any) -> Parsed:
    cur = (res.get("totalGross") or {}).get("currency")
    if not cur:
        raise bad("totalGross", "an invoice needs its total with a currency")
    status = {v: k for k, v in INVOICE_STATUS.items()}.get(res.get("status", ""))
    if status is None:
        raise bad("status", f"unsupported invoice status {res.get('status')!r}")
    totals = _parts_in(res.get("totalPriceComponent") or [], "totalPriceComponent", cur)
    parts = res.get("participant") or [{}]
    notes = texts(res.get("note"))
    return {
        "clinic_id": req_ref(res.get("issuer"), "issuer", "Organization"),
        "number": _ident_in(res, INVOICE_NUMBER),
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "practitioner_id": unref(parts[0].get("actor"), "participant", "Practitioner"),
        "appointment_id": ext_ref(res, "appointment", "Appointment"),
        "encounter_id": ext_ref(res, "encounter", "Encounter"),
        "status": status,
        "currency": cur,
        "created_at": parse_instant(get_ext(res, "created-at"), "created-at"),
        "issued_at": opt_instant(res.get("date"), "date"),
        "due_date": opt_day(get_ext(res, "due-date"), "due-date"),
        "void_reason": res.get("cancelledReason"),
        "voided_at": opt_instant(get_ext(res, "voided-at"), "voided-at"),
        "subtotal_minor": _minor(totals, "base", "totalPriceComponent", cur, 0),
        "discount_minor": _minor(totals, "discount", "totalPriceComponent", cur, 0),
        "tax_minor": _minor(totals, "tax", "totalPriceComponent", cur, 0),
        "total_minor": money_minor(res["totalGross"], "totalGross", cur),
        "note": notes[0] if notes else None,
    }, {"lines": [_line_in(item, n, cur) for n, item in enumerate(res.get("lineItem") or ())]}


# -- CreditNote -> Invoice (tagged) ----------------------------------------------------------


def credit_out(c: Context, r: CreditNote) -> Json:
    invoice = c.session.get(Invoice, r.invoice_id)
    cur = invoice.currency if invoice is not None else _currency(c, None)
    return clean(
        {
            "extension": exts(
                ext("credits-invoice", ref("Invoice", r.invoice_id)),
                ext("credit-reason", r.reason),
                ext("issued-by", ref("Basic", r.issued_by)),
            ),
            "identifier": _ident(CREDIT_NOTE_NUMBER, r.number),
            "status": "issued",
            "subject": ref("Patient", invoice.patient_id) if invoice is not None else None,
            "date": instant(r.issued_at),
            "issuer": ref("Organization", invoice.clinic_id) if invoice is not None else None,
            "lineItem": [
                clean(
                    {
                        "id": n.id,
                        "extension": exts(ext("credits-line", n.invoice_line_id)),
                        "sequence": n.position + 1,
                        "chargeItemCodeableConcept": {"text": n.description},
                        "priceComponent": [
                            _part("informational", n.net_minor, cur, "net"),
                            _part("tax", n.tax_minor, cur),
                            _part("informational", n.total_minor, cur, "total"),
                        ],
                    }
                )
                for n in r.lines
            ],
            "totalPriceComponent": [_part("tax", r.tax_minor, cur)],
            "totalNet": money(r.net_minor, cur),
            "totalGross": money(r.total_minor, cur),
        }
    )


def credit_in(c: Context, res: Json, row: Any) -> Parsed:
    invoice_id = ext_ref(res, "credits-invoice", "Invoice")
    number = _ident_in(res, CREDIT_NOTE_NUMBER)
    reason = get_ext(res, "credit-reason")
    if invoice_id is None or number is None or reason is None:
        raise bad(
            "credits-invoice", "a credit note needs the invoice it credits, a number and a reason"
        )
    cur = (res.get("totalGross") or {}).get("currency") or ""
    totals = _parts_in(res.get("totalPriceComponent") or [], "totalPriceComponent", cur)
    lines = []
    for n, item in enumerate(res.get("lineItem") or ()):
        field = f"lineItem[{n}]"
        parts = _parts_in(item.get("priceComponent") or [], field, cur)
        lines.append(
            {
                "id": item.get("id"),
                "invoice_line_id": get_ext(item, "credits-line"),
                "position": int(item.get("sequence", n + 1)) - 1,
                "description": (item.get("chargeItemCodeableConcept") or {}).get("text") or "",
                "net_minor": _minor(parts, "net", field, cur),
                "tax_minor": _minor(parts, "tax", field, cur, 0),
                "total_minor": _minor(parts, "total", field, cur),
            }
        )
    return {
        "invoice_id": invoice_id,
        "number": number,
        "reason": reason,
        "issued_at": parse_instant(res.get("date"), "date"),
        "issued_by": ext_ref(res, "issued-by", "Basic"),
        "net_minor": money_minor(res.get("totalNet"), "totalNet", cur),
        "tax_minor": _minor(totals, "tax", "totalPriceComponent", cur, 0),
        "total_minor": money_minor(res.get("totalGross"), "totalGross", cur),
    }, {"lines": lines}


# -- Payment -> PaymentReconciliation --------------------------------------------------------


def payment_out(c: Context, r: Payment) -> Json:
    cur = r.currency
    return clean(
        {
            "extension": exts(
                ext("clinic", ref("Organization", r.clinic_id)),
                ext("patient", ref("Patient", r.patient_id)),
                ext("payment-kind", r.kind, "Code"),
                ext("payment-method", r.method, "Code"),
                ext("received-by", ref("Basic", r.received_by)),
                ext("voided-at", r.voided_at),
                ext("void-reason", r.void_reason),
            ),
            "identifier": _ident(RECEIPT_NUMBER, r.receipt_number),
            "status": "cancelled" if r.voided_at is not None else "active",
            "created": instant(r.received_at),
            "paymentDate": day(r.received_at.date()),
            "paymentAmount": money(r.amount_minor, cur),
            "paymentIdentifier": {"value": r.reference} if r.reference is not None else None,
            "detail": [
                {
                    "id": a.id,
                    "type": concept(PAYMENT_TYPE, "payment", "Payment"),
                    "request": ref("Invoice", a.invoice_id),
                    "amount": money(a.amount_minor, cur),
                }
                for a in r.allocations
            ],
        }
    )


def payment_in(c: Context, res: Json, row: Any) -> Parsed:
    amount = res.get("paymentAmount") or {}
    cur = amount.get("currency")
    if not cur:
        raise bad("paymentAmount", "a payment needs an amount with a currency")
    if ext_ref(res, "patient", "Patient") is None:
        raise bad("patient", "a payment needs the patient who paid")
    method = get_ext(res, "payment-method")
    if not method:
        raise bad("payment-method", "a payment needs its method")
    allocations = [
        {
            "id": d.get("id"),
            "invoice_id": req_ref(d.get("request"), f"detail[{n}].request", "Invoice"),
            "amount_minor": money_minor(d.get("amount"), f"detail[{n}].amount", cur),
        }
        for n, d in enumerate(res.get("detail") or ())
    ]
    return {
        "clinic_id": ext_ref(res, "clinic", "Organization"),
        "patient_id": ext_ref(res, "patient", "Patient"),
        "kind": get_ext(res, "payment-kind") or "payment",
        "method": method,
        "amount_minor": money_minor(amount, "paymentAmount"),
        "currency": cur,
        "received_at": parse_instant(res.get("created"), "created"),
        "received_by": ext_ref(res, "received-by", "Basic"),
        "reference": (res.get("paymentIdentifier") or {}).get("value"),
        "receipt_number": _ident_in(res, RECEIPT_NUMBER),
        "voided_at": opt_instant(get_ext(res, "voided-at"), "voided-at"),
        "void_reason": get_ext(res, "void-reason"),
    }, {"allocations": allocations}


MAPPERS = (
    Mapper("fee_item", FeeItem, "ChargeItemDefinition", fee_out, fee_in),
    Mapper(
        "invoice", Invoice, "Invoice", invoice_out, invoice_in, children=(("lines", InvoiceLine),)
    ),
    Mapper(
        "credit_note",
        CreditNote,
        "Invoice",
        credit_out,
        credit_in,
        children=(("lines", CreditNoteLine),),
    ),
    Mapper(
        "payment",
        Payment,
        "PaymentReconciliation",
        payment_out,
        payment_in,
        children=(("allocations", PaymentAllocation),),
    ),
)
