"""Finding patients: the search box, recently opened patients and duplicate candidates.

The search box goes through the FTS5 index ``patient_search`` (names, identifiers, phone
digits; kept by triggers from migration 0002) with prefix matching, so that a query costs a
few index probes whatever the size of the clinic. Dates of birth go through the birth-date
index. Rows come back unordered and limited, and the few are sorted here: sorting every match
of a one-letter prefix would not stay within the 10 ms budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.validation import age_on, parse_date, phone_digits, similar_names
from ..store.models import AuditEntry, Patient, PatientIdentifier, PatientTelecom
from .patients_dto import IDENTIFIER_KINDS, DuplicateCandidate, PatientDraft, PatientSummary

# The search box's statements go to the driver as they are (qmark parameters): SQLAlchemy's
# compiling, parameter and result handling cost more CPU than SQLite's work for them (a search
# runs on every keystroke; 10 ms budget).
_FTS = (
    "SELECT k.patient_id FROM patient_search s JOIN patient_search_key k ON k.k = s.rowid"
    " JOIN patient p ON p.id = k.patient_id"
    " WHERE patient_search MATCH ? AND p.active = 1 LIMIT ?"
)
_FTS_DOB = (
    "SELECT k.patient_id FROM patient_search s JOIN patient_search_key k ON k.k = s.rowid"
    " JOIN patient p ON p.id = k.patient_id"
    " WHERE patient_search MATCH ? AND p.active = 1 AND p.birth_date = ? LIMIT ?"
)
_BORN_ON = "SELECT id FROM patient WHERE birth_date = ? AND active = 1 LIMIT ?"
_PHONE_LIKE = re.compile(r"^\+?[\d\s()\-./]+$")
_DATE_LIKE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{2,4}$")


def _term(token: str) -> str | None:
    """One FTS5 prefix term; quoted, so punctuation cannot become query syntax."""
    clean = token.replace('"', " ").strip()
    return f'"{clean}"*' if any(ch.isalnum() for ch in clean) else None


def plan_query(raw: str, today: date | None = None) -> tuple[str | None, date | None]:
    """(FTS5 query or None, date of birth or None) for what was typed."""
    s = raw.strip()
    if not s:
        return None, None
    whole = (
        parse_date(s, today)
        if (_DATE_LIKE.match(s) or (s.isdigit() and len(s) in (6, 8)))
        else None
    )
    if _PHONE_LIKE.match(s) and not _DATE_LIKE.match(s):
        digits = phone_digits(s)
        return (f'"{digits}"*' if digits else None), whole
    dob: date | None = whole
    terms: list[str] = []
    for token in re.split(r"[\s,;]+", s):
        if _DATE_LIKE.match(token) and (d := parse_date(token, today)) is not None:
            dob = d
        elif (t := _term(token)) is not None:
            terms.append(t)
    return (" AND ".join(terms) or None), dob


def _date_param(d: date) -> str:
    """A date as the store keeps it (SQLAlchemy's SQLite ``Date``: ISO 8601)."""
    return d.isoformat()


def search_ids(session: Session, raw: str, limit: int, today: date | None = None) -> list[str]:
    q, dob = plan_query(raw, today)
    conn = session.connection()
    ids: list[str] = []
    if q and dob and not raw.strip().isdigit():
        return [r[0] for r in conn.exec_driver_sql(_FTS_DOB, (q, _date_param(dob), limit))]
    if dob:
        ids = [r[0] for r in conn.exec_driver_sql(_BORN_ON, (_date_param(dob), limit))]
    if q:
        seen = set(ids)
        ids += [r[0] for r in conn.exec_driver_sql(_FTS, (q, limit)) if r[0] not in seen]
    return ids[:limit]


def _summary_sql(n: int) -> str:
    return (
        "SELECT p.id, p.given, p.family, p.birth_date, p.sex, p.active,"
        " (SELECT t.value FROM patient_telecom t WHERE t.patient_id = p.id AND t.system = 'phone'"
        "  ORDER BY t.rank LIMIT 1),"
        " (SELECT group_concat(i.label || ' ' || i.value, ', ') FROM patient_identifier i"
        "  WHERE i.patient_id = p.id)"
        f" FROM patient p WHERE p.id IN ({', '.join('?' * n)})"
    )


def summaries(
    session: Session, ids: Sequence[str], today: date | None = None
) -> list[PatientSummary]:
    """Summaries of these patients, sorted by surname then first name (one query)."""
    if not ids:
        return []
    rows = session.connection().exec_driver_sql(_summary_sql(len(ids)), tuple(ids))
    out = []
    for pid, given, family, born, sex, active, phone, idents in rows:
        birth = born if isinstance(born, date) else date.fromisoformat(born)
        out.append(
            PatientSummary(
                pid,
                given,
                family,
                birth,
                age_on(birth, today),
                sex,
                phone or "",
                idents or "",
                bool(active),
            )
        )
    out.sort(key=lambda p: (p.family.casefold(), p.given.casefold(), p.birth_date))
    return out


def recent_ids(session: Session, user_id: str, limit: int) -> list[str]:
    """Patients this user opened most recently, newest first, from the access log."""
    seen: list[str] = []
    for pid in session.scalars(
        select(AuditEntry.patient_id)
        .where(
            AuditEntry.user_id == user_id,
            AuditEntry.action == "patients.open",
            AuditEntry.outcome == "success",
        )
        .order_by(AuditEntry.seq.desc())
        .limit(limit * 10)
    ):
        if pid and pid not in seen:
            seen.append(pid)
            if len(seen) == limit:
                break
    return seen


def duplicate_candidates(
    session: Session, draft: PatientDraft, exclude_id: str | None, today: date | None = None
) -> list[DuplicateCandidate]:
    """Possible existing records of the person being registered, with the reasons."""
    reasons: dict[str, list[str]] = {}

    def add(ids: Iterable[str], reason: str) -> None:
        for pid in ids:
            if pid != exclude_id and reason not in reasons.setdefault(pid, []):
                reasons[pid].append(reason)

    dob = (
        draft.birth_date
        if isinstance(draft.birth_date, date)
        else parse_date(draft.birth_date or "", today)
    )
    if dob and (draft.family.strip() or draft.given.strip()):
        same_day = session.execute(
            select(Patient.id, Patient.given, Patient.family).where(
                Patient.birth_date == dob, Patient.active.is_(True)
            )
        ).all()
        add(
            (r.id for r in same_day if _names_match(draft, r.given, r.family)),
            "Same date of birth and a similar name",
        )
    digits = phone_digits(draft.phone) if draft.phone else ""
    if len(digits) >= 6:
        add(
            session.scalars(
                select(PatientTelecom.patient_id)
                .join(Patient)
                .where(PatientTelecom.digits == digits, Patient.active.is_(True))
            ),
            "Same phone number",
        )
    for name, (system, label) in IDENTIFIER_KINDS.items():
        value = getattr(draft, name).strip()
        if value:
            add(
                session.scalars(
                    select(PatientIdentifier.patient_id).where(
                        PatientIdentifier.system == system, PatientIdentifier.value == value
                    )
                ),
                f"Same {label}",
            )
    found = {s.id: s for s in summaries(session, list(reasons), today)}
    return [DuplicateCandidate(found[pid], tuple(r)) for pid, r in reasons.items() if pid in found]


def _names_match(draft: PatientDraft, given: str, family: str) -> bool:
    g, f = draft.given.strip(), draft.family.strip()
    straight = similar_names(f, family) and (
        not g or similar_names(g, given) or g[:1].casefold() == given[:1].casefold()
    )
    swapped = bool(g) and similar_names(g, family) and similar_names(f, given)
    return straight or swapped
