"""Clinical notes -> ``Composition`` with SOAP sections; a signed note also yields a Provenance.

Status: draft -> ``preliminary``, signed -> ``final``, entered-in-error as is. The author is a
staff account (``author-staff`` extension, Basic/<id>); ``Composition.author`` names the
practitioner behind it when there is one, else the staff member's name. An addendum
``relatesTo`` its original with code ``appends``. Each SOAP section's text is the exact typed
text, HTML-escaped inside the narrative div (and unescaped on the way back).
"""

from __future__ import annotations

import uuid
from typing import Any

from ..store.models import ClinicalNote, StaffUser
from .common import (
    LOINC,
    Json,
    b64,
    bad,
    clean,
    concept,
    div,
    ext,
    ext_ref,
    exts,
    get_ext,
    instant,
    opt_instant,
    parse_instant,
    ref,
    req_ref,
    undiv,
    unref,
)
from .mapper import Context, Mapper, Parsed

SECTIONS = (
    ("subjective", "61150-9", "Subjective"),
    ("objective", "61149-1", "Objective"),
    ("assessment", "51848-0", "Assessment"),
    ("plan", "18776-5", "Plan of care"),
)
STATUS = {"draft": "preliminary", "signed": "final", "entered-in-error": "entered-in-error"}
_LOCAL_STATUS = {v: k for k, v in STATUS.items()}
PROVENANCE_NS = uuid.UUID("0f5c2a44-8d5e-4b8a-9b7e-6f1f3c2d9a10")
NIL = "http://terminology.hl7.org/CodeSystem/list-empty-reason"


def _who(c: Context, staff_id: str) -> Json:
    staff = c.session.get(StaffUser, staff_id)
    if staff is not None and staff.practitioner_id:
        return {"reference": f"Practitioner/{staff.practitioner_id}", "display": staff.display_name}
    return {"display": staff.display_name if staff is not None else f"staff {staff_id}"}


def _section(key: str, code: str, title: str, text: str) -> Json:
    body: Json = {"title": title, "code": concept(LOINC, code, title)}
    if text:
        body["text"] = {"status": "additional", "div": div(text)}
    else:
        body["emptyReason"] = concept(NIL, "nilknown", "Nil Known")
    return body


def note_out(c: Context, r: ClinicalNote) -> Json:
    return clean(
        {
            "extension": exts(
                ext("author-staff", ref("Basic", r.author_id)),
                ext("note-kind", r.kind, "Code"),
                ext("template", r.template),
                ext("created-at", r.created_at),
                ext("signed-by", ref("Basic", r.signed_by_id)),
                ext("content-hash", r.content_hash),
            ),
            "status": STATUS.get(r.status, "preliminary"),
            "type": concept(LOINC, "11506-3", "Progress note"),
            "subject": ref("Patient", r.patient_id),
            "encounter": ref("Encounter", r.encounter_id),
            "date": instant(r.signed_at or r.created_at),
            "author": [_who(c, r.author_id)],
            "title": "Addendum" if r.kind == "addendum" else "Clinical note",
            "attester": [
                clean(
                    {
                        "mode": "legal",
                        "time": instant(r.signed_at),
                        "party": _who(c, r.signed_by_id) if r.signed_by_id else None,
                    }
                )
            ]
            if r.signed_at is not None
            else None,
            "relatesTo": [
                {"code": "appends", "targetReference": ref("Composition", r.addendum_to_id)}
            ]
            if r.addendum_to_id is not None
            else None,
            "section": [
                _section(k, code, title, getattr(r, k) or "") for k, code, title in SECTIONS
            ],
        }
    )


def note_in(c: Context, res: Json, row: Any) -> Parsed:
    author = ext_ref(res, "author-staff", "Basic")
    if author is None:
        raise bad("author-staff", "a note needs its author's staff account")
    status = _LOCAL_STATUS.get(res.get("status", ""))
    if status is None:
        raise bad("status", f"unknown note status {res.get('status')!r}")
    by_code = {}
    for s in res.get("section") or ():
        code = ((s.get("code") or {}).get("coding") or [{}])[0].get("code")
        by_code[code] = undiv(s["text"]["div"]) if s.get("text") else ""
    relates = [x for x in res.get("relatesTo") or () if x.get("code") == "appends"]
    attester = (res.get("attester") or [{}])[0]
    values = {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "encounter_id": unref(res.get("encounter"), "encounter", "Encounter"),
        "author_id": author,
        "kind": get_ext(res, "note-kind") or "note",
        "addendum_to_id": unref(relates[0].get("targetReference"), "relatesTo", "Composition")
        if relates
        else None,
        "template": get_ext(res, "template"),
        "status": status,
        "created_at": opt_instant(get_ext(res, "created-at"), "created-at")
        or parse_instant(res.get("date"), "date"),
        "signed_at": opt_instant(attester.get("time"), "attester.time"),
        "signed_by_id": ext_ref(res, "signed-by", "Basic"),
        "content_hash": get_ext(res, "content-hash"),
    }
    values.update({k: by_code.get(code, "") for k, code, _ in SECTIONS})
    return values, None


def provenance_id(note_id: str) -> str:
    return str(uuid.uuid5(PROVENANCE_NS, note_id))


def note_extras(c: Context, r: ClinicalNote) -> list[Json]:
    """A signed note's Provenance: who signed, when, and the signed content's hash."""
    if r.status != "signed" or r.signed_at is None:
        return []
    who = _who(c, r.signed_by_id or r.author_id)
    signature = clean(
        {
            "type": [
                {
                    "system": "urn:iso-astm:E1762-95:2013",
                    "code": "1.2.840.10065.1.12.1.1",
                    "display": "Author's Signature",
                }
            ],
            "when": instant(r.signed_at),
            "who": who,
            "sigFormat": "text/plain" if r.content_hash else None,
            "data": b64(r.content_hash.encode()) if r.content_hash else None,
        }
    )
    return [
        {
            "resourceType": "Provenance",
            "id": provenance_id(r.id),
            "extension": exts(
                ext("content-hash", r.content_hash), ext("signed-by", ref("Basic", r.signed_by_id))
            ),
            "target": [ref("Composition", r.id)],
            "recorded": instant(r.signed_at),
            "activity": concept(
                "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"
            ),
            "agent": [
                {
                    "type": concept(
                        "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                        "author",
                        "Author",
                    ),
                    "who": who,
                }
            ],
            "signature": [signature],
        }
    ]


MAPPERS = (
    Mapper("clinical_note", ClinicalNote, "Composition", note_out, note_in, extras=note_extras),
)
