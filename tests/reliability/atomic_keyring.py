"""A file keyring for the kill tests whose writes are atomic, as an OS keyring's are.

keyrings.alt's file backends truncate their file and then write it: a SIGKILL in between empties
the keyring. A real OS keyring (Secret Service, Keychain, Credential Manager) commits each write
on its own side, so a killed application never half-writes it. The kill tests use this backend so
that they test the application, not the test keyring.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any

from keyring.errors import PasswordDeleteError
from keyrings.alt.escape import escape as escape_for_ini
from keyrings.alt.file import PlaintextKeyring

from pms_desktop.store.keys import KeyStore


class AtomicPlaintextKeyring(PlaintextKeyring):  # type: ignore[misc]
    def _config(self) -> configparser.RawConfigParser:
        config = configparser.RawConfigParser()
        config.read(self.file_path, encoding="utf-8")
        return config

    def _save(self, config: configparser.RawConfigParser) -> None:
        tmp = f"{self.file_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            config.write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.file_path)

    def _write_config_value(self, service: str, key: str, value: str) -> None:
        self._ensure_file_path()
        config = self._config()
        service, key = escape_for_ini(service), escape_for_ini(key)
        if not config.has_section(service):
            config.add_section(service)
        config.set(service, key, value)
        self._save(config)

    def delete_password(self, service: str, username: str) -> None:
        config = self._config()
        try:
            if not config.remove_option(escape_for_ini(service), escape_for_ini(username)):
                raise PasswordDeleteError("Password not found")
        except configparser.NoSectionError:
            raise PasswordDeleteError("Password not found") from None
        self._save(config)


class FileKeyStore(KeyStore):
    """The application's KeyStore over one keyring file of the test's own."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._keyring = AtomicPlaintextKeyring()
        self._keyring.file_path = str(path)

    def _backend(self) -> Any:
        return self._keyring


def file_keystore(path: Path) -> KeyStore:
    return FileKeyStore(path)
