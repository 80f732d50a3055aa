"""Referral letters and medical certificates as PDF (reportlab), from shipped templates.

``LetterDocument`` is plain data (the clinical service fills it from the chart); ``render_letter``
lays it out on A4 with the clinic's letterhead. Templates live in
``resources/letter-templates.json``: paragraphs with ``{placeholders}`` filled from the fields;
a paragraph whose placeholder is empty is left out rather than printed blank.
This module reads no database and imports no Qt.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer


@dataclass(frozen=True)
class LetterDocument:
    kind: str  # referral | certificate
    clinic_name: str
    clinic_lines: tuple[str, ...]  # address, phone, e-mail
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


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=10.5,
                          leading=14.5, spaceAfter=7)
    return {
        "clinic": ParagraphStyle("clinic", parent=body, fontName="Helvetica-Bold", fontSize=15,
                                 leading=18, textColor=colors.HexColor("#1f3a5f"), spaceAfter=2),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=11.5,
                                textColor=colors.HexColor("#555555"), spaceAfter=0),
        "title": ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=13,
                                leading=16, spaceBefore=6, spaceAfter=10),
        "heading": ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold",
                                  spaceAfter=2, spaceBefore=4),
        "body": body,
    }


def _story(doc: LetterDocument) -> list[Any]:
    tpl = letter_templates()[doc.kind]
    st = _styles()
    story: list[Any] = [Paragraph(escape(doc.clinic_name), st["clinic"])]
    story += [Paragraph(escape(line), st["small"]) for line in doc.clinic_lines if line]
    story += [Spacer(1, 3 * mm), HRFlowable(width="100%", color=colors.HexColor("#1f3a5f")),
              Spacer(1, 5 * mm)]
    story += [Paragraph(escape(line), st["body"] if i == 0 else st["small"])
              for i, line in enumerate(doc.recipient_lines) if line]
    story += [Spacer(1, 4 * mm), Paragraph(escape(doc.date_text), st["body"]),
              Paragraph(escape(tpl["title"]), st["title"])]
    salutation = _fill(tpl["salutation"], doc.values) or "Dear colleague,"
    story.append(Paragraph(salutation, st["body"]))
    for para in tpl["paragraphs"]:
        text = _fill(para["text"], doc.values)
        if text is None:
            continue
        if para.get("heading"):
            story.append(Paragraph(escape(para["heading"]), st["heading"]))
        story.append(Paragraph(text, st["body"]))
    story += [Spacer(1, 6 * mm), Paragraph(escape(tpl["closing"]), st["body"]),
              Spacer(1, 14 * mm), Paragraph(escape(doc.signatory), st["heading"])]
    story += [Paragraph(escape(line), st["small"]) for line in doc.signatory_lines if line]
    return story


def render_letter(doc: LetterDocument, out: Path) -> Path:
    """Write the letter to ``out`` atomically (a half-written PDF never replaces a good one)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".letter-", suffix=".pdf", dir=out.parent)
    os.close(fd)
    try:
        pdf = SimpleDocTemplate(tmp, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm,
                                topMargin=18 * mm, bottomMargin=18 * mm,
                                title=letter_templates()[doc.kind]["title"],
                                author=doc.signatory)
        pdf.build(_story(doc))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
