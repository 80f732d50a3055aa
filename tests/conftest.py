"""Shared fixtures: an encrypted store made once from migrations and copied per test, a clinic
with one signed-in actor per role, and helpers to add records.

Secrets go to a keyring kept in a temporary folder (keyrings.alt's file backend under a
per-session XDG_DATA_HOME), never to the real OS keyring. Qt runs offscreen.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

_KEYRING_HOME = tempfile.mkdtemp(prefix="pms-test-keyring-")
atexit.register(shutil.rmtree, _KEYRING_HOME, True)
os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
os.environ["XDG_DATA_HOME"] = _KEYRING_HOME
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests judge data, not speed: on a shared 2-core machine input generation and examples
# run slow at times, which Hypothesis's timing checks reported as failures (speed is bench/'s).
settings.register_profile("pms", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pms")

from pms_desktop.context import AppContext, build_context  # noqa: E402
from pms_desktop.domain.enums import Role  # noqa: E402
from pms_desktop.domain.session import StaffSession  # noqa: E402
from pms_desktop.security.passwords import hash_password  # noqa: E402
from pms_desktop.store.database import ClinicDatabase  # noqa: E402
from pms_desktop.store.models import (  # noqa: E402
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Practitioner,
    StaffUser,
)

TEST_PASSWORD = "Correct-Staple-42-Horse"

ROLE_USERS = {
    Role.RECEPTION: ("rita", "Rita Reception"),
    Role.CLINICIAN: ("drkelly", "Dr Siobhan Kelly"),
    Role.PRACTICE_MANAGER: ("paul", "Paul Manager"),
    Role.CLINIC_ADMIN: ("admin", "Alex Admin"),
}
TOTP_SECRETS = {role: f"JBSWY3DPEHPK3PX{i}" for i, role in enumerate(Role, start=2)}


def _build_template(folder: Path) -> bytes:
    db, _secret = ClinicDatabase.create(folder)
    ctx = build_context(db)
    setup = ctx.setup.create_clinic(  # type: ignore[attr-defined]
        clinic_name="Riverside Test Clinic",
        workstation_name="Front desk",
        admin_username="admin",
        admin_display_name="Alex Admin",
        admin_password=TEST_PASSWORD,
        timezone="Europe/Dublin",
        currency="EUR",
        locale="en_IE",
    )
    pw = hash_password(TEST_PASSWORD)
    with db.sessions()() as s, s.begin():
        prac = Practitioner(clinic_id=setup.clinic.id, prefix="Dr", given="Siobhan", family="Kelly",
                            colour="#5b8def")
        s.add(prac)
        s.flush()
        admin = s.get(StaffUser, setup.admin_user_id)
        assert admin is not None
        admin.totp_secret, admin.totp_enabled = TOTP_SECRETS[Role.CLINIC_ADMIN], True
        for role, (username, name) in ROLE_USERS.items():
            if role is Role.CLINIC_ADMIN:
                continue
            s.add(StaffUser(
                clinic_id=setup.clinic.id, username=username, display_name=name, role=role.value,
                practitioner_id=prac.id if role is Role.CLINICIAN else None, password_hash=pw,
                totp_secret=TOTP_SECRETS[role], totp_enabled=True,
            ))
    db.checkpoint()
    db.close()
    return db.key


@pytest.fixture(autouse=True)
def _gc_on_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test driving widgets collects garbage on the GUI thread only, as the application does
    (``ui/gui_gc.py``); other tests keep CPython's own collection."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from pms_desktop.ui.gui_gc import GuiThreadCollector

    collector = GuiThreadCollector(request.getfixturevalue("qapp"))
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("template") / "clinic"
    return folder, _build_template(folder)


@pytest.fixture
def template_dir(_template: tuple[Path, bytes]) -> Path:
    return _template[0]


@pytest.fixture
def data_dir(_template: tuple[Path, bytes], tmp_path: Path) -> Path:
    """A fresh copy of the template clinic, with its own keyring entry (a test may rotate it)."""
    from pms_desktop.domain.ids import new_id
    from pms_desktop.store.keys import KeyInfo, KeyStore

    source, key = _template
    target = tmp_path / "clinic"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock"))
    info = KeyInfo.load(target)
    info.database_id = new_id()
    info.save(target)
    KeyStore().put(info.keyring_name, key)
    return target


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[AppContext]:
    context = build_context(ClinicDatabase.open(data_dir))
    yield context
    _drain_background_work()
    context.close()


def _drain_background_work() -> None:
    """GUI tests: let the test's background operations finish before its database closes, so
    that none of them runs against a closed store or delays the next test's work."""
    ops = sys.modules.get("pms_desktop.ui.ops")
    if ops is not None:
        ops.wait_for_idle(30.0)


@pytest.fixture
def actors(ctx: AppContext) -> dict[Role, StaffSession]:
    """One signed-in session per role (built directly: sign-in itself is tested elsewhere)."""
    from sqlalchemy import select

    out: dict[Role, StaffSession] = {}
    with ctx.db.sessions()() as s:
        for user in s.scalars(select(StaffUser)):
            role = Role(user.role)
            out[role] = StaffSession(
                user_id=user.id, username=user.username, display_name=user.display_name,
                role=role, workstation_id=ctx.core.workstation_id,
                signed_in_at=datetime.now(UTC), practitioner_id=user.practitioner_id,
            )
    return out


@pytest.fixture
def make_patient(ctx: AppContext):  # type: ignore[no-untyped-def]
    """Insert a patient row directly (for tests of other features than registration)."""
    from sqlalchemy import select

    from pms_desktop.store.models import Clinic

    def make(given: str = "Mary", family: str = "Murphy", birth_date: date = date(1980, 5, 17),
             phone: str | None = "087 123 4567", mrn: str | None = None, **extra: object) -> str:
        with ctx.db.sessions()() as s, s.begin():
            clinic_id = s.scalars(select(Clinic.id)).one()
            p = Patient(clinic_id=clinic_id, given=given, family=family, birth_date=birth_date,
                        sex=str(extra.pop("sex", "female")),
                        phone_digits="".join(ch for ch in phone if ch.isdigit()) if phone else None,
                        **extra)
            s.add(p)
            s.flush()
            if phone:
                s.add(PatientTelecom(patient_id=p.id, system="phone", use="mobile", value=phone,
                                     digits="".join(ch for ch in phone if ch.isdigit())))
            if mrn:
                s.add(PatientIdentifier(patient_id=p.id, system="urn:clinic:mrn",
                                        label="MRN", value=mrn))
            return p.id

    return make
