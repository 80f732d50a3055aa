"""Clinic-level records: Organization, Practitioner, staff (Basic), hours, leave, types, templates.

Working hours -> ``Schedule``: one row is one weekly slot of one practitioner. FHIR R4 Schedule
has no recurrence, so the weekly rule travels in an ``available-time`` extension shaped like
``PractitionerRole.availableTime`` (daysOfWeek, availableStartTime, availableEndTime); the
validity dates are ``planningHorizon``. Leave -> ``Slot`` with status ``busy-unavailable``
(``free`` once cancelled), its schedule a contained Schedule naming the practitioner.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain.errors import ValidationError
from ..store.models import (
    AppointmentType,
    Clinic,
    NoteTemplate,
    Practitioner,
    PractitionerLeave,
    StaffUser,
    WorkingHours,
)
from .common import (
    CS,
    Json,
    b64,
    bad,
    clean,
    clock,
    concept,
    day,
    div,
    ext,
    ext_ref,
    exts,
    get_ext,
    instant,
    opt_day,
    opt_instant,
    parse_clock,
    parse_instant,
    ref,
    req_ref,
    unb64,
    undiv,
    unref,
)
from .mapper import Context, Mapper, Parsed

TAX_ID = f"{CS}tax-id"
PROVIDER_NUMBER = f"{CS}provider-number"
BASIC_KIND = f"{CS}basic-kind"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _telecom(phone: str | None, email: str | None) -> list[Json]:
    out = []
    if phone is not None:
        out.append({"system": "phone", "value": phone})
    if email is not None:
        out.append({"system": "email", "value": email})
    return out


def _from_telecom(res: Json) -> tuple[str | None, str | None]:
    phone = email = None
    for t in res.get("telecom") or ():
        if t.get("system") == "phone" and phone is None:
            phone = t.get("value")
        elif t.get("system") == "email" and email is None:
            email = t.get("value")
    return phone, email


def _ident(res: Json, system: str) -> str | None:
    for i in res.get("identifier") or ():
        if i.get("system") == system:
            value: str | None = i.get("value")
            return value
    return None


# -- Clinic -> Organization ------------------------------------------------------------------


def clinic_out(c: Context, r: Clinic) -> Json:
    return clean(
        {
            "extension": exts(
                ext("legal-name", r.legal_name),
                ext("timezone", r.timezone),
                ext("currency", r.currency, "Code"),
                ext("locale", r.locale, "Code"),
                ext("day-start", r.day_start),
                ext("day-end", r.day_end),
                ext("slot-minutes", r.slot_minutes),
                ext("tax-rounding", r.tax_rounding, "Code"),
                ext(
                    "logo-png", b64(r.logo_png) if r.logo_png is not None else None, "Base64Binary"
                ),
                ext("invoice-footer", r.invoice_footer),
            ),
            "identifier": [{"system": TAX_ID, "value": r.tax_id}] if r.tax_id else None,
            "active": True,
            "name": r.name,
            "telecom": _telecom(r.phone, r.email),
            "address": [{"text": r.address}] if r.address is not None else None,
        }
    )


def clinic_in(c: Context, res: Json, row: Any) -> Parsed:
    if not res.get("name"):
        raise bad("name", "the clinic needs a name")
    phone, email = _from_telecom(res)
    logo = get_ext(res, "logo-png")
    return {
        "name": res["name"],
        "legal_name": get_ext(res, "legal-name"),
        "tax_id": _ident(res, TAX_ID),
        "address": (res.get("address") or [{}])[0].get("text"),
        "phone": phone,
        "email": email,
        "timezone": get_ext(res, "timezone") or "UTC",
        "currency": get_ext(res, "currency") or "EUR",
        "locale": get_ext(res, "locale") or "en_GB",
        "day_start": parse_clock(get_ext(res, "day-start") or "08:00:00", "day-start"),
        "day_end": parse_clock(get_ext(res, "day-end") or "18:00:00", "day-end"),
        "slot_minutes": int(get_ext(res, "slot-minutes") or 15),
        "tax_rounding": get_ext(res, "tax-rounding") or "line",
        "logo_png": unb64(logo, "logo-png") if logo is not None else None,
        "invoice_footer": get_ext(res, "invoice-footer"),
    }, None


# -- Practitioner ----------------------------------------------------------------------------


def practitioner_out(c: Context, r: Practitioner) -> Json:
    return clean(
        {
            "extension": exts(
                ext("clinic", ref("Organization", r.clinic_id)),
                ext("specialty", r.specialty),
                ext("colour", r.colour),
            ),
            "identifier": [{"system": PROVIDER_NUMBER, "value": r.provider_number}]
            if r.provider_number is not None
            else None,
            "active": r.active,
            "name": [
                clean(
                    {
                        "use": "official",
                        "family": r.family,
                        "given": [r.given],
                        "prefix": [r.prefix] if r.prefix is not None else None,
                    }
                )
            ],
            "telecom": _telecom(r.phone, r.email),
            "qualification": [{"code": {"text": r.qualification}}] if r.qualification else None,
        }
    )


def practitioner_in(c: Context, res: Json, row: Any) -> Parsed:
    names = res.get("name") or [{}]
    name = names[0]
    if not name.get("family") or not name.get("given"):
        raise bad("name", "a practitioner needs a given and a family name")
    phone, email = _from_telecom(res)
    quals = res.get("qualification") or []
    return {
        "clinic_id": ext_ref(res, "clinic", "Organization"),
        "prefix": (name.get("prefix") or [None])[0],
        "given": name["given"][0],
        "family": name["family"],
        "specialty": get_ext(res, "specialty"),
        "qualification": quals[0].get("code", {}).get("text") if quals else None,
        "provider_number": _ident(res, PROVIDER_NUMBER),
        "phone": phone,
        "email": email,
        "colour": get_ext(res, "colour") or "#4a90d9",
        "active": res.get("active", True),
    }, None


# -- StaffUser -> Basic (secrets sealed) -----------------------------------------------------

_SECRET_COLUMNS = ("password_hash", "totp_secret", "recovery_codes")


def staff_out(c: Context, r: StaffUser) -> Json:
    sealed = None
    if c.secrets is not None:
        plain = json.dumps({k: getattr(r, k) for k in _SECRET_COLUMNS}, sort_keys=True).encode()
        sealed = b64(c.secrets.seal(plain, bound_to=r.id))
    return {
        "extension": exts(
            ext("username", r.username),
            ext("display-name", r.display_name),
            ext("role", r.role, "Code"),
            ext("practitioner", ref("Practitioner", r.practitioner_id)),
            ext("active", r.active),
            ext("password-changed-at", r.password_changed_at),
            ext("must-change-password", r.must_change_password),
            ext("totp-enabled", r.totp_enabled),
            ext("totp-last-step", r.totp_last_step),
            ext("failed-attempts", r.failed_attempts),
            ext("locked-until", r.locked_until),
            ext("last-sign-in-at", r.last_sign_in_at),
            ext("sealed-credentials", sealed, "Base64Binary"),
        ),
        "code": concept(BASIC_KIND, "staff-user", "Staff account"),
        "subject": ref("Organization", r.clinic_id),
    }


def staff_in(c: Context, res: Json, row: Any) -> Parsed:
    username = get_ext(res, "username")
    if not username:
        raise bad("username", "a staff account needs a username")
    values: dict[str, Any] = {
        "clinic_id": req_ref(res.get("subject"), "subject", "Organization"),
        "username": username,
        "display_name": get_ext(res, "display-name") or username,
        "role": get_ext(res, "role"),
        "practitioner_id": ext_ref(res, "practitioner", "Practitioner"),
        "active": bool(get_ext(res, "active")),
        "password_changed_at": opt_instant(
            get_ext(res, "password-changed-at"), "password-changed-at"
        ),
        "must_change_password": bool(get_ext(res, "must-change-password")),
        "totp_enabled": bool(get_ext(res, "totp-enabled")),
        "totp_last_step": get_ext(res, "totp-last-step"),
        "failed_attempts": get_ext(res, "failed-attempts") or 0,
        "locked_until": opt_instant(get_ext(res, "locked-until"), "locked-until"),
        "last_sign_in_at": opt_instant(get_ext(res, "last-sign-in-at"), "last-sign-in-at"),
    }
    if not values["role"]:
        raise bad("role", "a staff account needs a role")
    sealed = get_ext(res, "sealed-credentials")
    if sealed is not None and c.secrets is not None:
        plain = c.secrets.open(unb64(sealed, "sealed-credentials"), bound_to=res["id"])
        secrets = json.loads(plain)
        values.update({k: secrets.get(k) for k in _SECRET_COLUMNS})
    elif row is None:
        # Without the clinic key the account could not sign in anywhere: refuse, don't invent.
        raise ValidationError(
            {
                "credentials": "a new staff account needs its sealed credentials"
                " and the clinic key to open them"
            }
        )
    if values.get("password_hash") is None and row is None:
        raise bad("credentials", "the sealed credentials hold no password hash")
    return values, None


# -- WorkingHours -> Schedule ----------------------------------------------------------------


def hours_out(c: Context, r: WorkingHours) -> Json:
    rule = {
        "url": "https://clinic-pms.example/fhir/StructureDefinition/available-time",
        "extension": [
            {"url": "daysOfWeek", "valueCode": WEEKDAYS[r.weekday]},
            {"url": "availableStartTime", "valueTime": clock(r.start_time)},
            {"url": "availableEndTime", "valueTime": clock(r.end_time)},
        ],
    }
    horizon = clean({"start": day(r.valid_from), "end": day(r.valid_to)})
    return clean(
        {
            "extension": [rule],
            "active": True,
            "actor": [ref("Practitioner", r.practitioner_id)],
            "planningHorizon": horizon or None,
            "comment": f"Every {WEEKDAYS[r.weekday]} {clock(r.start_time)}-{clock(r.end_time)}",
        }
    )


def hours_in(c: Context, res: Json, row: Any) -> Parsed:
    rule = next(
        (e for e in res.get("extension") or () if e.get("url", "").endswith("/available-time")),
        None,
    )
    if rule is None:
        raise bad("available-time", "the weekly rule (available-time extension) is missing")
    parts = {e.get("url"): e for e in rule.get("extension") or ()}
    try:
        weekday = WEEKDAYS.index(parts["daysOfWeek"]["valueCode"])
        start = parse_clock(parts["availableStartTime"]["valueTime"], "availableStartTime")
        end = parse_clock(parts["availableEndTime"]["valueTime"], "availableEndTime")
    except (KeyError, ValueError) as e:
        raise bad("available-time", "needs daysOfWeek, availableStartTime, availableEndTime") from e
    horizon = res.get("planningHorizon") or {}
    actors = res.get("actor") or [None]
    return {
        "practitioner_id": req_ref(actors[0], "actor", "Practitioner"),
        "weekday": weekday,
        "start_time": start,
        "end_time": end,
        "valid_from": opt_day(horizon.get("start"), "planningHorizon.start"),
        "valid_to": opt_day(horizon.get("end"), "planningHorizon.end"),
    }, None


# -- PractitionerLeave -> Slot ---------------------------------------------------------------


def leave_out(c: Context, r: PractitionerLeave) -> Json:
    return clean(
        {
            "contained": [
                {
                    "resourceType": "Schedule",
                    "id": "practitioner",
                    "actor": [ref("Practitioner", r.practitioner_id)],
                }
            ],
            "schedule": {"reference": "#practitioner"},
            "status": "free" if r.cancelled else "busy-unavailable",
            "start": instant(r.start_at),
            "end": instant(r.end_at),
            "comment": r.reason,
        }
    )


def leave_in(c: Context, res: Json, row: Any) -> Parsed:
    contained = [x for x in res.get("contained") or () if x.get("resourceType") == "Schedule"]
    if not contained or not contained[0].get("actor"):
        raise bad("schedule", "leave needs its practitioner (a contained Schedule)")
    status = res.get("status")
    if status not in ("free", "busy-unavailable"):
        raise bad("status", "leave is busy-unavailable, or free once cancelled")
    return {
        "practitioner_id": req_ref(contained[0]["actor"][0], "schedule.actor", "Practitioner"),
        "start_at": parse_instant(res.get("start"), "start"),
        "end_at": parse_instant(res.get("end"), "end"),
        "reason": res.get("comment"),
        "cancelled": status == "free",
    }, None


# -- AppointmentType -> HealthcareService ----------------------------------------------------


def type_out(c: Context, r: AppointmentType) -> Json:
    return {
        "extension": exts(
            ext("duration-minutes", r.duration_minutes),
            ext("colour", r.colour),
            ext("default-fee-code", r.default_fee_code, "Code"),
        ),
        "active": r.active,
        "providedBy": ref("Organization", r.clinic_id),
        "name": r.name,
    }


def type_in(c: Context, res: Json, row: Any) -> Parsed:
    if not res.get("name"):
        raise bad("name", "an appointment type needs a name")
    return {
        "clinic_id": req_ref(res.get("providedBy"), "providedBy", "Organization"),
        "name": res["name"],
        "duration_minutes": get_ext(res, "duration-minutes") or 15,
        "colour": get_ext(res, "colour") or "#7fb3d5",
        "default_fee_code": get_ext(res, "default-fee-code"),
        "active": res.get("active", True),
    }, None


# -- NoteTemplate -> Basic -------------------------------------------------------------------

SOAP = ("subjective", "objective", "assessment", "plan")


def template_out(c: Context, r: NoteTemplate) -> Json:
    return {
        "extension": exts(
            ext("template-name", r.name),
            ext("active", r.active),
            *(ext(f"soap-{k}", getattr(r, k) or None) for k in SOAP),
        ),
        "code": concept(BASIC_KIND, "note-template", "Clinical note template"),
        "subject": ref("Organization", r.clinic_id),
        "text": {"status": "generated", "div": div(r.name)},
    }


def template_in(c: Context, res: Json, row: Any) -> Parsed:
    name = get_ext(res, "template-name") or (undiv(res["text"]["div"]) if res.get("text") else None)
    if not name:
        raise bad("template-name", "a template needs a name")
    values = {
        "clinic_id": unref(res.get("subject"), "subject", "Organization"),
        "name": name,
        "active": bool(get_ext(res, "active")),
    }
    values.update({k: get_ext(res, f"soap-{k}") or "" for k in SOAP})
    return values, None


MAPPERS = (
    Mapper("clinic", Clinic, "Organization", clinic_out, clinic_in),
    Mapper("practitioner", Practitioner, "Practitioner", practitioner_out, practitioner_in),
    Mapper("staff_user", StaffUser, "Basic", staff_out, staff_in),
    Mapper("working_hours", WorkingHours, "Schedule", hours_out, hours_in),
    Mapper("practitioner_leave", PractitionerLeave, "Slot", leave_out, leave_in),
    Mapper("appointment_type", AppointmentType, "HealthcareService", type_out, type_in),
    Mapper("note_template", NoteTemplate, "Basic", template_out, template_in),
)
