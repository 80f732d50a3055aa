"""Document numbers (invoice, credit note, receipt) that stay unique across offline workstations.

A number is ``{PREFIX}-{series_code}-{n:06d}``. Each workstation has its own ``series_code``
(``Workstation.series_code``, made at set-up, unique within the clinic), and its own counter per
kind in ``NumberSeries``, so two workstations never hand out the same number even when neither
can reach the other. After a restore from an older backup the counter may lag behind numbers
that were issued since; the next number is therefore also kept above the highest number of this
series already present (invoices pulled back by sync included). See docs/billing.md.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ConflictError
from ..store.models import CreditNote, Invoice, NumberSeries, Payment, Workstation

PREFIXES = {"invoice": "INV", "credit_note": "CN", "receipt": "RCP"}
_COLUMNS = {
    "invoice": Invoice.number,
    "credit_note": CreditNote.number,
    "receipt": Payment.receipt_number,
}


def series_code(session: Session, workstation_id: str) -> str:
    ws = session.get(Workstation, workstation_id)
    if ws is None:
        ws = session.scalars(select(Workstation).where(Workstation.is_local.is_(True))).first()
    if ws is None:
        raise ConflictError(
            "This workstation has no number series; finish the clinic set-up first."
        )
    return ws.series_code


def format_number(kind: str, code: str, value: int) -> str:
    return f"{PREFIXES[kind]}-{code}-{value:06d}"


def _highest_used(session: Session, kind: str, code: str) -> int:
    column = _COLUMNS[kind]
    prefix = f"{PREFIXES[kind]}-{code}-"
    found = session.scalars(
        select(column).where(column.like(prefix + "%")).order_by(column.desc()).limit(1)
    ).first()
    if not found:
        return 0
    try:
        return int(found[len(prefix) :])
    except ValueError:
        return 0


def series_in_use(session: Session, code: str) -> bool:
    """Any document numbered in series ``code`` here (issued here or pulled from elsewhere)."""
    for kind, column in _COLUMNS.items():
        prefix = f"{PREFIXES[kind]}-{code}-"
        # A range on the unique index ('.' is the character after '-'), not a LIKE scan.
        if session.scalars(select(column).where(column >= prefix, column < prefix[:-1] + ".")
                           .limit(1)).first() is not None:
            return True
    return False


def next_number(session: Session, kind: str, workstation_id: str) -> str:
    """Take the next number of ``kind`` for this workstation (inside the caller's transaction)."""
    code = series_code(session, workstation_id)
    series = session.scalars(
        select(NumberSeries).where(NumberSeries.kind == kind, NumberSeries.series_code == code)
    ).first()
    if series is None:
        series = NumberSeries(kind=kind, series_code=code, next_value=1)
        session.add(series)
    value = max(series.next_value or 1, _highest_used(session, kind, code) + 1)
    series.next_value = value + 1
    session.flush()
    return format_number(kind, code, value)
