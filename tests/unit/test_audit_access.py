"""Reads are logged: opening a chart writes a read entry; refusals and break-glass are flagged."""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

import tests.unit.test_rbac_matrix  # noqa: F401  (imports every service module)
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied
from pms_desktop.domain.permissions import Permission
from pms_desktop.services.base import REGISTRY
from pms_desktop.store.models import AuditEntry


def _chart_read(ctx: Any) -> Any:
    """A READ_CLINICAL operation that needs only the patient: what opening a chart calls."""
    names = sorted(n for n, s in REGISTRY.items()
                   if s.permission is Permission.READ_CLINICAL and s.patient_scoped)
    names.sort(key=lambda n: not n.endswith(("chart_summary", "timeline")))
    for name in names:
        for svc in ctx.services.values():
            for attr in dir(type(svc)):
                if getattr(getattr(type(svc), attr, None), "__operation__", None) is REGISTRY[name]:
                    signature = inspect.signature(inspect.unwrap(getattr(svc, attr)))
                    params = list(signature.parameters.values())[2:]
                    if all(p.name == "patient_id" or p.default is not inspect.Parameter.empty
                           for p in params):
                        return getattr(svc, attr), REGISTRY[name].action
    return None, None


def _last(ctx: Any) -> AuditEntry:
    with ctx.db.sessions()() as s:
        return s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()


def test_opening_a_chart_writes_a_read_entry_and_a_refusal_a_refused_one(ctx, actors,  # type: ignore[no-untyped-def]
                                                                         make_patient) -> None:
    read, action = _chart_read(ctx)
    if read is None:
        pytest.skip("no clinical chart operation registered yet")
    patient = make_patient()
    read(actors[Role.CLINICIAN], patient_id=patient)
    entry = _last(ctx)
    assert (entry.action, entry.patient_id, entry.outcome, entry.username, entry.break_glass) == (
        action, patient, "success", "drkelly", False)
    with pytest.raises(PermissionDenied):
        read(actors[Role.RECEPTION], patient_id=patient)
    entry = _last(ctx)
    assert (entry.patient_id, entry.outcome, entry.username) == (patient, "refused", "rita")
    # Break-glass opens it for this patient only, for a while, and flags every read.
    ctx.accounts.break_glass(actors[Role.RECEPTION], patient_id=patient,
                             reason="Unconscious, need allergies")
    read(actors[Role.RECEPTION], patient_id=patient)
    entry = _last(ctx)
    assert (entry.outcome, entry.break_glass, entry.reason) == (
        "success", True, "Unconscious, need allergies")
    with pytest.raises(PermissionDenied):
        read(actors[Role.RECEPTION], patient_id=make_patient(given="Other"))


def test_access_report_lists_who_touched_the_record(ctx, actors, make_patient,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path) -> None:
    patient = make_patient(given="Aoife", family="Byrne")
    rita = actors[Role.RECEPTION]
    ctx.accounts.break_glass(rita, patient_id=patient, reason="Collapsed at the front desk")
    pdf = ctx.audit.access_report_pdf(actors[Role.CLINIC_ADMIN], patient_id=patient)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Aoife Byrne" in text and "rita" in text and "Collapsed at the front desk" in text
    assert _last(ctx).action == "audit.access_report" and _last(ctx).patient_id == patient


def test_search_filters_and_pages(ctx, actors, make_patient) -> None:  # type: ignore[no-untyped-def]
    admin = actors[Role.CLINIC_ADMIN]
    patient = make_patient()
    for _ in range(5):
        ctx.accounts.break_glass(actors[Role.RECEPTION], patient_id=patient,
                                 reason="Emergency in room 2")
    page = ctx.audit.search(admin, patient_id=patient, limit=3)
    assert page.total >= 5 and len(page.entries) == 3
    assert all(e.patient_id == patient for e in page.entries)
    assert [e.seq for e in page.entries] == sorted((e.seq for e in page.entries), reverse=True)
    by_user = ctx.audit.search(admin, username="rita", action="break_glass")
    assert by_user.total == 5 and {e.username for e in by_user.entries} == {"rita"}


def test_export_csv_is_logged(ctx, actors, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    n = ctx.audit.export_csv(actors[Role.CLINIC_ADMIN], out=tmp_path / "a.csv")
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0].startswith("seq,at,username") and len(lines) == n + 1
    assert _last(ctx).action == "audit.export.csv"
