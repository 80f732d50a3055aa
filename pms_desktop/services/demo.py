"""A realistic demo clinic: staff, practitioners with hours, patients, months of appointments,
encounters with signed notes and vitals, invoices and payments.

Written in bulk (SQLAlchemy Core, one transaction per table chunk) so that 100,000 patients take
minutes, not hours; it is also the benchmark data. Deterministic for a given seed. It writes no
outbox entries: a demo clinic is not a clinic's real data (a first sync pushes it whole).
"""

from __future__ import annotations

import csv
import json
import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select

from ..domain.enums import Role
from ..domain.ids import new_id
from ..security.passwords import hash_password
from ..security.totp import new_secret
from ..store import search_index
from ..store.database import ClinicDatabase
from ..store.models import (
    Allergy,
    Appointment,
    AppointmentType,
    ClinicalNote,
    Encounter,
    FeeItem,
    Invoice,
    InvoiceLine,
    NumberSeries,
    Observation,
    ObservationComponent,
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Payment,
    PaymentAllocation,
    Practitioner,
    Problem,
    StaffUser,
    WorkingHours,
)
from .clinic_setup import ClinicSetupService
from .clinical_seal import note_hash

Progress = Callable[[str], None]

PRACTITIONERS = [
    ("Dr", "Siobhan", "Kelly", "General practice", "#4f7fd9"),
    ("Dr", "Declan", "Murphy", "General practice", "#3aa17e"),
    ("Dr", "Anna", "Nowak", "General practice", "#c2693e"),
    ("Dr", "Ravi", "Patel", "Paediatrics", "#8a5cc7"),
    ("Dr", "Claire", "OBrien", "Women's health", "#d0578a"),
    ("Dr", "Tomas", "Garcia", "Sports medicine", "#2a9bb5"),
    ("Dr", "Mei", "Chen", "Dermatology", "#b58a1f"),
    ("Dr", "Liam", "Byrne", "General practice", "#5d8a3a"),
    ("", "Niamh", "Walsh", "Practice nurse", "#7b7fa8"),
    ("", "Orla", "Quinn", "Practice nurse", "#a0675b"),
]

APPOINTMENT_TYPES = [
    ("Standard consultation", 15, "#cfe3fb", "CONS-S"),
    ("Long consultation", 30, "#d9f0e3", "CONS-L"),
    ("New patient", 30, "#fde8cf", "CONS-N"),
    ("Review", 15, "#e7e0f7", "CONS-S"),
    ("Nurse visit", 15, "#f7e1e8", "NURSE"),
    ("Vaccination", 15, "#e3f4f7", "VACC"),
]

SOAP = [
    ("Cough for 5 days, no fever. Non-smoker.", "Chest clear, no wheeze. Throat mildly red.",
     "Viral upper respiratory tract infection.", "Fluids, paracetamol as needed. Review if worse."),
    ("Follow-up of blood pressure.", "BP improved on current dose.",
     "Essential hypertension, controlled.", "Continue ramipril 5 mg. Review in 3 months."),
    ("Lower back pain after lifting, 1 week.", "Paraspinal tenderness, SLR negative.",
     "Mechanical low back pain.",
     "Stay active, ibuprofen 400 mg tds with food for 5 days, physio."),
    ("Itchy rash on both forearms.", "Dry erythematous patches, no infection.", "Eczema.",
     "Emollients, hydrocortisone 1% for 7 days."),
    ("Annual review, diabetes type 2.", "Feet normal, no retinopathy reported.",
     "Type 2 diabetes, stable.", "HbA1c ordered. Continue metformin."),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    password: str
    totp_secret: str

    def line(self) -> str:
        return (f"sign-in user={self.username} role={self.role.value} "
                f"password={self.password} totp={self.totp_secret}")


@dataclass(frozen=True)
class DemoResult:
    logins: list[DemoLogin]
    patients: int
    appointments: int


def _names() -> dict[str, list[str]]:
    text = resources.files("pms_desktop").joinpath("resources/demo-names.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class DemoBuilder:
    def __init__(self, db: ClinicDatabase, *, seed: int = 7, today: date | None = None,
                 progress: Progress | None = None) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.today = today or datetime.now(UTC).date()
        self.say = progress or (lambda _m: None)
        self.tz = ZoneInfo("Europe/Dublin")
        self.now = datetime.now(UTC)

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # An executemany takes its columns from the first row: give every row the same keys,
        # or a value only some rows carry (an observation's value, say) would be dropped.
        keys = {k for r in rows for k in r}
        rows = [{k: r.get(k) for k in keys} for r in rows]
        for chunk in _chunks(rows):
            with self.db.engine.begin() as conn:
                conn.execute(insert(table), chunk)

    def _password(self) -> str:
        return "Demo-" + secrets.token_urlsafe(9).replace("_", "x").replace("-", "y")

    # --- staff and practice set-up ----------------------------------------------------------

    def build(self, patients: int) -> DemoResult:
        from .base import ServiceCore

        setup_service = ClinicSetupService(ServiceCore(self.db.sessions(), "unregistered"))
        admin_pw = self._password()
        setup = setup_service.create_clinic(
            clinic_name="Riverside Family Practice", workstation_name="Reception desk 1",
            admin_username="admin", admin_display_name="Alex Byrne", admin_password=admin_pw,
            timezone="Europe/Dublin", currency="EUR", locale="en_IE",
        )
        self.clinic_id = setup.clinic.id
        logins = [DemoLogin("admin", Role.CLINIC_ADMIN, admin_pw, setup.admin_totp_secret)]
        with self.db.sessions()() as s, s.begin():
            from ..store.models import Clinic

            clinic = s.get(Clinic, self.clinic_id)
            assert clinic is not None
            clinic.legal_name, clinic.tax_id = "Riverside Family Practice Ltd", "IE6388047V"
            clinic.address = "12 Quay Street\nKilbride, Co. Wicklow\nA63 X2Y4"
            clinic.phone, clinic.email = "+353 1 555 0100", "frontdesk@riverside-practice.ie"
            clinic.day_start, clinic.day_end = time(8, 0), time(18, 0)
            admin = s.get(StaffUser, setup.admin_user_id)
            assert admin is not None
            admin.totp_enabled = True
        self.say("staff and practitioners")
        self.practitioners = self._practitioners()
        logins += self._staff()
        self.types = self._appointment_types()
        self.fees = self._fee_schedule()
        self.say(f"{patients} patients")
        self.patient_ids = self._patients(patients)
        self.say("appointments, encounters, notes, vitals, invoices")
        n_appts = self._appointments()
        with self.db.engine.begin() as conn:  # as a maintained store's index would be
            search_index.optimize(conn)
        self.db.checkpoint()
        return DemoResult(logins, patients, n_appts)

    def _practitioners(self) -> list[str]:
        ids, hours = [], []
        rows = []
        for i, (prefix, given, family, spec, colour) in enumerate(PRACTITIONERS):
            pid = new_id()
            ids.append(pid)
            rows.append(dict(id=pid, clinic_id=self.clinic_id, prefix=prefix or None, given=given,
                             family=family, specialty=spec, colour=colour, active=True,
                             local_revision=1, updated_at=self.now,
                             provider_number=f"MCRN{40000 + i * 137}"))
            start, end = (time(9, 0), time(17, 0)) if i % 4 else (time(8, 30), time(16, 30))
            for weekday in range(5):
                if i == 8 and weekday == 2:  # a part-time nurse: no Wednesdays
                    continue
                hours.append(dict(id=new_id(), practitioner_id=pid, weekday=weekday,
                                  start_time=start, end_time=end, local_revision=1,
                                  updated_at=self.now))
            if i in (0, 3):
                hours.append(dict(id=new_id(), practitioner_id=pid, weekday=5,
                                  start_time=time(9, 0),
                                  end_time=time(12, 30), local_revision=1, updated_at=self.now))
        self._insert(Practitioner.__table__, rows)  # type: ignore[arg-type]
        self._insert(WorkingHours.__table__, hours)  # type: ignore[arg-type]
        return ids

    def _staff(self) -> list[DemoLogin]:
        people = [
            ("reception", "Rita Doyle", Role.RECEPTION, None),
            ("manager", "Paul Walsh", Role.PRACTICE_MANAGER, None),
            ("drkelly", "Dr Siobhan Kelly", Role.CLINICIAN, self.practitioners[0]),
            ("drmurphy", "Dr Declan Murphy", Role.CLINICIAN, self.practitioners[1]),
            ("drnowak", "Dr Anna Nowak", Role.CLINICIAN, self.practitioners[2]),
        ]
        rows, logins = [], []
        for username, name, role, prac in people:
            pw, totp = self._password(), new_secret()
            rows.append(dict(id=new_id(), clinic_id=self.clinic_id, username=username,
                             display_name=name, role=role.value, practitioner_id=prac, active=True,
                             password_hash=hash_password(pw), password_changed_at=self.now,
                             must_change_password=False, totp_secret=totp, totp_enabled=True,
                             failed_attempts=0, local_revision=1, updated_at=self.now))
            logins.append(DemoLogin(username, role, pw, totp))
        self._insert(StaffUser.__table__, rows)  # type: ignore[arg-type]
        self.clinician_user = rows[2]["id"]
        return logins

    def _appointment_types(self) -> list[dict[str, Any]]:
        rows = [dict(id=new_id(), clinic_id=self.clinic_id, name=n, duration_minutes=d, colour=c,
                     default_fee_code=f, active=True, local_revision=1, updated_at=self.now)
                for n, d, c, f in APPOINTMENT_TYPES]
        self._insert(AppointmentType.__table__, rows)  # type: ignore[arg-type]
        return rows

    def _fee_schedule(self) -> dict[str, dict[str, Any]]:
        text = (resources.files("pms_desktop").joinpath("resources/fee-schedule.csv")
                .read_text("utf-8"))
        rows: list[dict[str, Any]] = []
        for rec in csv.DictReader(text.splitlines()):
            rows.append(dict(id=new_id(), clinic_id=self.clinic_id, code=rec["code"],
                             description=rec["description"],
                             price_minor=int(Decimal(rec["price"]) * 100),
                             tax_rate=Decimal(rec["tax_rate"]), active=True, local_revision=1,
                             updated_at=self.now))
        self._insert(FeeItem.__table__, rows)  # type: ignore[arg-type]
        return {r["code"]: r for r in rows}

    # --- patients --------------------------------------------------------------------------

    def _patients(self, n: int) -> list[str]:
        names, rng = _names(), self.rng
        ids: list[str] = []
        patients, idents, phones, allergies, problems = [], [], [], [], []
        for i in range(n):
            pid = new_id()
            ids.append(pid)
            female = rng.random() < 0.52
            given = rng.choice(names["given_female" if female else "given_male"])
            family = rng.choice(names["family"])
            family = {"OBrien": "O'Brien", "ONeill": "O'Neill", "OConnor": "O'Connor",
                      "OCallaghan": "O'Callaghan"}.get(family, family)
            age_days = int(rng.triangular(0, 95 * 365, 38 * 365))
            dob = self.today - timedelta(days=age_days)
            mobile = f"08{rng.choice('35679')} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            digits = "".join(ch for ch in mobile if ch.isdigit())
            patients.append(dict(
                id=pid, clinic_id=self.clinic_id, given=given, family=family,
                middle=(rng.choice(names["given_female" if female else "given_male"])
                        if rng.random() < 0.3 else None),
                sex="female" if female else "male", birth_date=dob,
                email=f"{given}.{family}{rng.randint(1, 99)}@example.ie".lower().replace("'", ""),
                address_line=f"{rng.randint(1, 120)} {rng.choice(names['streets'])}",
                city=rng.choice(names["towns"]), region="Co. Wicklow",
                postal_code=f"A63 {rng.choice('CDEFHKNPRTVWXY')}{rng.randint(100, 999)}",
                country="IE",
                language="en", active=True, phone_digits=digits, local_revision=1,
                updated_at=self.now,
            ))
            idents.append(dict(id=new_id(), patient_id=pid, system="urn:clinic:mrn", label="MRN",
                               value=f"RFP{100000 + i}", rank=0))
            if rng.random() < 0.6:
                ppsn = (1234567 + i * 7919) % 9000000 + 1000000  # unique for i < 9 million
                idents.append(dict(id=new_id(), patient_id=pid, system="urn:ie:ppsn", label="PPSN",
                                   value=f"{ppsn}{'ABCDEFGHJKLMNPQRSTVWX'[i % 21]}", rank=1))
            phones.append(dict(id=new_id(), patient_id=pid, system="phone", use="mobile",
                               value=mobile, digits=digits, rank=0))
            if rng.random() < 0.06:
                substance, reaction, sev = rng.choice([
                    ("Penicillin", "Urticaria", "moderate"), ("Peanut", "Anaphylaxis", "severe"),
                    ("Latex", "Contact dermatitis", "mild"), ("Sulfonamides", "Rash", "moderate"),
                    ("Ibuprofen", "Bronchospasm", "severe")])
                allergies.append(dict(id=new_id(), patient_id=pid, substance=substance,
                                      reaction=reaction,
                                      severity=sev,
                                      criticality="high" if sev == "severe" else "low",
                                      clinical_status="active", recorded_at=self.now,
                                      local_revision=1, updated_at=self.now))
            if age_days > 45 * 365 and rng.random() < 0.25:
                code, display = rng.choice([("38341003", "Essential hypertension"),
                                            ("44054006", "Type 2 diabetes mellitus"),
                                            ("195967001", "Asthma"),
                                            ("55822004", "Hyperlipidaemia")])
                problems.append(dict(id=new_id(), patient_id=pid, code=code,
                                     code_system="http://snomed.info/sct", display=display,
                                     onset=dob + timedelta(days=int(age_days * 0.8)),
                                     clinical_status="active", recorded_at=self.now,
                                     local_revision=1, updated_at=self.now))
        self._insert(Patient.__table__, patients)  # type: ignore[arg-type]
        self._insert(PatientIdentifier.__table__, idents)  # type: ignore[arg-type]
        self._insert(PatientTelecom.__table__, phones)  # type: ignore[arg-type]
        self._insert(Allergy.__table__, allergies)  # type: ignore[arg-type]
        self._insert(Problem.__table__, problems)  # type: ignore[arg-type]
        return ids

    # --- appointments and what follows them --------------------------------------------------

    def _local(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, self.tz).astimezone(UTC)

    def _appointments(self) -> int:
        rng, now = self.rng, self.now
        with self.db.sessions()() as s:
            hours = s.execute(select(WorkingHours.practitioner_id, WorkingHours.weekday,
                                     WorkingHours.start_time, WorkingHours.end_time)).all()
            series = s.scalars(select(NumberSeries.series_code)
                               .where(NumberSeries.kind == "invoice")).first()
        by_prac: dict[tuple[str, int], tuple[time, time]] = {
            (h[0], h[1]): (h[2], h[3]) for h in hours
        }
        batches: list[list[dict[str, Any]]] = [[] for _ in range(9)]
        appts, encs, notes, obs, comps, invoices, lines, pays, allocs = batches
        inv_no = 0
        rcp_no = 0
        for offset in range(-90, 31):
            day = self.today + timedelta(days=offset)
            fill = 0.8 if offset == 0 else (0.72 if offset < 0 else max(0.15, 0.6 - offset * 0.015))
            for prac in self.practitioners:
                span = by_prac.get((prac, day.weekday()))
                if span is None:
                    continue
                cursor = datetime.combine(day, span[0])
                end_of_day = datetime.combine(day, span[1])
                while cursor < end_of_day:
                    typ = rng.choices(self.types, weights=[60, 10, 6, 12, 8, 4])[0]
                    dur = timedelta(minutes=typ["duration_minutes"])
                    if cursor + dur > end_of_day:
                        break
                    if rng.random() < fill:
                        start = cursor.replace(tzinfo=self.tz).astimezone(UTC)
                        end = start + dur
                        patient = rng.choice(self.patient_ids)
                        status = "booked"
                        if end < now:
                            r = rng.random()
                            status = ("completed" if r < 0.88
                                      else "noshow" if r < 0.94 else "cancelled")
                        elif start < now:
                            status = "in-consultation"
                        elif (offset == 0 and start < now + timedelta(hours=1)
                              and rng.random() < 0.6):
                            status = "arrived"
                        aid = new_id()
                        appts.append(dict(
                            id=aid, clinic_id=self.clinic_id, patient_id=patient,
                            practitioner_id=prac,
                            appointment_type_id=typ["id"], start_at=start, end_at=end,
                            status=status,
                            cancel_reason=("Patient rang to cancel" if status == "cancelled"
                                           else None),
                            arrived_at=start - timedelta(minutes=rng.randint(2, 15))
                            if status in ("completed", "arrived", "in-consultation") else None,
                            completed_at=end if status == "completed" else None,
                            local_revision=1, updated_at=now))
                        if status == "completed":
                            inv_no, rcp_no = self._consultation(
                                aid, patient, prac, typ, start, end, series, inv_no, rcp_no,
                                encs, notes, obs, comps, invoices, lines, pays, allocs)
                    cursor += dur
        for table, rows in ((Appointment, appts), (Encounter, encs), (ClinicalNote, notes),
                            (Observation, obs), (ObservationComponent, comps), (Invoice, invoices),
                            (InvoiceLine, lines), (Payment, pays), (PaymentAllocation, allocs)):
            self._insert(table.__table__, rows)  # type: ignore[arg-type]
        with self.db.engine.begin() as conn:
            for kind, value in (("invoice", inv_no + 1), ("receipt", rcp_no + 1)):
                conn.execute(NumberSeries.__table__.update()  # type: ignore[attr-defined]
                             .where(NumberSeries.kind == kind).values(next_value=value))
        return len(appts)

    def _consultation(self, aid: str, patient: str, prac: str, typ: dict[str, Any], start: datetime,
                      end: datetime, series: str | None, inv_no: int, rcp_no: int,
                      encs: list[Any], notes: list[Any], obs: list[Any], comps: list[Any],
                      invoices: list[Any], lines: list[Any], pays: list[Any],
                      allocs: list[Any]) -> tuple[int, int]:
        rng, now = self.rng, self.now
        eid = new_id()
        encs.append(dict(id=eid, patient_id=patient, practitioner_id=prac, appointment_id=aid,
                         status="finished", start_at=start, end_at=end, reason=typ["name"],
                         local_revision=1, updated_at=now))
        s, o, a, p = rng.choice(SOAP)
        note = dict(id=new_id(), patient_id=patient, encounter_id=eid,
                    author_id=self.clinician_user,
                    kind="note", subjective=s, objective=o, assessment=a, plan=p, status="signed",
                    created_at=start, signed_at=end.astimezone(UTC),
                    signed_by_id=self.clinician_user,
                    addendum_to_id=None, local_revision=1, updated_at=now)
        # sealed as signing seals a note (without it every demo note showed as altered)
        note["content_hash"] = note_hash(SimpleNamespace(**note))  # type: ignore[arg-type]
        notes.append(note)
        if rng.random() < 0.5:
            oid = new_id()
            sys_, dia = rng.randint(105, 165), rng.randint(62, 98)
            obs.append(dict(id=oid, patient_id=patient, encounter_id=eid, category="vital-signs",
                            code_system="http://loinc.org", code="85354-9",
                            display="Blood pressure panel",
                            status="final", effective_at=start + timedelta(minutes=3),
                            interpretation="H" if sys_ >= 140 or dia >= 90 else "N",
                            local_revision=1, updated_at=now))
            comps.append(dict(id=new_id(), observation_id=oid, code="8480-6",
                              display="Systolic blood pressure",
                              value=Decimal(sys_), unit="mm[Hg]",
                              interpretation="H" if sys_ >= 140 else "N", rank=0))
            comps.append(dict(id=new_id(), observation_id=oid, code="8462-4",
                              display="Diastolic blood pressure",
                              value=Decimal(dia), unit="mm[Hg]",
                              interpretation="H" if dia >= 90 else "N", rank=1))
            hr = rng.randint(55, 105)
            obs.append(dict(id=new_id(), patient_id=patient, encounter_id=eid,
                            category="vital-signs",
                            code_system="http://loinc.org", code="8867-4", display="Heart rate",
                            status="final",
                            effective_at=start + timedelta(minutes=3), value=Decimal(hr),
                            unit="/min",
                            interpretation="H" if hr > 100 else "N", local_revision=1,
                            updated_at=now))
        fee = self.fees.get(typ["default_fee_code"]) or self.fees["CONS-S"]
        inv_no += 1
        iid = new_id()
        net = fee["price_minor"]
        tax = int((Decimal(net) * fee["tax_rate"]).quantize(Decimal("1")))
        invoices.append(dict(id=iid, clinic_id=self.clinic_id, number=f"INV-{series}-{inv_no:06d}",
                             patient_id=patient, practitioner_id=prac, appointment_id=aid,
                             encounter_id=eid,
                             status="issued", currency="EUR", created_at=end, issued_at=end,
                             due_date=(end + timedelta(days=30)).date(), subtotal_minor=net,
                             discount_minor=0, tax_minor=tax, total_minor=net + tax,
                             local_revision=1, updated_at=now))
        lines.append(dict(id=new_id(), invoice_id=iid, position=1, fee_item_id=fee["id"],
                          code=fee["code"],
                          description=fee["description"], quantity=Decimal(1), unit_price_minor=net,
                          discount_minor=0, tax_rate=fee["tax_rate"], net_minor=net, tax_minor=tax,
                          total_minor=net + tax))
        r = rng.random()
        if r < 0.85:
            rcp_no += 1
            amount = net + tax if r < 0.8 else (net + tax) // 2
            pay_id = new_id()
            method = rng.choices(["card", "cash", "bank_transfer", "insurer"],
                                 weights=[60, 20, 10, 10])[0]
            pays.append(dict(id=pay_id, clinic_id=self.clinic_id, patient_id=patient,
                             kind="payment",
                             method=method, amount_minor=amount, currency="EUR", received_at=end,
                             receipt_number=f"RCP-{series}-{rcp_no:06d}", local_revision=1,
                             updated_at=now))
            allocs.append(dict(id=new_id(), payment_id=pay_id, invoice_id=iid, amount_minor=amount))
        return inv_no, rcp_no


def build_demo(db: ClinicDatabase, patients: int, *, seed: int = 7,
               progress: Progress | None = None) -> DemoResult:
    return DemoBuilder(db, seed=seed, progress=progress).build(patients)


__all__ = ["DemoLogin", "DemoResult", "build_demo"]
