"""Take a payment: method, amount (partial allowed; more than owed stays as credit), reference."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ...domain.money import parse_amount, to_decimal
from .billing_format import METHODS, Money, tr


def _primary(buttons: QDialogButtonBox, text: str) -> None:
    """The OK button, marked primary before it is polished: its width then allows for the
    bold text (as the default button only, its bold came after its width: "ecord paymen")."""
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(text)
    ok.setProperty("primary", True)


class PaymentDialog(QDialog):
    """Collects the payment; the caller sends it to ``ctx.payments.take_payment``."""

    def __init__(
        self,
        money: Money,
        outstanding_minor: int,
        invoice_label: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.money = money
        self.setWindowTitle(tr("Take payment"))
        self.setObjectName("paymentDialog")
        form = QFormLayout(self)
        form.addRow(tr("Invoice"), QLabel(invoice_label))
        form.addRow(tr("Outstanding"), QLabel(money(outstanding_minor)))
        self.method = QComboBox()
        self.method.setObjectName("paymentMethod")
        for key, label in METHODS.items():
            self.method.addItem(tr(label), key)
        self.amount = QLineEdit(str(to_decimal(max(outstanding_minor, 0), money.currency)))
        self.amount.setObjectName("paymentAmount")
        self.amount.setAccessibleName(tr("Amount"))
        self.reference = QLineEdit()
        self.reference.setPlaceholderText(tr("Card slip, transfer or claim reference (optional)"))
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e")
        self.error.setObjectName("paymentError")
        form.addRow(tr("&Method"), self.method)  # Alt+M, Alt+A, Alt+E, Alt+P: the desk's keys
        form.addRow(tr("&Amount"), self.amount)
        form.addRow(tr("R&eference"), self.reference)
        self.print_receipt = QCheckBox(tr("&Print a receipt"))
        self.print_receipt.setObjectName("paymentPrintReceipt")
        form.addRow("", self.print_receipt)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        _primary(buttons, tr("Record payment"))
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(440)

    def amount_minor(self) -> int | None:
        try:
            value = parse_amount(self.amount.text(), self.money.currency)
        except ValueError:
            return None
        return value if value > 0 else None

    def _check(self) -> None:
        if self.amount_minor() is None:
            self.error.setText(tr("Enter an amount greater than zero, like 25.00."))
            self.amount.setFocus()
            return
        self.accept()

    def values(self) -> tuple[str, int, str | None]:
        return (
            self.method.currentData(),
            self.amount_minor() or 0,
            self.reference.text().strip() or None,
        )


class RefundDialog(QDialog):
    """Pay back part or all of a patient's credit: method, amount, reason (required)."""

    def __init__(self, money: Money, credit_minor: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.money, self.credit_minor = money, credit_minor
        self.setWindowTitle(tr("Refund"))
        self.setObjectName("refundDialog")
        form = QFormLayout(self)
        form.addRow(tr("Patient's credit"), QLabel(money(credit_minor)))
        self.method = QComboBox()
        for key, label in METHODS.items():
            self.method.addItem(tr(label), key)
        self.amount = QLineEdit(str(to_decimal(credit_minor, money.currency)))
        self.amount.setAccessibleName(tr("Amount"))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("Why the money is paid back"))
        self.reason.setAccessibleName(tr("Reason"))
        self.reference = QLineEdit()
        self.reference.setPlaceholderText(tr("Transfer or card reference (optional)"))
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e")
        form.addRow(tr("&Method"), self.method)
        form.addRow(tr("&Amount"), self.amount)
        form.addRow(tr("Rea&son"), self.reason)
        form.addRow(tr("R&eference"), self.reference)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        _primary(buttons, tr("Record refund"))
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(440)

    def amount_minor(self) -> int | None:
        try:
            value = parse_amount(self.amount.text(), self.money.currency)
        except ValueError:
            return None
        return value if 0 < value <= self.credit_minor else None

    def _check(self) -> None:
        mark = "border: 1px solid #b3261e"
        self.amount.setStyleSheet("")
        self.reason.setStyleSheet("")
        if self.amount_minor() is None:
            self.error.setText(tr("Enter an amount up to the patient's credit of {c}.").format(
                c=self.money(self.credit_minor)))
            self.amount.setStyleSheet(mark)
            self.amount.setFocus()
            return
        if not self.reason.text().strip():
            self.error.setText(tr("Say why the money is refunded."))
            self.reason.setStyleSheet(mark)
            self.reason.setFocus()
            return
        self.accept()

    def values(self) -> tuple[str, int, str, str | None]:
        return (
            self.method.currentData(),
            self.amount_minor() or 0,
            self.reason.text().strip(),
            self.reference.text().strip() or None,
        )
