"""A row of buttons at their own width (a form, group or tab would stretch one across)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QWidget


def button_row(*buttons: QWidget, right: bool = False) -> QWidget:
    """The buttons side by side, on the left (or the right), the rest of the row left empty."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    if right:
        row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    if not right:
        row.addStretch(1)
    return box
