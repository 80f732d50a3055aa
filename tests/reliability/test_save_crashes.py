"""SIGKILL at random moments of a clinic's day of saves: notes written and signed, appointments
booked, invoices with their lines issued and paid.

After every kill the test restarts the workstation on the same data folder and checks what a
clinic relies on: the database opens and passes ``integrity_check`` and
``cipher_integrity_check``; every save that was acknowledged is there as it was acknowledged;
nothing is half-saved (an invoice without its lines, a payment without its allocation, a note or
booking without its access-log entry or its outbox entry); the access log verifies; invoice and
receipt numbers are neither repeated nor skipped.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pms_desktop.domain.enums import Role
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import (
    Appointment,
    ClinicalNote,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)
from tests.reliability import children, killing
from tests.reliability.checks import audit_problems, audited, database_problems, outbox_problems
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

ROUNDS = trials(5, 80)


class Acked:
    """What the killed workstations acknowledged, over all rounds."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}  # id -> key in its text
        self.signed: set[str] = set()
        self.appointments: dict[str, str] = {}
        self.invoices: dict[str, str] = {}
        self.issued: dict[str, tuple[str, int]] = {}  # id -> (number, total)
        self.payments: dict[str, tuple[str, int]] = {}  # id -> (invoice id, amount)

    def add(self, run: killing.Run) -> None:
        for m in run.messages:
            kind = m[0]
            if kind == "note":
                self.notes[m[1]] = m[2]
            elif kind == "signed":
                self.signed.add(m[1])
            elif kind == "appointment":
                self.appointments[m[1]] = m[2]
            elif kind == "invoice":
                self.invoices[m[1]] = m[2]
            elif kind == "issued":
                self.issued[m[1]] = (m[2], m[3])
            elif kind == "payment":
                self.payments[m[1]] = (m[2], m[3])

    def count(self) -> int:
        return (len(self.notes) + len(self.signed) + len(self.appointments) + len(self.invoices)
                + len(self.issued) + len(self.payments))


def _lost(s, acked: Acked) -> list[str]:  # type: ignore[no-untyped-def]
    lost = []
    for note_id, key in acked.notes.items():
        note = s.get(ClinicalNote, note_id)
        if note is None or key not in note.subjective:
            lost.append(f"note {key}")
        elif note_id in acked.signed and (note.status != "signed" or not note.content_hash):
            lost.append(f"signature of note {key}")
    for appt_id, key in acked.appointments.items():
        appt = s.get(Appointment, appt_id)
        if appt is None or appt.note != key or appt.status != "booked":
            lost.append(f"appointment {key}")
    for inv_id, key in acked.invoices.items():
        inv = s.get(Invoice, inv_id)
        if inv is None or inv.note != key:
            lost.append(f"invoice {key}")
        elif inv_id in acked.issued and (inv.number, inv.total_minor) != acked.issued[inv_id]:
            lost.append(f"issue of invoice {key}")
    for pay_id, (inv_id, amount) in acked.payments.items():
        pay = s.get(Payment, pay_id)
        if pay is None or pay.amount_minor != amount:
            lost.append(f"payment {pay_id} for invoice {inv_id}")
    return lost


def _half_saved(s) -> list[str]:  # type: ignore[no-untyped-def]
    """Over every row, acknowledged or caught in flight: each is whole."""
    problems = []
    notes = list(s.scalars(select(ClinicalNote)))
    appts = list(s.scalars(select(Appointment)))
    invoices = list(s.scalars(select(Invoice)))
    payments = list(s.scalars(select(Payment)))
    lines = Counter(s.scalars(select(InvoiceLine.invoice_id)))
    problems += [f"invoice {i.id} has {lines[i.id]} lines" for i in invoices if lines[i.id] != 2]
    problems += [f"issued invoice {i.id} without a number" for i in invoices
                 if i.status == "issued" and not i.number]
    for pay in payments:
        allocated = s.scalar(select(func.sum(PaymentAllocation.amount_minor))
                             .where(PaymentAllocation.payment_id == pay.id))
        if allocated != pay.amount_minor:
            problems.append(f"payment {pay.id} of {pay.amount_minor} allocates {allocated}")
    signed = [n.id for n in notes if n.status == "signed"]
    problems += [f"note {x} without its access-log entry"
                 for x in audited(s, "note.create", [n.id for n in notes])]
    problems += [f"signed note {x} without its access-log entry"
                 for x in audited(s, "note.sign", signed)]
    problems += [f"appointment {x} without its access-log entry"
                 for x in audited(s, "schedule.book", [a.id for a in appts])]
    problems += [f"invoice {x} without its access-log entry"
                 for x in audited(s, "billing.invoice.create", [i.id for i in invoices])]
    problems += [f"payment {x} without its access-log entry"
                 for x in audited(s, "payments.take", [p.id for p in payments])]
    for model, rows in ((ClinicalNote, notes), (Appointment, appts), (Invoice, invoices),
                        (Payment, payments)):
        problems += outbox_problems(s, model, [r.id for r in rows])
    return problems


def _numbering(s) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """(repeated numbers, gaps) in the invoice and receipt series."""
    repeated, gaps = [], []
    for column in (Invoice.number, Payment.receipt_number):
        numbers = [n for n in s.scalars(select(column)) if n]
        repeated += [n for n, c in Counter(numbers).items() if c > 1]
        values = sorted(int(re.findall(r"\d+", n)[-1]) for n in numbers)
        if values and values != list(range(values[0], values[0] + len(values))):
            gaps.append(f"{column.key}: {values}")
    return repeated, gaps


def test_sigkill_during_saves_loses_nothing_acknowledged_and_half_saves_nothing(
        ctx, data_dir: Path, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    patient_id = make_patient(given="Crash", family="Daybook")
    ctx.billing.install_default_fee_schedule(actors[Role.PRACTICE_MANAGER])
    ctx.close()  # from here on only the children and the restarts touch the folder
    rng = random.Random(0x5A7E)
    acked = Acked()
    # One day's cycle undisturbed first: how long a cycle takes on this machine today, so that
    # the kills fall anywhere in it however busy the machine is.
    calibration = killing.run(children.clinic_day, str(data_dir), 0, patient_id, 2,
                              kill_at=None)
    assert calibration.error is None, calibration.error
    acked.add(calibration)
    cycle = calibration.of("payment")[-1][-1] - calibration.of("ready")[0][1]
    kills = lost = duplicates = corruptions = 0
    landed: Counter[str] = Counter()
    failures: list[str] = []
    points = killing.kill_points(rng, ROUNDS, 1.5 * cycle / 2, low=0.002)
    for round_no, delay in enumerate(points, start=1):
        run = killing.run(children.clinic_day, str(data_dir), round_no, patient_id,
                          kill_at=delay)
        assert run.error is None, run.error
        kills += run.killed
        landed[run.messages[-1][0]] += 1  # the last save acknowledged before the kill
        acked.add(run)
        db = ClinicDatabase.open(data_dir)  # the restart
        try:
            broken = database_problems(db)
            with db.sessions()() as s:
                broken += audit_problems(s)
                broken += _half_saved(s)
                missing = _lost(s, acked)
                repeated, gaps = _numbering(s)
        finally:
            db.close()
        corruptions += len(broken)
        lost += len(missing)
        duplicates += len(repeated)
        failures += [f"round {round_no}: {p}" for p in broken + missing + repeated + gaps]
        if broken:
            break  # a damaged store makes every later round meaningless
    record("crash during saves (notes, appointments, invoices, payments)", trials=ROUNDS,
           faults=kills, lost=lost, duplicates=duplicates, corruptions=corruptions,
           acknowledged=acked.count(),
           killed_after=",".join(f"{k}:{v}" for k, v in sorted(landed.items())))
    assert not failures, failures[:10]
    assert kills == ROUNDS
