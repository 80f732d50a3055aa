"""The one place that shows errors to a person.

User errors (their message is written for people) are shown as they are; ``Cancelled`` is
silent; anything else is a bug: logged without patient data, shown as a calm generic message.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from ..domain.errors import Cancelled, UserError

log = logging.getLogger("pms_desktop.ui")


def message_for(error: BaseException) -> str | None:
    if isinstance(error, Cancelled):
        return None
    if isinstance(error, UserError):
        return str(error)
    # Log the type and the stack only: messages of foreign errors may carry patient data.
    frames = "".join(traceback.format_tb(error.__traceback__)) if error.__traceback__ else ""
    log.error("unexpected %s\n%s", type(error).__name__, frames)
    return (
        "Something went wrong and the last action did not complete. Nothing else was changed. "
        "If it happens again, please tell your administrator."
    )


def show_error(parent: QWidget | None, error: BaseException, title: str = "Clinic") -> None:
    text = message_for(error)
    if text is None:
        return
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if isinstance(error, UserError) else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(text)
    box.setObjectName("errorBox")
    box.open()
