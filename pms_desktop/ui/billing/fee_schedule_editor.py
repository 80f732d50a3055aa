"""The fee schedule editor (practice manager): the list, and a form to add or change an item.
A refused save marks the refused fields (``show_field_errors``) and keeps what was typed; a
field's mark clears when the person edits it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ...domain.money import format_rate, parse_amount, to_decimal
from ...services.billing_dto import FeeItemInfo
from ..errors import mark_invalid, show_error, show_field_errors
from ..ops import run_op
from ..widgets.button_row import button_row
from .billing_format import Money, tr
from .rows_table_model import RowsTableModel


class FeeScheduleEditor(QWidget):
    status = Signal(str)

    def __init__(self, ctx: Any, session: Any, money: Money, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.money = ctx, session, money
        self.current: FeeItemInfo | None = None
        self.model = RowsTableModel(
            [tr("Code"), tr("Description"), tr("Price"), tr("Tax"), tr("Active")], (2, 3)
        )
        h = QHBoxLayout(self)
        left = QVBoxLayout()
        self.view = QTableView()
        self.view.setObjectName("feeTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setVisible(False)
        self.view.clicked.connect(lambda i: self._pick(self.model.payload(i.row())))
        left.addWidget(self.view)
        buttons = QHBoxLayout()
        new = QPushButton(tr("New item"))
        new.clicked.connect(lambda: self._pick(None))
        default = QPushButton(tr("Add missing default items"))
        default.clicked.connect(self._install_default)
        buttons.addWidget(new)
        buttons.addWidget(default)
        buttons.addStretch(1)
        left.addLayout(buttons)
        h.addLayout(left, 3)
        form_box = QWidget()
        form = QFormLayout(form_box)
        self.code, self.description = QLineEdit(), QLineEdit()
        self.price, self.tax = QLineEdit(), QLineEdit()
        self.tax.setPlaceholderText(tr("e.g. 23 for 23%"))
        self.active = QCheckBox(tr("Offered"))
        self.errors = QLabel()
        self.errors.setStyleSheet("color: #b3261e")
        self.errors.setWordWrap(True)
        for label, w in (
            (tr("Code"), self.code),
            (tr("Description"), self.description),
            (tr("Price"), self.price),
            (tr("Tax rate (%)"), self.tax),
            ("", self.active),
        ):
            form.addRow(label, w)
        # the service's field names (check_fee_item) to the widgets that hold them
        self.fields: dict[str, QWidget] = {
            "code": self.code, "description": self.description,
            "price": self.price, "tax_rate": self.tax,
        }
        for edit in (self.code, self.description, self.price, self.tax):
            edit.textEdited.connect(lambda _t, e=edit: mark_invalid(e, False))
        save = QPushButton(tr("Save item"))
        save.clicked.connect(self._save)
        save.setProperty("primary", True)
        form.addRow(self.errors)
        form.addRow("", button_row(save))  # under the fields, at its own width
        side = QVBoxLayout()  # the form at its own height: the messages are not squeezed
        side.addWidget(form_box)
        side.addStretch(1)
        h.addLayout(side, 2)
        self._pick(None)
        self.reload()

    def reload(self) -> None:
        run_op(
            self,
            lambda: self.ctx.billing.list_fee_items(self.session, include_inactive=True),
            self._show,
        )

    def _show(self, items: list[FeeItemInfo]) -> None:
        self.model.set_rows(
            [
                [
                    f.code,
                    f.description,
                    self.money(f.price_minor),
                    format_rate(f.tax_rate),
                    tr("Yes") if f.active else tr("No"),
                ]
                for f in items
            ],
            items,
        )

    def _pick(self, item: FeeItemInfo | None) -> None:
        self.current = item
        show_field_errors(self.fields, {}, self.errors)
        self.code.setText(item.code if item else "")
        self.description.setText(item.description if item else "")
        self.price.setText(str(to_decimal(item.price_minor, self.money.currency)) if item else "")
        self.tax.setText(f"{(item.tax_rate * 100).normalize():f}" if item else "0")
        self.active.setChecked(item.active if item else True)

    def _save(self) -> None:
        refused: dict[str, str] = {}
        price: int | None = None
        rate: Decimal | None = None
        try:
            price = parse_amount(self.price.text(), self.money.currency)
        except ValueError:
            refused["price"] = tr("Enter the price, like 60.00.")
        try:
            rate = Decimal(self.tax.text().strip().rstrip("%") or "0") / 100
            if not rate.is_finite():  # Decimal reads "nan" and "inf" as numbers
                raise InvalidOperation(self.tax.text())
        except InvalidOperation:
            refused["tax_rate"] = tr("Enter the tax rate as a percentage, like 23.")
        if refused or price is None or rate is None:
            show_field_errors(self.fields, refused, self.errors)
            return
        show_field_errors(self.fields, {}, self.errors)
        price_minor, tax_rate = price, rate
        item_id = self.current.id if self.current else None

        def failed(e: BaseException) -> None:
            if isinstance(e, ValidationError):
                errors = dict(e.field_errors)
                if "tax_rate" in errors:  # the service speaks of fractions; the form of percent
                    errors["tax_rate"] = tr("Enter the tax rate as a percentage from 0 to 100.")
                show_field_errors(self.fields, errors, self.errors)
            else:
                show_error(self, e)

        run_op(
            self,
            lambda: self.ctx.billing.save_fee_item(
                self.session,
                code=self.code.text(),
                description=self.description.text(),
                price_minor=price_minor,
                tax_rate=tax_rate,
                active=self.active.isChecked(),
                fee_item_id=item_id,
            ),
            lambda f: (
                self._pick(f),
                self.reload(),
                self.status.emit(tr("Fee item {c} saved.").format(c=f.code)),
            ),
            failed,
        )

    def _install_default(self) -> None:
        run_op(
            self,
            lambda: self.ctx.billing.install_default_fee_schedule(self.session),
            lambda n: (self.reload(), self.status.emit(tr("{n} default items added.").format(n=n))),
        )
