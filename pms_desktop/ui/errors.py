"""The one place that shows errors to a person.

User errors (their message is written for people) are shown as they are; ``Cancelled`` is
silent; anything else is a bug: logged without patient data, shown as a calm generic message.
``PasswordChangeRequired`` (an admin reset the password of someone already signed in) goes to
the handler the session controller registers with ``on_password_change_required``, with the
session it refused: it opens the forced change once instead of an error box per refused call,
and only for the session signed in now (a late refusal of an earlier one is dropped). ``run_op``
hands it there as well before a screen's own error handler runs, so a screen that never calls
``show_error`` (a silent background check, a status label) still leads to the forced change.
A refused form marks its fields with ``mark_invalid`` / ``show_field_errors`` (style.qss draws
``[invalid="true"]``); what was typed stays.
"""

from __future__ import annotations

import logging
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from ..domain.errors import Cancelled, PasswordChangeRequired, UserError

log = logging.getLogger("pms_desktop.ui")

# A weak reference: a controller that is gone (tests make several) is not kept alive by it.
_password_change_handler: weakref.WeakMethod[Callable[[str | None], bool]] | None = None


def on_password_change_required(handler: Callable[[str | None], bool] | None) -> None:
    """Route ``PasswordChangeRequired`` to ``handler`` (a bound method), given the id of the
    session refused: it returns True when it took care of it (the forced change is open or about
    to be, or the refusal was an earlier session's and is dropped), False to show the message."""
    global _password_change_handler
    _password_change_handler = weakref.WeakMethod(handler) if handler is not None else None


def password_change_taken(error: BaseException) -> bool:
    """True when ``error`` is a ``PasswordChangeRequired`` the registered handler took care of
    (the forced change is open or about to be). Asking again while it is open opens nothing
    more, so both ``run_op``'s error delivery and ``show_error`` may ask."""
    if not isinstance(error, PasswordChangeRequired) or _password_change_handler is None:
        return False
    handler = _password_change_handler()
    return handler is not None and handler(error.session_id)


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
    if password_change_taken(error):
        return
    text = message_for(error)
    if text is None:
        return
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if isinstance(error, UserError)
                else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(text)
    box.setObjectName("errorBox")
    box.open()


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    """Draw ``widget`` as refused (or as normal again): the property style.qss keys on, and a
    re-polish so the change shows at once."""
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def show_field_errors(fields: Mapping[str, QWidget | Sequence[QWidget]],
                      errors: Mapping[str, str], summary: QLabel) -> None:
    """Mark the fields named in ``errors`` (a name may stand for several widgets), clear the
    others, and put the messages in ``summary``. Nothing typed is touched."""
    for name, widgets in fields.items():
        for widget in widgets if isinstance(widgets, Sequence) else (widgets,):
            mark_invalid(widget, name in errors)
    summary.setText("\n".join(errors.values()))
