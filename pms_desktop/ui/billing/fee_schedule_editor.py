"""The fee schedule editor (practice manager): the list, and a form to add or change an item."""

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
from ..errors import show_error
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
        save = QPushButton(tr("Save item"))
        save.clicked.connect(self._save)
        save.setProperty("primary", True)
        form.addRow(self.errors)
        form.addRow("", button_row(save))  # under the fields, at its own width
        h.addWidget(form_box, 2)
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
        self.errors.setText("")
        self.code.setText(item.code if item else "")
        self.description.setText(item.description if item else "")
        self.price.setText(str(to_decimal(item.price_minor, self.money.currency)) if item else "")
        self.tax.setText(f"{(item.tax_rate * 100).normalize():f}" if item else "0")
        self.active.setChecked(item.active if item else True)

    def _save(self) -> None:
        try:
            price = parse_amount(self.price.text(), self.money.currency)
        except ValueError:
            self.errors.setText(tr("Enter the price, like 60.00."))
            return
        try:
            rate = Decimal(self.tax.text().strip().rstrip("%") or "0") / 100
            if not rate.is_finite():  # Decimal reads "nan" and "inf" as numbers
                raise InvalidOperation(self.tax.text())
        except InvalidOperation:
            self.errors.setText(tr("Enter the tax rate as a percentage, like 23."))
            return
        item_id = self.current.id if self.current else None

        def failed(e: BaseException) -> None:
            if isinstance(e, ValidationError):
                self.errors.setText("\n".join(e.field_errors.values()))
            else:
                show_error(self, e)

        run_op(
            self,
            lambda: self.ctx.billing.save_fee_item(
                self.session,
                code=self.code.text(),
                description=self.description.text(),
                price_minor=price,
                tax_rate=rate,
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
