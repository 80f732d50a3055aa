"""Opening or creating the clinic database for the application's start (no one signed in yet).

The UI may not import the store; these few calls are its door to ``ClinicDatabase`` for the
start-up path: open with the keyring key, open with the recovery secret, or create a new clinic
(whose recovery secret is returned to be shown once). The caller builds the ``AppContext``.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

from ..domain.errors import KeyringUnavailable
from ..store.database import ClinicDatabase, DataDirBusy, RecoveryNeeded, acquire_lock
from ..store.keys import KeyStore

__all__ = [
    "ClinicDatabase", "DataDirBusy", "KeyringUnavailable", "RecoveryNeeded", "create_database",
    "database_exists", "hold_data_dir", "keyring_available", "open_database",
    "open_database_with_recovery_secret",
]


def database_exists(data_dir: Path) -> bool:
    return ClinicDatabase.exists(Path(data_dir))


def keyring_available() -> bool:
    return KeyStore().available()


def hold_data_dir(data_dir: Path) -> FileLock:
    """Claim the data folder for this running application (restore refuses while held)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return acquire_lock(Path(data_dir))


def open_database(data_dir: Path) -> ClinicDatabase:
    """Raises RecoveryNeeded (no key in the keyring) or KeyringUnavailable (no keyring)."""
    return ClinicDatabase.open(Path(data_dir))


def open_database_with_recovery_secret(data_dir: Path, secret: str) -> ClinicDatabase:
    """Opens with the printed secret and, where a keyring works, puts the key back in it."""
    return ClinicDatabase.open_with_recovery_secret(Path(data_dir), secret)


def create_database(data_dir: Path) -> tuple[ClinicDatabase, str]:
    """A new, empty, encrypted clinic database and its recovery secret (show it once)."""
    return ClinicDatabase.create(Path(data_dir))
