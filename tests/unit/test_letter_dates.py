"""A letter's own dates are text for reading, in words ('4 January 2027'); the dates the
clinician types into the certificate's fields keep the digits they were typed in."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from pypdf import PdfReader

from pms_desktop.domain.enums import Role

BORN = date(2001, 1, 4)


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_letter_writes_its_date_and_the_birth_date_in_words_and_keeps_typed_dates(  # type: ignore[no-untyped-def]
        ctx, actors, make_patient) -> None:
    ctx.core.clock = lambda: datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    doctor: Any = actors[Role.CLINICIAN]
    pid = make_patient(given="Aoife", family="Byrne", birth_date=BORN)
    draft = ctx.clinical.letter_draft(doctor, patient_id=pid, kind="certificate")
    # Typed fields the clinician edits: pre-filled in the digits a person types.
    assert draft.fields["unfit_from"] == "04/01/2027"
    fields = {**draft.fields, "condition": "influenza", "unfit_to": "08/01/2027"}
    text = text_of(ctx.clinical.letter_pdf(doctor, patient_id=pid, kind="certificate",
                                           fields=fields))
    assert text.count("4 January 2027") == 2  # the letter's date and the day examined
    assert "I certify that I examined Aoife Byrne, born 4 January 2001" in text
    assert ", on 4 January 2027." in text
    assert "from 04/01/2027 up to and including 08/01/2027" in text  # as typed
    assert "04/01/2001" not in text and "04 January" not in text
