"""Where the workstation keeps window layout and per-user preferences (QSettings; no secrets)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION = "ClinicPMS"
APPLICATION = "Workstation"


def app_settings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)
