"""Regenerate docs/screenshots/billing-invoice.png and billing-revenue-report.png.

    python docs/screenshots/billing_screenshots.py      (needs pdftoppm from poppler-utils)
"""
import os
import sys
import tempfile

os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp()
os.environ["MPLBACKEND"] = "Agg"
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from pms_desktop.context import build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.session import StaffSession
from pms_desktop.services.billing import load_default_fee_schedule
from pms_desktop.services.billing_dto import LineInput
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Clinic, Patient, PatientIdentifier, Practitioner, StaffUser
from tests.conftest import _build_template
from tests.unit.conftest_billing import make_appointment, set_clinic

folder = Path(tempfile.mkdtemp()) / "clinic"
_build_template(folder)
ctx = build_context(ClinicDatabase.open(folder))
with ctx.db.sessions()() as s:
    u = s.scalars(select(StaffUser).where(StaffUser.username == "paul")).one()
    M = StaffSession(u.id, u.username, u.display_name, Role.PRACTICE_MANAGER,
                     ctx.core.workstation_id, datetime.now(UTC))
logo = None
try:
    import io

    from PIL import Image, ImageDraw
    im = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((10, 10, 230, 230), fill=(31, 78, 121, 255))
    d.rectangle((100, 50, 140, 190), fill="white")
    d.rectangle((50, 100, 190, 140), fill="white")
    b = io.BytesIO()
    im.save(b, "PNG")
    logo = b.getvalue()
except ImportError as e:  # Pillow is optional: the invoice is then drawn without a logo
    print("no logo", e)
set_clinic(ctx, legal_name="Riverside Medical Practice Ltd", tax_id="IE 1234567T",
           address="14 Quay Street\nGalway H91 X2Y3\nIreland", phone="+353 91 555 0101",
           email="accounts@riverside-clinic.ie", logo_png=logo,
           invoice_footer="IBAN IE29 AIBK 9311 5212 3456 78")
with ctx.db.sessions()() as s, s.begin():
    load_default_fee_schedule(s)
    cid = s.scalars(select(Clinic.id)).one()
    p = Patient(clinic_id=cid, given="Aoife", family="Byrne", birth_date=date(1986, 3, 14),
                sex="female", address_line="27 Salthill Road", city="Galway",
                postal_code="H91 KX20")
    s.add(p)
    s.flush()
    s.add(PatientIdentifier(patient_id=p.id, system="urn:clinic:mrn", label="MRN",
                            value="RC-004211"))
    pid = p.id
appt = make_appointment(ctx, pid, fee_code="CONS-L", type_name="Long consultation")
inv = ctx.billing.create_invoice_from_appointment(M, appointment_id=appt)
ctx.billing.update_draft(
    M, invoice_id=inv.id,
    note="Thank you for choosing Riverside. Payment is due within 30 days.", lines=[
        LineInput(fee_code="CONS-L"), LineInput(fee_code="ECG"), LineInput(fee_code="VACC-FLU"),
        LineInput(fee_code="VACC"), LineInput(fee_code="CERT", discount_minor=500)])
inv = ctx.billing.issue_invoice(M, invoice_id=inv.id)
ctx.payments.take_payment(M, patient_id=pid, method="card", amount_minor=10000, invoice_id=inv.id)
out = Path(tempfile.mkdtemp())
(out / "invoice.pdf").write_bytes(ctx.billing.invoice_pdf(M, invoice_id=inv.id))
if hasattr(ctx.reports, "revenue"):
    import random
    rnd = random.Random(4)
    with ctx.db.sessions()() as s, s.begin():
        pr = Practitioner(clinic_id=cid, prefix="Dr", given="Declan", family="Murphy")
        s.add(pr)
        s.flush()
        pr2 = pr.id
    codes = ["CONS-S", "CONS-L", "CONS-N", "NURSE", "VACC", "ECG", "REPORT", "TELE"]
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)
    for i in range(60):
        when = start + timedelta(days=rnd.randint(0, 170), hours=rnd.randint(0, 7))
        ctx.core.clock = lambda w=when: w
        d = ctx.billing.create_invoice(M, patient_id=pid, practitioner_id=pr2 if i % 3 else None,
                                       lines=[LineInput(fee_code=rnd.choice(codes))
                                              for _ in range(rnd.randint(1, 3))])
        ctx.billing.issue_invoice(M, invoice_id=d.id)
    ctx.core.clock = lambda: datetime(2025, 4, 20, 11, tzinfo=UTC)
    from pms_desktop.services.billing_dto import LineInput as L
    d = ctx.billing.create_invoice(M, patient_id=pid,
                                   lines=[L(fee_code="REPORT"), L(fee_code="CONS-L")])
    d = ctx.billing.issue_invoice(M, invoice_id=d.id)
    ctx.billing.issue_credit_note(M, invoice_id=d.id, reason="Report not required",
                                  line_ids=[d.lines[0].id])
    ctx.core.clock = lambda: datetime(2025, 7, 1, 9, tzinfo=UTC)
    rep = ctx.reports.revenue(M, date_from=date(2025, 1, 1), date_to=date(2025, 6, 30),
                              group_by="period")
    (out / "revenue.pdf").write_bytes(ctx.reports.export_pdf(M, report=rep))
ctx.close()
import subprocess

for pdf, png in (("invoice.pdf", "billing-invoice"), ("revenue.pdf", "billing-revenue-report")):
    # a fixed argument list; pdftoppm from the PATH, as the docstring says
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",  # noqa: S603,S607
                    str(out / pdf), str(ROOT / "docs" / "screenshots" / png)], check=True)
