"""A workstation of the clinic -> ``Device``: its name and its document series code.

The series code prefixes the workstation's invoice, credit-note and receipt numbers
(docs/billing.md); it travels as an identifier so that a workstation joining the clinic can
pick one no other workstation uses. Whether the record is *this* installation's
(``is_local``) is local knowledge and never travels: a pulled Device is another workstation.
"""

from __future__ import annotations

from typing import Any

from ..store.models import Workstation
from .common import CS, Json, bad, ext, get_ext, parse_instant, ref, req_ref
from .mapper import Context, Mapper, Parsed

SERIES_CODE = f"{CS}document-series"


def workstation_out(c: Context, r: Workstation) -> Json:
    return {
        "extension": [ext("workstation-created", r.created_at)],
        "identifier": [{"system": SERIES_CODE, "value": r.series_code}],
        "status": "active",
        "deviceName": [{"name": r.name, "type": "user-friendly-name"}],
        "owner": ref("Organization", r.clinic_id),
    }


def workstation_in(c: Context, res: Json, row: Any) -> Parsed:
    codes = [i.get("value") for i in res.get("identifier") or ()
             if i.get("system") == SERIES_CODE]
    if not codes or not isinstance(codes[0], str) or not 1 <= len(codes[0]) <= 8:
        raise bad("identifier", "a workstation needs its document series code (1-8 characters)")
    names = [n.get("name") for n in res.get("deviceName") or () if n.get("name")]
    return {
        "clinic_id": req_ref(res.get("owner"), "owner", "Organization"),
        "name": str(names[0])[:100] if names else "Workstation",
        "series_code": codes[0],
        "created_at": parse_instant(get_ext(res, "workstation-created"), "workstation-created"),
    }, None


MAPPERS = (Mapper("workstation", Workstation, "Device", workstation_out, workstation_in),)
