"""``pms-desktop export fhir``: the test clinic as one R4 Bundle, deterministic, admin only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from pms_desktop.cli import main
from pms_desktop.domain.enums import Role
from pms_desktop.fhir import json_io
from pms_desktop.security.totp import current_code
from pms_desktop.store.models import AuditEntry
from tests.conftest import TEST_PASSWORD, TOTP_SECRETS
from tests.unit.test_fhir_examples import build_clinic_records


@pytest.fixture
def sign_in_as(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each sign-in needs a fresh TOTP code (a code is accepted once): step the clock."""
    monkeypatch.setenv("PMS_PASSWORD", TEST_PASSWORD)

    def set_code(role: Role, offset: int) -> None:
        at = datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset, UTC)
        monkeypatch.setenv("PMS_TOTP", current_code(TOTP_SECRETS[role], at))

    return set_code


def _export(data_dir: Path, out: Path, user: str, *extra: str) -> int:
    return main(
        ["export", "fhir", "--data-dir", str(data_dir), "--out", str(out), "--user", user, *extra]
    )


def test_admin_exports_the_clinic_as_a_valid_deterministic_bundle(
    ctx: Any, make_patient: Any, data_dir: Path, tmp_path: Path, sign_in_as: Any
) -> None:
    patient_id = make_patient(given="Brigid", family="Walsh", mrn="MRN-77")
    with ctx.db.sessions()() as s, s.begin():
        build_clinic_records(s, patient_id)
    ctx.close()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    sign_in_as(Role.CLINIC_ADMIN, -30)
    assert _export(data_dir, first, "admin") == 0
    sign_in_as(Role.CLINIC_ADMIN, 0)
    assert _export(data_dir, second, "admin") == 0
    # The second sign-in changed only the admin's account row (last sign-in, TOTP step).
    a, b = (first.read_text().splitlines(), second.read_text().splitlines())
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    assert len(changed) == 1 and '"code":"staff_user"' in changed[0][0]
    assert '"valueString":"admin"' in changed[0][0]
    bundle = json_io.loads(first.read_text())
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    keys = [(r["resourceType"], r["id"]) for r in resources]
    assert keys == sorted(keys)
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    assert patient["id"] == patient_id and patient["name"][0]["family"] == "Walsh"
    types = {r["resourceType"] for r in resources}
    assert {
        "Organization",
        "Practitioner",
        "Basic",
        "Appointment",
        "Composition",
        "Provenance",
        "Observation",
        "Invoice",
        "PaymentReconciliation",
        "Schedule",
        "Slot",
    } <= types
    assert "AuditEvent" not in types
    # Without the clinic key no staff credential leaves the workstation, sealed or not.
    text = first.read_text()
    assert "sealed-credentials" not in text and "$argon2" not in text
    assert TOTP_SECRETS[Role.CLINIC_ADMIN] not in text


def test_same_data_gives_the_same_bytes(ctx: Any, make_patient: Any) -> None:
    import io

    from pms_desktop.fhir.bundle_export import write_bundle

    build = make_patient(given="Aoife", family="Byrne")
    with ctx.db.sessions()() as s, s.begin():
        build_clinic_records(s, build)
    texts = []
    for _ in range(2):
        buf = io.StringIO()
        with ctx.db.sessions()() as s, s.begin():
            write_bundle(s, buf)
        texts.append(buf.getvalue())
    assert texts[0] == texts[1] and build in texts[0]


def test_export_is_in_the_access_log_and_can_carry_it(
    data_dir: Path, tmp_path: Path, sign_in_as: Any
) -> None:
    out = tmp_path / "with-audit.json"
    sign_in_as(Role.CLINIC_ADMIN, -30)
    assert _export(data_dir, out, "admin", "--include-audit") == 0
    bundle = json_io.loads(out.read_text())
    Bundle.model_validate(bundle)
    events = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    ]
    assert events and all(len(e["id"]) == 36 for e in events)
    from pms_desktop.context import open_context

    ctx = open_context(data_dir)
    try:
        with ctx.db.sessions()() as s:
            actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    finally:
        ctx.close()
    assert actions[-1] == "export.fhir"


def test_reception_may_not_export(
    data_dir: Path, tmp_path: Path, sign_in_as: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.json"
    sign_in_as(Role.RECEPTION, -30)
    assert _export(data_dir, out, "rita") == 1
    assert not out.exists() and "allow" in capsys.readouterr().err
    from pms_desktop.context import open_context

    ctx = open_context(data_dir)
    try:
        with ctx.db.sessions()() as s:
            last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
            assert last is not None and (last.action, last.outcome) == ("export.fhir", "refused")
    finally:
        ctx.close()
