"""The clinic's letterhead as every document prints it, from the clinic settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..documents.letterhead import Letterhead
from ..store.models import Clinic


def letterhead(c: Clinic) -> Letterhead:
    return Letterhead(
        name=c.name,
        legal_name=c.legal_name,
        address=c.address,
        phone=c.phone,
        email=c.email,
        tax_id=c.tax_id,
        logo_png=c.logo_png,
        footer=c.invoice_footer,
    )


def clinic_letterhead(s: Session) -> Letterhead:
    return letterhead(s.scalars(select(Clinic)).one())
