"""Words for what a sync conflict holds: field names and FHIR values as a person reads them.

A conflict keeps the values of one merge field as FHIR JSON fragments (a list of addresses, a
name, an extension's ``value[x]``). Nothing here queries: it only formats what it is given.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..widgets.dates import day_text

EMPTY = "(empty)"

FIELD_NAMES = {
    "name": "Name",
    "birthDate": "Date of birth",
    "gender": "Sex",
    "telecom": "Phone and email",
    "address": "Address",
    "identifier": "Identifiers",
    "active": "Active",
    "deceasedBoolean": "Deceased",
    "deceasedDateTime": "Date of death",
    "maritalStatus": "Marital status",
    "contact": "Emergency contact",
    "communication": "Language",
    "generalPractitioner": "GP",
    "status": "Status",
    "start": "Start",
    "end": "End",
    "minutesDuration": "Length",
    "participant": "Patient and practitioner",
    "appointmentType": "Appointment type",
    "serviceType": "Service",
    "description": "Description",
    "comment": "Comment",
    "cancelationReason": "Cancellation reason",
    "note": "Note",
    "code": "Code",
    "valueQuantity": "Value",
    "effectiveDateTime": "Date",
    "onsetDateTime": "Onset",
    "abatementDateTime": "Resolved",
    "clinicalStatus": "Clinical status",
    "verificationStatus": "Verification",
    "reaction": "Reaction",
    "criticality": "Severity",
    "dosage": "Dosage",
    "medicationCodeableConcept": "Medicine",
    "period": "Period",
    "payor": "Payer",
    "subscriberId": "Member number",
    "practitioner time": "Practitioner's time",
    "(deleted elsewhere)": "Deleted elsewhere",
}


def field_name(field: str | None, label: str | None = None) -> str:
    """The merge's own label when it is in words ("Date of birth"); else ``birthDate`` or an
    extension's column name ("city") made readable."""
    if label and label[:1].isupper():
        return label
    if field in FIELD_NAMES:
        return FIELD_NAMES[field]
    text = label or field or ""
    if text.startswith("extension:"):
        text = text.rsplit("/", 1)[-1].removeprefix("sync-column-")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:].lower() if text else "Value"


def describe(value: Any) -> str:
    """A FHIR value (or fragment) in one line of plain words."""
    if value is None or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value or EMPTY
    if isinstance(value, list):
        parts = [describe(v) for v in value]
        return "; ".join(p for p in parts if p != EMPTY) or EMPTY
    if isinstance(value, dict):
        return _describe_dict(value)
    return str(value)


def _describe_dict(v: dict[str, Any]) -> str:
    for key, inner in v.items():  # an extension's payload, or a choice element
        if key.startswith("value") and key != "value":
            return describe(inner)
    if isinstance(v.get("text"), str) and v["text"]:
        return str(v["text"])
    if "family" in v or "given" in v:
        words = [*v.get("prefix", []), *v.get("given", []), v.get("family", "")]
        return " ".join(w for w in words if w) or EMPTY
    if "system" in v and "value" in v and isinstance(v["value"], str):  # phone, email, id
        use = f" ({v['use']})" if v.get("use") else ""
        return f"{v['value']}{use}"
    if any(k in v for k in ("line", "city", "postalCode", "country")):
        parts = [*v.get("line", []), v.get("city"), v.get("district"), v.get("postalCode"),
                 v.get("country")]
        return ", ".join(str(p) for p in parts if p) or EMPTY
    if "coding" in v:
        return describe(v["coding"])
    if "display" in v or "code" in v:
        return str(v.get("display") or v.get("code"))
    if "reference" in v:
        return str(v["reference"]).split("/")[0]
    if "value" in v and ("unit" in v or "code" in v):
        return f"{describe(v['value'])} {v.get('unit') or v.get('code')}".strip()
    if "start" in v or "end" in v:
        return f"{v.get('start', '…')} – {v.get('end', '…')}"
    if "actor" in v:
        return describe(v["actor"])
    shown = [f"{field_name(k)}: {describe(x)}" for k, x in v.items()
             if k not in ("id", "extension", "url")]
    return ", ".join(shown) or EMPTY


def local_time(text: str | None, zone: str | None, pattern: str = "%a %d %b %Y %H:%M") -> str:
    """An ISO instant shown in the clinic's time zone."""
    if not text:
        return ""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    if at.tzinfo is not None and zone:
        try:
            at = at.astimezone(ZoneInfo(zone))
        except (KeyError, ValueError):
            pass
    return at.strftime(pattern.replace("%d", str(at.day)))  # '4 Jan', as widgets/dates


def relative(at: datetime | None, now: datetime) -> str:
    """"just now", "2 min ago", "3 h ago", else the date."""
    if at is None:
        return "never"
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return day_text(at.astimezone())  # the day here, as the exact time beside it
