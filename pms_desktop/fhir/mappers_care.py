"""Care records: Appointment, Encounter, Observation, DiagnosticReport, AllergyIntolerance,
Condition (problems) and MedicationStatement.

Appointment status: booked, arrived, cancelled and noshow are FHIR's own codes; completed is
``fulfilled`` and in-consultation is ``checked-in``. The exact local status also travels in the
``appointment-status`` extension, so the round trip is lossless whatever FHIR can say.
Observations follow the vital-signs profile: LOINC code, UCUM unit, blood pressure as one
Observation with two components; the DiagnosticReport a result belongs to is an extension on
the Observation (FHIR links the other way, in ``DiagnosticReport.result``, which we also fill).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..store.models import (
    Allergy,
    Appointment,
    AppointmentType,
    DiagnosticReport,
    Encounter,
    Medication,
    Observation,
    ObservationComponent,
    Problem,
)
from .common import (
    CS,
    LOINC,
    UCUM,
    Json,
    bad,
    clean,
    coding,
    concept,
    day,
    ext,
    ext_ref,
    exts,
    first_code,
    get_ext,
    instant,
    opt_day,
    opt_dec,
    opt_instant,
    parse_instant,
    ref,
    req_ref,
    texts,
    unref,
)
from .mapper import Context, Mapper, Parsed

APPT_TYPE = f"{CS}appointment-type"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
VITALS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

APPOINTMENT_STATUS = {
    "booked": "booked",
    "arrived": "arrived",
    "in-consultation": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
}
_FROM_FHIR_STATUS = {v: k for k, v in APPOINTMENT_STATUS.items()} | {
    "pending": "booked",
    "proposed": "booked",
    "waitlist": "booked",
    "entered-in-error": "cancelled",
}


# -- Appointment -----------------------------------------------------------------------------


def appointment_out(c: Context, r: Appointment) -> Json:
    atype = None
    if r.appointment_type_id is not None:
        t = c.session.get(AppointmentType, r.appointment_type_id)
        atype = {"coding": [coding(APPT_TYPE, r.appointment_type_id, t.name if t else None)]}
    return clean(
        {
            "extension": exts(
                ext("appointment-status", r.status, "Code"),
                ext("clinic", ref("Organization", r.clinic_id)),
                ext("arrived-at", r.arrived_at),
                ext("started-at", r.started_at),
                ext("completed-at", r.completed_at),
                ext("recurrence-id", r.recurrence_id),
                ext("overbook-reason", r.overbook_reason),
                ext("booked-by", ref("Basic", r.booked_by)),
            ),
            "status": APPOINTMENT_STATUS.get(r.status, "booked"),
            "cancelationReason": {"text": r.cancel_reason} if r.cancel_reason is not None else None,
            "appointmentType": atype,
            "start": instant(r.start_at),
            "end": instant(r.end_at),
            "comment": r.note,
            "participant": [
                {"actor": ref("Patient", r.patient_id), "status": "accepted"},
                {"actor": ref("Practitioner", r.practitioner_id), "status": "accepted"},
            ],
        }
    )


def appointment_in(c: Context, res: Json, row: Any) -> Parsed:
    actors: dict[str, str] = {}
    for p in res.get("participant") or ():
        text = (p.get("actor") or {}).get("reference", "")
        kind, _, rid = text.rpartition("/")
        actors.setdefault(kind.rsplit("/", 1)[-1], rid)
    if "Patient" not in actors or "Practitioner" not in actors:
        raise bad("participant", "an appointment needs a patient and a practitioner")
    fhir_status = res.get("status")
    status = get_ext(res, "appointment-status") or (
        _FROM_FHIR_STATUS.get(fhir_status) if isinstance(fhir_status, str) else None)
    if status is None:
        raise bad("status", f"unknown appointment status {res.get('status')!r}")
    clinic = ext_ref(res, "clinic", "Organization")
    if clinic is None:
        clinic = row.clinic_id if row is not None else _clinic_id(c)
    return {
        "clinic_id": clinic,
        "patient_id": actors["Patient"],
        "practitioner_id": actors["Practitioner"],
        "appointment_type_id": first_code(res.get("appointmentType"), APPT_TYPE),
        "start_at": parse_instant(res.get("start"), "start"),
        "end_at": parse_instant(res.get("end"), "end"),
        "status": status,
        "note": res.get("comment"),
        "cancel_reason": (res.get("cancelationReason") or {}).get("text"),
        "arrived_at": opt_instant(get_ext(res, "arrived-at"), "arrived-at"),
        "started_at": opt_instant(get_ext(res, "started-at"), "started-at"),
        "completed_at": opt_instant(get_ext(res, "completed-at"), "completed-at"),
        "recurrence_id": get_ext(res, "recurrence-id"),
        "overbook_reason": get_ext(res, "overbook-reason"),
        "booked_by": ext_ref(res, "booked-by", "Basic"),
    }, None


def _clinic_id(c: Context) -> str | None:
    from ..store.models import Clinic

    return c.session.scalars(select(Clinic.id)).first()


# -- Encounter -------------------------------------------------------------------------------


def encounter_out(c: Context, r: Encounter) -> Json:
    return clean(
        {
            "status": r.status,
            "class": coding(ACT_CODE, "AMB", "ambulatory"),
            "subject": ref("Patient", r.patient_id),
            "participant": [{"individual": ref("Practitioner", r.practitioner_id)}],
            "appointment": [ref("Appointment", r.appointment_id)] if r.appointment_id else None,
            "period": clean({"start": instant(r.start_at), "end": instant(r.end_at)}),
            "reasonCode": [{"text": r.reason}] if r.reason is not None else None,
        }
    )


def encounter_in(c: Context, res: Json, row: Any) -> Parsed:
    parts = res.get("participant") or [{}]
    period = res.get("period") or {}
    appts = res.get("appointment") or [None]
    reasons = texts(res.get("reasonCode"))
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "practitioner_id": req_ref(parts[0].get("individual"), "participant", "Practitioner"),
        "appointment_id": unref(appts[0], "appointment", "Appointment"),
        "status": res["status"],
        "start_at": parse_instant(period.get("start"), "period.start"),
        "end_at": opt_instant(period.get("end"), "period.end"),
        "reason": reasons[0] if reasons else None,
    }, None


# -- Observation -----------------------------------------------------------------------------


def _quantity(value: Any, unit: str | None) -> Json | None:
    if value is None:
        return None
    return clean({"value": value, "unit": unit, "system": UCUM if unit else None, "code": unit})


def _interp(code: str | None) -> list[Json] | None:
    return [concept(INTERPRETATION, code)] if code else None


def observation_out(c: Context, r: Observation) -> Json:
    value_text_ext = r.value_text if r.value is not None else None
    ref_range = clean({"low": _quantity(r.ref_low, r.unit), "high": _quantity(r.ref_high, r.unit)})
    return clean(
        {
            "meta": {"profile": [VITALS_PROFILE]} if r.category == "vital-signs" else None,
            "extension": exts(
                ext("value-text", value_text_ext),
                ext("unit", r.unit if r.value is None else None, "Code"),
                ext("diagnostic-report", ref("DiagnosticReport", r.diagnostic_report_id)),
                ext("recorded-by", ref("Basic", r.recorded_by)),
                ext("reviewed-at", r.reviewed_at),
                ext("reviewed-by", ref("Basic", r.reviewed_by_id)),
            ),
            "status": r.status,
            "category": [concept(OBS_CATEGORY, r.category)],
            "code": concept(r.code_system, r.code, r.display, r.display),
            "subject": ref("Patient", r.patient_id),
            "encounter": ref("Encounter", r.encounter_id),
            "effectiveDateTime": instant(r.effective_at),
            "valueQuantity": _quantity(r.value, r.unit),
            "valueString": r.value_text if r.value is None else None,
            "interpretation": _interp(r.interpretation),
            "referenceRange": [ref_range] if ref_range else None,
            "component": [_component_out(k) for k in r.components],
        }
    )


def _component_out(k: ObservationComponent) -> Json:
    return clean(
        {
            "id": k.id,
            "extension": exts(
                ext("rank", k.rank), ext("unit", k.unit if k.value is None else None, "Code")
            ),
            "code": concept(LOINC, k.code, k.display, k.display),
            "valueQuantity": _quantity(k.value, k.unit),
            "interpretation": _interp(k.interpretation),
        }
    )


def observation_in(c: Context, res: Json, row: Any) -> Parsed:
    codes = (res.get("code") or {}).get("coding") or []
    if not codes or not codes[0].get("code"):
        raise bad("code", "an observation needs a coded code (LOINC for vital signs)")
    qty = res.get("valueQuantity") or {}
    rng = (res.get("referenceRange") or [{}])[0]
    comps = []
    for n, k in enumerate(res.get("component") or ()):
        kc = ((k.get("code") or {}).get("coding") or [{}])[0]
        if not kc.get("code"):
            raise bad("component.code", "each component needs a code")
        kq = k.get("valueQuantity") or {}
        rank = get_ext(k, "rank")
        comps.append(
            {
                "id": k.get("id"),
                "code": kc["code"],
                "display": kc.get("display") or k["code"].get("text") or kc["code"],
                "value": opt_dec(kq.get("value"), "component.valueQuantity.value"),
                "unit": kq.get("code") or kq.get("unit") or get_ext(k, "unit"),
                "interpretation": first_code((k.get("interpretation") or [None])[0]),
                "rank": n if rank is None else rank,
            }
        )
    value = opt_dec(qty.get("value"), "valueQuantity.value")
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "encounter_id": unref(res.get("encounter"), "encounter", "Encounter"),
        "diagnostic_report_id": ext_ref(res, "diagnostic-report", "DiagnosticReport"),
        "category": first_code((res.get("category") or [None])[0]) or "vital-signs",
        "code_system": codes[0].get("system") or LOINC,
        "code": codes[0]["code"],
        "display": codes[0].get("display") or res["code"].get("text") or codes[0]["code"],
        "status": res["status"],
        "effective_at": parse_instant(res.get("effectiveDateTime"), "effectiveDateTime"),
        "value": value,
        "unit": qty.get("code") or qty.get("unit") or get_ext(res, "unit"),
        "value_text": res.get("valueString") if value is None else get_ext(res, "value-text"),
        "interpretation": first_code((res.get("interpretation") or [None])[0]),
        "ref_low": opt_dec((rng.get("low") or {}).get("value"), "referenceRange.low"),
        "ref_high": opt_dec((rng.get("high") or {}).get("value"), "referenceRange.high"),
        "recorded_by": ext_ref(res, "recorded-by", "Basic"),
        "reviewed_at": opt_instant(get_ext(res, "reviewed-at"), "reviewed-at"),
        "reviewed_by_id": ext_ref(res, "reviewed-by", "Basic"),
    }, {"components": comps}


# -- DiagnosticReport ------------------------------------------------------------------------


def report_out(c: Context, r: DiagnosticReport) -> Json:
    results = c.session.scalars(
        select(Observation.id)
        .where(Observation.diagnostic_report_id == r.id)
        .order_by(Observation.id)
    ).all()
    return clean(
        {
            "extension": exts(
                ext("reviewed-at", r.reviewed_at),
                ext("reviewed-by", ref("Basic", r.reviewed_by_id)),
            ),
            "status": r.status,
            "code": concept(r.code_system, r.code, r.display, r.display),
            "subject": ref("Patient", r.patient_id),
            "issued": instant(r.issued_at),
            "performer": [{"display": r.performer}] if r.performer is not None else None,
            "result": [ref("Observation", i) for i in results],
            "conclusion": r.conclusion,
        }
    )


def report_in(c: Context, res: Json, row: Any) -> Parsed:
    codes = (res.get("code") or {}).get("coding") or [{}]
    if not codes[0].get("code"):
        raise bad("code", "a report needs a coded code")
    perf = (res.get("performer") or [{}])[0].get("display")
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "code": codes[0]["code"],
        "code_system": codes[0].get("system") or LOINC,
        "display": codes[0].get("display") or res["code"].get("text") or codes[0]["code"],
        "status": res["status"],
        "issued_at": parse_instant(res.get("issued"), "issued"),
        "performer": perf,
        "conclusion": res.get("conclusion"),
        "reviewed_at": opt_instant(get_ext(res, "reviewed-at"), "reviewed-at"),
        "reviewed_by_id": ext_ref(res, "reviewed-by", "Basic"),
    }, None


# -- Allergy, Problem, Medication ------------------------------------------------------------


def allergy_out(c: Context, r: Allergy) -> Json:
    return clean(
        {
            "extension": exts(
                ext("severity", r.severity, "Code"), ext("recorded-by", ref("Basic", r.recorded_by))
            ),
            "clinicalStatus": concept(ALLERGY_CLINICAL, r.clinical_status),
            "criticality": r.criticality,
            "code": clean({"coding": [{"code": r.code}] if r.code else None, "text": r.substance}),
            "patient": ref("Patient", r.patient_id),
            "onsetDateTime": day(r.onset),
            "recordedDate": instant(r.recorded_at),
            "reaction": [{"manifestation": [{"text": r.reaction}], "severity": r.severity}]
            if r.reaction is not None
            else None,
        }
    )


def allergy_in(c: Context, res: Json, row: Any) -> Parsed:
    code = res.get("code") or {}
    if not code.get("text"):
        raise bad("code.text", "an allergy needs its substance")
    reactions = res.get("reaction") or [{}]
    manifest = texts(reactions[0].get("manifestation"))
    return {
        "patient_id": req_ref(res.get("patient"), "patient", "Patient"),
        "substance": code["text"],
        "code": first_code(code),
        "reaction": manifest[0] if manifest else None,
        "severity": get_ext(res, "severity") or reactions[0].get("severity") or "moderate",
        "criticality": res.get("criticality") or "unable-to-assess",
        "clinical_status": first_code(res.get("clinicalStatus")) or "active",
        "onset": opt_day(res.get("onsetDateTime"), "onsetDateTime"),
        "recorded_at": parse_instant(res.get("recordedDate"), "recordedDate"),
        "recorded_by": ext_ref(res, "recorded-by", "Basic"),
    }, None


def problem_out(c: Context, r: Problem) -> Json:
    return clean(
        {
            "clinicalStatus": concept(CONDITION_CLINICAL, r.clinical_status),
            "category": [concept(CONDITION_CATEGORY, "problem-list-item")],
            "code": concept(r.code_system, r.code, None, r.display),
            "subject": ref("Patient", r.patient_id),
            "onsetDateTime": day(r.onset),
            "abatementDateTime": day(r.abatement),
            "recordedDate": instant(r.recorded_at),
            "note": [{"text": r.note}] if r.note is not None else None,
        }
    )


def problem_in(c: Context, res: Json, row: Any) -> Parsed:
    code = res.get("code") or {}
    if not code.get("text"):
        raise bad("code.text", "a problem needs its description")
    first = (code.get("coding") or [{}])[0]
    notes = texts(res.get("note"))
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "code": first.get("code"),
        "code_system": first.get("system"),
        "display": code["text"],
        "onset": opt_day(res.get("onsetDateTime"), "onsetDateTime"),
        "abatement": opt_day(res.get("abatementDateTime"), "abatementDateTime"),
        "clinical_status": first_code(res.get("clinicalStatus")) or "active",
        "note": notes[0] if notes else None,
        "recorded_at": parse_instant(res.get("recordedDate"), "recordedDate"),
    }, None


def medication_out(c: Context, r: Medication) -> Json:
    dosage = clean(
        {
            "text": r.dose,
            "route": {"text": r.route} if r.route else None,
            "timing": {"code": {"text": r.frequency}} if r.frequency else None,
        }
    )
    return clean(
        {
            "status": r.status,
            "medicationCodeableConcept": {"text": r.name},
            "subject": ref("Patient", r.patient_id),
            "effectivePeriod": clean({"start": day(r.started_on), "end": day(r.stopped_on)})
            or None,
            "note": [{"text": r.note}] if r.note is not None else None,
            "dosage": [dosage] if dosage else None,
        }
    )


def medication_in(c: Context, res: Json, row: Any) -> Parsed:
    name = (res.get("medicationCodeableConcept") or {}).get("text")
    if not name:
        raise bad("medicationCodeableConcept", "a medication needs its name")
    dosage = (res.get("dosage") or [{}])[0]
    period = res.get("effectivePeriod") or {}
    notes = texts(res.get("note"))
    return {
        "patient_id": req_ref(res.get("subject"), "subject", "Patient"),
        "name": name,
        "dose": dosage.get("text"),
        "route": (dosage.get("route") or {}).get("text"),
        "frequency": ((dosage.get("timing") or {}).get("code") or {}).get("text"),
        "status": res["status"],
        "started_on": opt_day(period.get("start"), "start"),
        "stopped_on": opt_day(period.get("end"), "end"),
        "note": notes[0] if notes else None,
    }, None


MAPPERS = (
    Mapper("appointment", Appointment, "Appointment", appointment_out, appointment_in),
    Mapper("encounter", Encounter, "Encounter", encounter_out, encounter_in),
    Mapper(
        "observation",
        Observation,
        "Observation",
        observation_out,
        observation_in,
        children=(("components", ObservationComponent),),
    ),
    Mapper("diagnostic_report", DiagnosticReport, "DiagnosticReport", report_out, report_in),
    Mapper("allergy", Allergy, "AllergyIntolerance", allergy_out, allergy_in),
    Mapper("problem", Problem, "Condition", problem_out, problem_in),
    Mapper("medication", Medication, "MedicationStatement", medication_out, medication_in),
)
