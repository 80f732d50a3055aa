"""A dialog whose Save runs one service call off the GUI thread.

Save is off while the call runs; its answer closes the dialog (``saved``); a validation error
marks the fields it names (``error_fields``) with its messages under the form, keeps what was
typed and puts the cursor in the first field marked; any other error goes to ``show_error``.
Either way Save is the button Enter presses again, not Cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from ..domain.errors import ValidationError
from .errors import show_error, show_field_errors
from .ops import run_op


class SaveDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.saved: Any = None
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)

    def add_buttons(self, form: QFormLayout) -> None:
        """Save and Cancel as the form's last row."""
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        form.addRow(buttons)

    def save(self) -> None:
        raise NotImplementedError

    def error_fields(self) -> Mapping[str, QWidget | Sequence[QWidget]]:
        """The widgets of each field a validation error may name."""
        raise NotImplementedError

    def submit(self, work: Callable[[], Any]) -> None:
        self.save_button.setEnabled(False)
        run_op(self, work, self._done, self._failed)

    def _done(self, info: Any) -> None:
        self.saved = info
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        # Disabling Save moved the focus to Cancel, where Enter would close the dialog and
        # throw away what was typed: back to Save (or, below, to the first marked field).
        self.save_button.setFocus()
        if not isinstance(error, ValidationError):
            show_error(self, error)
            return
        show_field_errors(self.error_fields(), error.field_errors, self.error)
        # The messages under the form may take more lines than it had: grow to show them,
        # never shrinking a dialog the person made larger (as adjustSize would).
        self.resize(self.size().expandedTo(self.sizeHint()))
        self.errors_shown(error)

    def errors_shown(self, error: ValidationError) -> None:
        """After the fields are marked: the cursor goes to the first one marked."""
        for name, widgets in self.error_fields().items():
            if name in error.field_errors:
                first = widgets if isinstance(widgets, QWidget) else widgets[0]
                first.setFocus()
                return
