"""Referral letters and medical certificates as PDF (reportlab), from shipped templates.

``LetterDocument`` is plain data (the clinical service fills it from the chart); ``letter_pdf``
lays it out on A4 under the clinic's letterhead, as bytes. Templates live in
``resources/letter-templates.json``: paragraphs with ``{placeholders}`` filled from the fields;
a paragraph whose placeholder is empty is left out rather than printed blank.
This module reads no database and imports no Qt.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from .letterhead import (
    CONFIDENTIAL,
    Letterhead,
    build_pdf,
    letterhead_flowables,
    styles,
    text_width,
)


@dataclass(frozen=True)
class LetterDocument:
    kind: str  # referral | certificate
    head: Letterhead
    date_text: str
    values: dict[str, str]  # template placeholders: patient_name, reason, ...
    signatory: str
    signatory_lines: tuple[str, ...] = ()
    recipient_lines: tuple[str, ...] = field(default_factory=tuple)


def letter_templates() -> dict[str, Any]:
    path = resources.files("pms_desktop").joinpath("resources/letter-templates.json")
    text = path.read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def template_fields(kind: str) -> list[tuple[str, str]]:
    """(field, label) pairs a person can edit for this kind of letter."""
    return [(f, label) for f, label in letter_templates()[kind]["fields"]]


def _fill(text: str, values: dict[str, str]) -> str | None:
    """The text with its placeholders filled, or None when a placeholder is empty."""
    names = [n for _, n, _, _ in string.Formatter().parse(text) if n]
    if any(not (values.get(n) or "").strip() for n in names if n != "patient_identifier"):
        return None
    safe = {n: escape(values.get(n, "")).replace("\n", "<br/>") for n in names}
    return escape(text).format(**safe)


def _story(doc: LetterDocument) -> list[Flowable]:
    tpl = letter_templates()[doc.kind]
    st = styles()
    body, heading = st["letter"], st["letterb"]
    story: list[Flowable] = letterhead_flowables(doc.head, text_width(), tax=False)
    story += [Paragraph(escape(line), body if i == 0 else st["subtitle"])
              for i, line in enumerate(doc.recipient_lines) if line]
    story += [Spacer(1, 4 * mm), Paragraph(escape(doc.date_text), body), Spacer(1, 2 * mm),
              Paragraph(escape(tpl["title"]), st["h2"]), Spacer(1, 3 * mm)]
    salutation = _fill(tpl["salutation"], doc.values) or "Dear colleague,"
    story.append(Paragraph(salutation, body))
    for para in tpl["paragraphs"]:
        text = _fill(para["text"], doc.values)
        if text is None:
            continue
        if para.get("heading"):
            story.append(Paragraph(escape(para["heading"]), heading))
        story.append(Paragraph(text, body))
    # The closing and the signature stay together (never a page holding only the name).
    signature = [Spacer(1, 6 * mm), Paragraph(escape(tpl["closing"]), body),
                 Spacer(1, 14 * mm), Paragraph(escape(doc.signatory), heading)]
    signature += [Paragraph(escape(line), st["subtitle"]) for line in doc.signatory_lines if line]
    story.append(KeepTogether(signature))
    return story


def letter_pdf(doc: LetterDocument) -> bytes:
    """The letter as PDF bytes (nothing is written to disk)."""
    return build_pdf(_story(doc), doc.head, title=letter_templates()[doc.kind]["title"],
                     tax=False, note=CONFIDENTIAL, author=doc.signatory)
