"""A new computer joining a clinic that already syncs: its encrypted store, enrolment and the
clinic key, before its first sync (the first-run wizard's "Join" path; no Qt).

The new database is made in a staging folder inside the data folder (``.joining``) and moved
into place only once the workstation is enrolled and holds the clinic key. So a mistyped code,
a server out of reach, a cancelled wizard or a crash never leaves a half-made clinic in the data
folder: the application would open it as a clinic with nobody to sign in. An attempt keeps what
it has done across retries (the store, the enrolment: an enrolment code works once); the next
attempt after a cancel or a crash discards what the last one left and starts clean.

An enrolment code works once, so a join given up after it was redeemed (cancelled, or failed
for good) would leave the server an enrolled device that no workstation holds: ``abandon``
gives the credential back (the server's ``/sync/devices/{id}/withdraw``, authenticated by that
credential), best effort; offline, it names the device for the central admin to revoke.

The workstation's own record (the series code of its invoice numbers) is made by its first
sync, once the clinic's other workstations are known (``workstation_registry``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import PmsError, StoreError, ValidationError
from ..security.clinic_key import normalise_transfer_code
from ..store.database import ClinicDatabase
from ..store.engine import DB_FILENAME
from ..store.keys import KEYINFO_FILENAME, KeyInfo, KeyStore
from ..sync import sync_state as st
from ..sync.transport import SyncRefused
from .base import ServiceCore
from .sync_service import SyncService, device_credential_name, enrolment_problems
from .workstation_registry import NAME as WORKSTATION_NAME

STAGING = ".joining"
UNREGISTERED = "unregistered"  # the workstation id until its record exists (as in context.py)


@dataclass(frozen=True)
class JoinRequest:
    server_url: str
    code: str  # the one-time enrolment code from the central admin
    clinic_key_code: str  # from a clinic admin, made on a workstation in use
    workstation_name: str
    ca_file: Path | None = None


def join_problems(request: JoinRequest) -> dict[str, str]:
    """What is wrong with the form before anything is sent (an enrolment code works once)."""
    errors = enrolment_problems(request.server_url.strip(), request.code, request.ca_file)
    if not request.workstation_name.strip():
        errors["device_name"] = "Name this workstation, e.g. Consulting room 2."
    if not request.clinic_key_code.strip():
        errors["clinic_key_code"] = ("Enter the clinic key code a clinic admin made on a "
                                     "workstation already in use.")
    else:
        try:
            normalise_transfer_code(request.clinic_key_code)
        except ValidationError as e:
            errors.update(e.field_errors)
    return errors


class ClinicJoin:
    """One attempt at joining, kept across retries. ``run`` does what is left (create the
    staged store, enrol, receive the clinic key) and returns the database moved into place;
    ``abandon`` discards an unfinished attempt."""

    def __init__(self, data_dir: Path, keystore: KeyStore | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.keystore = keystore or KeyStore()
        self.db: ClinicDatabase | None = None
        self.recovery_secret: str | None = None
        self.clinic_name: str | None = None
        self.enrolled = False
        # What became of the enrolment a crashed attempt left (None: there was none).
        self.earlier: Withdrawal | None = None

    @property
    def staging(self) -> Path:
        return self.data_dir / STAGING

    def run(self, request: JoinRequest) -> ClinicDatabase:
        errors = join_problems(request)
        if self.enrolled:  # what was sent already is no longer the form's to correct
            errors = {k: v for k, v in errors.items() if k == "clinic_key_code"}
        if errors:
            raise ValidationError(errors)
        if self.db is None:
            if ClinicDatabase.exists(self.data_dir):
                raise StoreError(f"{self.data_dir} already holds a clinic database.")
            # A crashed try's enrolment is given back before its staging folder goes.
            self.earlier = withdraw_leftover(self.data_dir, self.keystore)
            discard_staged(self.data_dir, keystore=self.keystore)  # a cancelled or crashed try
            self.db, self.recovery_secret = ClinicDatabase.create(self.staging, self.keystore)
        sync = SyncService(ServiceCore(self.db.sessions(), UNREGISTERED), self.db,
                           keystore=self.keystore)
        if not self.enrolled:
            self.clinic_name = sync.enrol_device(
                server_url=request.server_url.strip(), code=request.code,
                device_name=request.workstation_name.strip(), ca_file=request.ca_file)
            self.enrolled = True
        sync.enter_clinic_key_code(request.clinic_key_code)
        db, self.db = self.db, None
        return move_into_place(self.data_dir, db, self.keystore)

    @property
    def holds_enrolment(self) -> bool:
        """Enrolled, not finished: abandoning gives the credential back (network: off the GUI
        thread)."""
        return self.enrolled and self.db is not None

    def abandon(self) -> Withdrawal | None:
        """Cancelled (or failed) before the end: nothing of this attempt stays. An enrolment it
        made is withdrawn at the server with the device's own credential, so no credential is
        left that no workstation holds; when that cannot be done (offline), the answer says
        which device the central admin should revoke. None when nothing was enrolled."""
        db, self.db = self.db, None
        try:
            return _withdraw(db, self.keystore) if db is not None and self.enrolled else None
        finally:  # whatever the server said (or a bug): nothing of the attempt stays here
            discard_staged(self.data_dir, db, keystore=self.keystore)
            self.enrolled = False


@dataclass(frozen=True)
class Withdrawal:
    """What became of an abandoned join's enrolment; ``message`` is for the person."""

    device_id: str
    server_url: str
    withdrawn: bool
    message: str


def withdraw_leftover(data_dir: Path, keystore: KeyStore) -> Withdrawal | None:
    """Give back the enrolment an unfinished join left in the staging folder (the process was
    killed before it could): None when there is none, or it cannot be read."""
    folder = Path(data_dir) / STAGING
    try:
        info = KeyInfo.load(folder)
    except StoreError:
        return None
    if keystore.get(device_credential_name(info.database_id)) is None:
        return None
    try:
        db = ClinicDatabase.open(folder, keystore)
    except PmsError:
        return None
    try:
        return _withdraw(db, keystore)
    finally:
        db.close()


def _withdraw(db: ClinicDatabase, keystore: KeyStore) -> Withdrawal | None:
    sync = SyncService(ServiceCore(db.sessions(), UNREGISTERED), db, keystore=keystore)
    with db.sessions()() as s:
        device_id = str(st.get(s, st.DEVICE_ID) or "")
        server_url = str(st.get(s, st.SERVER_URL) or "")
        name = str(st.get(s, WORKSTATION_NAME) or "")
    if not device_id:
        return None  # stopped before the server's answer was kept: nothing is known to revoke
    try:
        sync.withdraw_device()
    except SyncRefused as e:
        if e.status != 401:  # 401: the credential is refused already (revoked meanwhile)
            return _not_withdrawn(device_id, name, server_url, str(e))
    except PmsError as e:  # offline, untrusted, the credential lost
        return _not_withdrawn(device_id, name, server_url, str(e))
    return Withdrawal(device_id, server_url, True,
                      "This computer's enrolment was withdrawn at the sync server. The "
                      "enrolment code is used up: ask the central admin for a new one to join.")


def _not_withdrawn(device_id: str, name: str, server_url: str, why: str) -> Withdrawal:
    return Withdrawal(device_id, server_url, False,
                      f"This computer could not withdraw its enrolment at the sync server "
                      f"({why.rstrip('.')}). Ask the central admin to revoke device {device_id} "
                      f"(\"{name}\") on {server_url}: until then that enrolment stays valid.")


def discard_staged(data_dir: Path, db: ClinicDatabase | None = None, *,
                   keystore: KeyStore | None = None) -> None:
    """Remove an unfinished join's staging folder and its keyring entries."""
    if db is not None:
        db.close()
    folder = Path(data_dir) / STAGING
    if not folder.exists():
        return
    keystore = keystore or KeyStore()
    try:
        info = KeyInfo.load(folder)
    except StoreError:
        info = None
    if info is not None:
        for name in (info.keyring_name, info.keyring_name + ":pending",
                     device_credential_name(info.database_id)):
            keystore.delete(name)
    shutil.rmtree(folder, ignore_errors=True)


def move_into_place(data_dir: Path, db: ClinicDatabase,
                    keystore: KeyStore | None = None) -> ClinicDatabase:
    """The joined workstation's store moves from the staging folder to the data folder and is
    opened there. The database file moves last: until it is there, the folder holds no clinic."""
    db.checkpoint()
    db.close()
    staging, data_dir = db.data_dir, Path(data_dir)
    for name in (KEYINFO_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", DB_FILENAME):
        if (staging / name).exists():
            os.replace(staging / name, data_dir / name)
    (data_dir / "backups").mkdir(exist_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    return ClinicDatabase.open(data_dir, keystore)
