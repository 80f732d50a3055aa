"""A patient's account (the "Account" tab of the patient file): balance, invoices, payments,
statement as PDF; new invoice (manager), take a payment on account, apply credit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ...services.billing_dto import InvoiceDetail, PatientAccount, PaymentInfo
from ..ops import run_op
from .billing_format import METHODS, Money, tr
from .billing_screen import table_view
from .invoice_editor import InvoiceEditor
from .invoice_table_model import InvoiceTableModel
from .payment_dialog import PaymentDialog, RefundDialog
from .pdf_output import print_pdf, print_receipt, save_pdf, save_receipt
from .rows_table_model import RowsTableModel


class PatientAccountPanel(QWidget):
    def __init__(self, ctx: Any, session: Any, patient_id: str, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.patient_id, self.main_window = (
            ctx,
            session,
            patient_id,
            main_window,
        )
        self.setObjectName("patientAccountPanel")
        self.money = Money.for_clinic(ctx)
        self.account: PatientAccount | None = None
        self.editor: InvoiceEditor | None = None
        self.payment_dialog: PaymentDialog | None = None
        v = QVBoxLayout(self)
        self.balance = QLabel()
        self.balance.setObjectName("accountBalance")
        self.balance.setStyleSheet("font-size: 16px; font-weight: 600")
        self.detail = QLabel()
        self.detail.setStyleSheet("color: #5f6b7a")
        v.addWidget(self.balance)
        v.addWidget(self.detail)
        bar = QHBoxLayout()
        if allows(session.role, Permission.BILLING):
            self._button(bar, tr("New invoice"), self._new_invoice)
        self._button(bar, tr("Take payment…"), self._take_payment)
        self._button(bar, tr("Open invoice"), self._open_selected)
        self.receipt_button = QPushButton()  # with a menu: framed like its neighbours
        self.receipt_button.setText(tr("Receipt"))
        self.receipt_button.setToolTip(tr("Print or save the receipt of the selected payment"))
        receipt_menu = QMenu(self.receipt_button)
        receipt_menu.addAction(tr("Print receipt…"), self._print_receipt)
        receipt_menu.addAction(tr("Save receipt PDF…"), self._save_receipt)
        self.receipt_button.setMenu(receipt_menu)
        bar.addWidget(self.receipt_button)
        self.credit_button = QPushButton()
        self.credit_button.setText(tr("Credit"))
        self.credit_button.setObjectName("accountCreditButton")
        self.credit_button.setToolTip(tr("Use or pay back the patient's credit"))
        credit_menu = QMenu(self.credit_button)
        self.apply_credit_action = credit_menu.addAction(
            tr("Apply credit to the selected invoice"), self._apply_credit
        )
        self.refund_action = credit_menu.addAction(tr("Refund credit…"), self._refund)
        self.credit_button.setMenu(credit_menu)
        self.credit_button.setEnabled(False)
        bar.addWidget(self.credit_button)
        self.refund_dialog: RefundDialog | None = None
        self.void_payment_button: QPushButton | None = None
        if allows(session.role, Permission.BILLING):
            self.void_payment_button = self._button(bar, tr("Void payment…"), self._void_payment)
            self.void_payment_button.setToolTip(
                tr("Cancel the selected payment or refund, recorded in error")
            )
        bar.addStretch(1)
        statement = QPushButton()
        statement.setText(tr("Statement"))
        statement.setToolTip(tr("The patient's account statement"))
        statement_menu = QMenu(statement)
        statement_menu.addAction(
            tr("Print statement…"), lambda: print_pdf(self, self._statement, tr("statement"))
        )
        statement_menu.addAction(
            tr("Save statement PDF…"), lambda: save_pdf(self, self._statement, "statement.pdf")
        )
        statement.setMenu(statement_menu)
        bar.addWidget(statement)
        v.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        self.invoices = InvoiceTableModel(self.money, self)
        self.invoice_proxy = QSortFilterProxyModel(self)
        self.invoice_proxy.setSourceModel(self.invoices)
        self.invoice_view = table_view(self.invoice_proxy, "accountInvoices", 3)
        self.invoice_view.doubleClicked.connect(lambda _i: self._open_selected())
        self.payments = RowsTableModel(
            [tr("Date"), tr("Receipt"), tr("Kind"), tr("Method"), tr("Amount"), tr("Unallocated")],
            (4, 5),
        )
        self.payment_view = table_view(self.payments, "accountPayments", 1)
        split.addWidget(self.invoice_view)
        split.addWidget(self.payment_view)
        v.addWidget(split, 1)
        self.reload()

    def _button(self, layout: QHBoxLayout, text: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.clicked.connect(slot)
        layout.addWidget(b)
        return b

    def reload(self) -> None:
        run_op(
            self,
            lambda: self.ctx.payments.patient_account(self.session, patient_id=self.patient_id),
            self._show,
        )

    def _show(self, acct: PatientAccount) -> None:
        self.account = acct
        if acct.balance_minor > 0:
            self.balance.setText(tr("Balance due: {v}").format(v=self.money(acct.balance_minor)))
            self.balance.setStyleSheet("font-size: 16px; font-weight: 600; color: #b3261e")
        elif acct.balance_minor < 0:
            self.balance.setText(tr("In credit: {v}").format(v=self.money(-acct.balance_minor)))
            self.balance.setStyleSheet("font-size: 16px; font-weight: 600; color: #2e7d32")
        else:
            self.balance.setText(tr("Account settled"))
            self.balance.setStyleSheet("font-size: 16px; font-weight: 600")
        self.detail.setText(
            tr("Invoiced {i} · credited {c} · paid {p} · refunded {r} · unallocated {u}").format(
                i=self.money(acct.invoiced_minor),
                c=self.money(acct.credited_minor),
                p=self.money(acct.paid_minor),
                r=self.money(acct.refunded_minor),
                u=self.money(acct.unallocated_credit_minor),
            )
        )
        self.credit_button.setEnabled(acct.unallocated_credit_minor > 0)
        self.invoices.set_items(list(acct.invoices))
        self.payments.set_rows(
            [
                [
                    self.money.when(p.received_at),
                    p.receipt_number or "",
                    tr(p.kind.title()),
                    tr(METHODS.get(p.method, p.method)),
                    self.money(p.amount_minor),
                    self.money(p.unallocated_minor) if p.unallocated_minor else "",
                ]
                for p in acct.payments
            ],
            list(acct.payments),
        )

    def _statement(self) -> bytes:
        return self.ctx.payments.statement_pdf(self.session, patient_id=self.patient_id)  # type: ignore[no-any-return]

    def _open(self, invoice_id: str) -> None:
        if self.editor is not None:
            self.editor.close()
        self.editor = InvoiceEditor(self.ctx, self.session, invoice_id, self.money, self)
        self.editor.invoice_changed.connect(lambda _i: self.reload())
        self.editor.status.connect(self._status)
        self.editor.open()

    def _open_selected(self) -> None:
        rows = self.invoice_view.selectionModel().selectedRows()
        if rows:
            inv = self.invoices.invoice_at(self.invoice_proxy.mapToSource(rows[0]).row())
            if inv:
                self._open(inv.id)

    def _new_invoice(self) -> None:
        def made(d: InvoiceDetail) -> None:
            self.reload()
            self._open(d.id)

        run_op(
            self,
            lambda: self.ctx.billing.create_invoice(
                self.session, patient_id=self.patient_id, lines=[]
            ),
            made,
        )

    def _take_payment(self) -> None:
        owing = self.account.balance_minor if self.account else 0
        self.payment_dialog = PaymentDialog(self.money, owing, tr("Oldest invoices first"), self)
        self.payment_dialog.accepted.connect(self._record)
        self.payment_dialog.open()

    def _record(self) -> None:
        assert self.payment_dialog is not None
        method, amount, ref = self.payment_dialog.values()
        wants_receipt = self.payment_dialog.print_receipt.isChecked()
        run_op(
            self,
            lambda: self.ctx.payments.take_payment(
                self.session,
                patient_id=self.patient_id,
                method=method,
                amount_minor=amount,
                reference=ref,
                auto_allocate=True,
            ),
            lambda p: (
                self.reload(),
                self._status(tr("Payment recorded: receipt {n}.").format(n=p.receipt_number)),
                wants_receipt and print_receipt(self, self.ctx, self.session, p),
            ),
        )

    def selected_payment(self) -> PaymentInfo | None:
        rows = self.payment_view.selectionModel().selectedRows()
        return self.payments.payload(rows[0].row()) if rows else None

    def _apply_credit(self) -> None:
        rows = self.invoice_view.selectionModel().selectedRows()
        inv = self.invoices.invoice_at(self.invoice_proxy.mapToSource(rows[0]).row()) if rows \
            else None
        if inv is None or inv.outstanding_minor <= 0:
            self._status(tr("Select an invoice that still has money owing."))
            return
        run_op(
            self,
            lambda: self.ctx.payments.apply_credit(
                self.session, patient_id=self.patient_id, invoice_id=inv.id
            ),
            lambda applied: (
                self.reload(),
                self._status(tr("{v} of credit applied to {n}.").format(
                    v=self.money(applied), n=inv.number or "")),
            ),
        )

    def _refund(self) -> None:
        credit = self.account.unallocated_credit_minor if self.account else 0
        if credit <= 0:
            return
        self.refund_dialog = RefundDialog(self.money, credit, self)
        self.refund_dialog.accepted.connect(self._record_refund)
        self.refund_dialog.open()

    def _record_refund(self) -> None:
        assert self.refund_dialog is not None
        method, amount, reason, ref = self.refund_dialog.values()
        run_op(
            self,
            lambda: self.ctx.payments.refund(
                self.session, patient_id=self.patient_id, amount_minor=amount, method=method,
                reason=reason, reference=ref,
            ),
            lambda p: (
                self.reload(),
                self._status(tr("Refund recorded: {n}.").format(n=p.receipt_number)),
            ),
        )

    def _print_receipt(self) -> None:
        pay = self.selected_payment()
        if pay is None:
            self._status(tr("Select a payment first."))
            return
        print_receipt(self, self.ctx, self.session, pay)

    def _save_receipt(self) -> None:
        pay = self.selected_payment()
        if pay is None:
            self._status(tr("Select a payment first."))
            return
        save_receipt(self, self.ctx, self.session, pay,
                     lambda p: self._status(tr("Saved {p}.").format(p=p)))

    def _void_payment(self) -> None:
        pay = self.selected_payment()
        if pay is None:
            self._status(tr("Select the payment to void first."))
            return
        reason, ok = QInputDialog.getText(
            self,
            tr("Void payment"),
            tr("Void {kind} {n} of {v}? It will no longer count in the balance or the takings.\n"
               "Why is it voided?").format(kind=tr(pay.kind), n=pay.receipt_number or "",
                                           v=self.money(pay.amount_minor)),
        )
        if not ok or not reason.strip():
            return
        run_op(
            self,
            lambda: self.ctx.payments.void_payment(
                self.session, payment_id=pay.id, reason=reason
            ),
            lambda p: (
                self.reload(),
                self._status(tr("Payment {n} voided.").format(n=p.receipt_number)),
            ),
        )

    def _status(self, text: str) -> None:
        if self.main_window is not None and hasattr(self.main_window, "show_status"):
            self.main_window.show_status(text)
