"""Patient-level records: Patient, RelatedPerson, Coverage, Flag (alerts), Consent, Linkage.

Patient: identifiers and telecoms keep their row ids as element ids (so a round trip updates
the same child rows) and their order as rank; the patient's own ``email`` column is the
ContactPoint with element id ``email``; a merged record has ``active`` false and a
``link`` of type ``replaced-by`` to the survivor. A merge itself is a ``Linkage``: the survivor
is the ``source`` item, the merged record ``alternate``; what the merge moved travels as JSON.
"""

from __future__ import annotations

from typing import Any

from ..domain import held_identifiers as held
from ..store.models import (
    Consent,
    Coverage,
    Patient,
    PatientAlert,
    PatientIdentifier,
    PatientMerge,
    PatientTelecom,
    RelatedPerson,
)
from .common import (
    CS,
    Json,
    bad,
    clean,
    concept,
    day,
    ext,
    ext_ref,
    exts,
    first_code,
    get_ext,
    instant,
    is_ours,
    opt_day,
    opt_instant,
    parse_day,
    parse_instant,
    ref,
    req_ref,
)
from .mapper import Context, Mapper, Parsed

BCP47 = "urn:ietf:bcp:47"
EMERGENCY = "http://terminology.hl7.org/CodeSystem/v2-0131"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
SUBSCRIBER_REL = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_KIND = f"{CS}consent-kind"
LINE1_ABSENT = "address-line1-absent"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# -- Patient ---------------------------------------------------------------------------------


def _address(r: Patient) -> list[Json] | None:
    lines = [x for x in (r.address_line, r.address_line2) if x is not None]
    body = clean(
        {
            "extension": exts(
                ext(LINE1_ABSENT, True) if r.address_line is None and lines else None
            ),
            "line": lines,
            "city": r.city,
            "state": r.region,
            "postalCode": r.postal_code,
            "country": r.country,
        }
    )
    return [body] if body else None


def _identifiers_out(r: Patient) -> list[PatientIdentifier]:
    """The identifiers as the clinic knows them: a value held here under a temporary mark (a
    possible duplicate, ``domain/held_identifiers.py``) goes out as its real value, and not at
    all where the record holds that real value already (a merge brought both)."""
    seen = {(i.system, i.value) for i in r.identifiers if not held.is_temporary(i.value)}
    out = []
    for i in r.identifiers:
        if held.is_temporary(i.value):
            if (i.system, held.real(i.value)) in seen:
                continue
            seen.add((i.system, held.real(i.value)))
        out.append(i)
    return out


def patient_out(c: Context, r: Patient) -> Json:
    names: list[Json] = [
        clean(
            {
                "use": "official",
                "family": r.family,
                "given": [r.given] + ([r.middle] if r.middle is not None else []),
                "prefix": [r.prefix] if r.prefix is not None else None,
            }
        )
    ]
    if r.preferred_name is not None:
        names.append({"use": "usual", "given": [r.preferred_name]})
    telecom = [
        clean(
            {
                "id": t.id,
                "extension": exts(ext("digits", t.digits)),
                "system": t.system,
                "use": t.use,
                "value": t.value,
                "rank": t.rank + 1,
            }
        )
        for t in r.telecoms
    ]
    if r.email is not None:
        telecom.append({"id": "email", "system": "email", "value": r.email})
    return clean(
        {
            "extension": exts(
                ext("reception-notes", r.reception_notes), ext("phone-digits", r.phone_digits)
            ),
            "identifier": [
                {
                    "id": i.id,
                    "extension": [ext("rank", i.rank)],
                    "system": i.system,
                    "type": {"text": i.label},
                    "value": held.real(i.value),
                }
                for i in _identifiers_out(r)
            ],
            "active": r.active,
            "name": names,
            "telecom": telecom,
            "gender": r.sex,
            "birthDate": day(r.birth_date),
            "deceasedDateTime": day(r.deceased_date),
            "address": _address(r),
            "communication": [{"language": {"coding": [{"system": BCP47, "code": r.language}]}}]
            if r.language is not None
            else None,
            "managingOrganization": ref("Organization", r.clinic_id),
            "link": [{"other": ref("Patient", r.merged_into_id), "type": "replaced-by"}]
            if r.merged_into_id is not None
            else None,
        }
    )


def _patient_name(res: Json) -> tuple[Json, str | None]:
    official = usual = None
    for n in res.get("name") or ():
        if n.get("use") == "usual" and usual is None:
            usual = n
        elif official is None and n.get("use") in (None, "official"):
            official = n
    if official is None or not official.get("family") or not official.get("given"):
        raise bad("name", "a patient needs a given and a family name")
    return official, (usual or {}).get("given", [None])[0]


def patient_in(c: Context, res: Json, row: Any) -> Parsed:
    name, preferred = _patient_name(res)
    if not res.get("birthDate"):
        raise bad("birthDate", "a patient needs a date of birth")
    email = None
    ours = is_ours(res)
    telecoms: list[dict[str, Any]] = []
    for t in res.get("telecom") or ():
        if t.get("id") == "email":
            email = t.get("value")
            continue
        value = t.get("value")
        if not value or t.get("system") not in ("phone", "email", "sms"):
            raise bad("telecom", "each contact needs a value and a system phone, email or sms")
        digits = get_ext(t, "digits")
        if digits is None and not ours and t["system"] != "email":
            digits = _digits(value)  # a resource from elsewhere: derive the search key
        telecoms.append(
            {
                "id": t.get("id"),
                "system": t["system"],
                "use": t.get("use") or "mobile",
                "value": value,
                "rank": int(t.get("rank", len(telecoms) + 1)) - 1,
                "digits": digits,
            }
        )
    idents = []
    for n, i in enumerate(res.get("identifier") or ()):
        if not i.get("system") or not i.get("value"):
            raise bad("identifier", "each identifier needs a system and a value")
        rank = get_ext(i, "rank")
        idents.append(
            {
                "id": i.get("id"),
                "system": i["system"],
                "value": i["value"],
                "label": (i.get("type") or {}).get("text") or i["system"][-60:],
                "rank": n if rank is None else rank,
            }
        )
    addr = (res.get("address") or [{}])[0]
    lines = list(addr.get("line") or [])
    if get_ext(addr, LINE1_ABSENT):
        lines.insert(0, None)
    links = [x for x in res.get("link") or () if x.get("type") == "replaced-by"]
    langs = res.get("communication") or []
    values = {
        "clinic_id": req_ref(
            res.get("managingOrganization"), "managingOrganization", "Organization"
        ),
        "prefix": (name.get("prefix") or [None])[0],
        "given": name["given"][0],
        "middle": name["given"][1] if len(name["given"]) > 1 else None,
        "family": name["family"],
        "preferred_name": preferred,
        "sex": res.get("gender") or "unknown",
        "birth_date": parse_day(res["birthDate"], "birthDate"),
        "deceased_date": opt_day(res.get("deceasedDateTime"), "deceasedDateTime"),
        "email": email,
        "address_line": lines[0] if lines else None,
        "address_line2": lines[1] if len(lines) > 1 else None,
        "city": addr.get("city"),
        "region": addr.get("state"),
        "postal_code": addr.get("postalCode"),
        "country": addr.get("country"),
        "language": first_code(langs[0].get("language")) if langs else None,
        "reception_notes": get_ext(res, "reception-notes"),
        "active": res.get("active", True),
        "merged_into_id": req_ref(links[0].get("other"), "link.other", "Patient")
        if links
        else None,
        "phone_digits": get_ext(res, "phone-digits"),
    }
    if values["phone_digits"] is None and not ours:
        phones = [t for t in telecoms if t["system"] in ("phone", "sms")]
        values["phone_digits"] = phones[0]["digits"] if phones else None
    return values, {"identifiers": idents, "telecoms": telecoms}


# -- RelatedPerson ---------------------------------------------------------------------------


def related_out(c: Context, r: RelatedPerson) -> Json:
    coding = (
        [{"system": EMERGENCY, "code": "C", "display": "Emergency Contact"}]
        if r.is_emergency_contact
        else None
    )
    return clean(
        {
            "active": r.active,
            "patient": ref("Patient", r.patient_id),
            "relationship": [clean({"coding": coding, "text": r.relationship_})],
            "name": [{"text": r.name}],
            "telecom": [
                t
                for t in (
                    {"system": "phone", "value": r.phone} if r.phone else None,
                    {"system": "email", "value": r.email} if r.email else None,
                )
                if t
            ],
        }
    )


def related_in(c: Context, res: Json, row: Any) -> Parsed:
    rel = (res.get("relationship") or [{}])[0]
    name = (res.get("name") or [{}])[0].get("text")
    if not name or not rel.get("text"):
        raise bad("name", "a related person needs a name and a relationship")
    tel = {t.get("system"): t.get("value") for t in reversed(res.get("telecom") or [])}
    return {
        "patient_id": req_ref(res.get("patient"), "patient", "Patient"),
        "name": name,
        "relationship_": rel["text"],
        "phone": tel.get("phone"),
        "email": tel.get("email"),
        "is_emergency_contact": first_code(rel, EMERGENCY) == "C",
        "active": res.get("active", True),
    }, None


# -- Coverage --------------------------------------------------------------------------------


def coverage_out(c: Context, r: Coverage) -> Json:
    classes = [
        {"type": concept(COVERAGE_CLASS, kind), "value": value}
        for kind, value in (("plan", r.plan), ("group", r.group_number))
        if value is not None
    ]
    return clean(
        {
            "status": "active" if r.active else "cancelled",
            "subscriberId": r.member_id,
            "beneficiary": ref("Patient", r.patient_id),
            "relationship": concept(SUBSCRIBER_REL, r.relationship_),
            "period": clean({"start": day(r.valid_from), "end": day(r.valid_to)}) or None,
            "payor": [{"display": r.payer_name}],
            "class": classes,
        }
    )


def coverage_in(c: Context, res: Json, row: Any) -> Parsed:
    payor = (res.get("payor") or [{}])[0].get("display")
    if not payor or not res.get("subscriberId"):
        raise bad("payor", "a coverage needs a payer name and a member id")
    cls = {
        first_code(x.get("type"), COVERAGE_CLASS): x.get("value") for x in res.get("class") or ()
    }
    period = res.get("period") or {}
    return {
        "patient_id": req_ref(res.get("beneficiary"), "beneficiary", "Patient"),
        "payer_name": payor,
        "member_id": res["subscriberId"],
        "plan": cls.get("plan"),
        "group_number": cls.get("group"),
        "relationship_": first_code(res.get("relationship"), SUBSCRIBER_REL) or "self",
        "valid_from": opt_day(period.get("start"), "period.start"),
        "valid_to": opt_day(period.get("end"), "period.end"),
        "active": res.get("status") == "active",
    }, None


# -- PatientAlert -> Flag --------------------------------------------------------------------


def alert_out(c: Context, r: PatientAlert) -> Json:
    return {
        "extension": [ext("severity", r.severity, "Code")],
        "status": "active" if r.active else "inactive",
        "category": [concept(FLAG_CATEGORY, r.category)],
        "code": {"text": r.text},
        "subject": ref("Patient", r.patient_id),
    }


def alert_in(c: Context, res: Json, row: Any) -> Parsed:
    text = (res.get("code") or {}).get("text")
    category = first_code((res.get("category") or [None])[0], FLAG_CATEGORY)
    if not text or not category:
        raise bad("code", "an alert needs a text and a category")
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "category": category,
        "text": text,
        "severity": get_ext(res, "severity") or "high",
        "active": res.get("status") == "active",
    }, None


# -- Consent ---------------------------------------------------------------------------------

_CONSENT_STATUS = {"active": "active", "revoked": "inactive"}


def consent_out(c: Context, r: Consent) -> Json:
    scope = "treatment" if r.kind == "treatment" else "patient-privacy"
    return clean(
        {
            "extension": exts(
                ext("local-status", r.status, "Code"),
                ext("note", r.note),
                ext("recorded-by", ref("Basic", r.recorded_by)),
            ),
            "status": _CONSENT_STATUS.get(r.status, r.status),
            "scope": concept(CONSENT_SCOPE, scope),
            "category": [concept(CONSENT_KIND, r.kind, text=r.kind)],
            "patient": ref("Patient", r.patient_id),
            "dateTime": instant(r.granted_at),
            "policyRule": {"text": r.kind},
            "provision": {
                "period": clean({"start": instant(r.granted_at), "end": instant(r.revoked_at)})
            },
        }
    )


def consent_in(c: Context, res: Json, row: Any) -> Parsed:
    kind = first_code((res.get("category") or [None])[0], CONSENT_KIND)
    if not kind:
        raise bad("category", "a consent needs its kind")
    period = (res.get("provision") or {}).get("period") or {}
    fhir_status = res.get("status")
    status = get_ext(res, "local-status") or (
        {v: k for k, v in _CONSENT_STATUS.items()}.get(fhir_status, fhir_status)
        if isinstance(fhir_status, str) else fhir_status
    )
    return {
        "patient_id": req_ref(res.get("patient"), "patient", "Patient"),
        "kind": kind,
        "status": status,
        "granted_at": parse_instant(res.get("dateTime"), "dateTime"),
        "revoked_at": opt_instant(period.get("end"), "provision.period.end"),
        "note": get_ext(res, "note"),
        "recorded_by": ext_ref(res, "recorded-by", "Basic"),
    }, None


# -- PatientMerge -> Linkage -----------------------------------------------------------------


def merge_out(c: Context, r: PatientMerge) -> Json:
    return {
        "extension": exts(
            ext("merged-at", r.merged_at),
            ext("merged-by", ref("Basic", r.merged_by)),
            ext("moved-records", r.moved),
            ext("reverted-at", r.reverted_at),
            ext("reverted-by", ref("Basic", r.reverted_by)),
        ),
        "active": r.reverted_at is None,
        "item": [
            {"type": "source", "resource": ref("Patient", r.survivor_id)},
            {"type": "alternate", "resource": ref("Patient", r.merged_id)},
        ],
    }


def merge_in(c: Context, res: Json, row: Any) -> Parsed:
    items = {i.get("type"): i.get("resource") for i in res.get("item") or ()}
    merged_by = ext_ref(res, "merged-by", "Basic")
    if merged_by is None or get_ext(res, "moved-records") is None:
        raise bad("merged-by", "a merge needs who merged and what was moved")
    return {
        "survivor_id": req_ref(items.get("source"), "item.source", "Patient"),
        "merged_id": req_ref(items.get("alternate"), "item.alternate", "Patient"),
        "merged_at": parse_instant(get_ext(res, "merged-at"), "merged-at"),
        "merged_by": merged_by,
        "moved": get_ext(res, "moved-records"),
        "reverted_at": opt_instant(get_ext(res, "reverted-at"), "reverted-at"),
        "reverted_by": ext_ref(res, "reverted-by", "Basic"),
    }, None


MAPPERS = (
    Mapper(
        "patient",
        Patient,
        "Patient",
        patient_out,
        patient_in,
        children=(("identifiers", PatientIdentifier), ("telecoms", PatientTelecom)),
    ),
    Mapper("related_person", RelatedPerson, "RelatedPerson", related_out, related_in),
    Mapper("coverage", Coverage, "Coverage", coverage_out, coverage_in),
    Mapper("patient_alert", PatientAlert, "Flag", alert_out, alert_in),
    Mapper("consent", Consent, "Consent", consent_out, consent_in),
    Mapper("patient_merge", PatientMerge, "Linkage", merge_out, merge_in),
)
