"""The Billing screen: invoices with filters, today's completed appointments not yet invoiced
("Create invoice"), and the fee schedule for the manager. Opening an invoice shows the
``InvoiceEditor``. Built as ``BillingScreen(ctx, session, main_window)``."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, QSortFilterProxyModel
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.permissions import Permission, allows
from ...services.billing_dto import InvoiceDetail, InvoiceSummary, UninvoicedAppointment
from ..ops import run_op
from ..patients.patient_picker import PatientPickerDialog
from ..widgets.dates import DAY
from .billing_format import Money, tr
from .fee_schedule_editor import FeeScheduleEditor
from .invoice_editor import InvoiceEditor
from .invoice_table_model import InvoiceTableModel
from .pdf_output import save_pdf
from .rows_table_model import SORT_ROLE, RowsTableModel

FILTERS = (
    ("Outstanding", None, True),
    ("All invoices", None, False),
    ("Drafts", "draft", False),
    ("Issued", "issued", False),
    ("Void", "void", False),
)


def table_view(model: Any, name: str, stretch: int = 2) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)  # numbers and dates on one line, sized to fit (at most 1,000 rows read)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class BillingScreen(QWidget):
    def __init__(self, ctx: Any, session: Any, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.setObjectName("billingScreen")
        self.money = Money.for_clinic(ctx)
        self.can_bill = allows(session.role, Permission.BILLING)
        self.editor: InvoiceEditor | None = None
        self.picker: PatientPickerDialog | None = None
        self.tabs = QTabWidget()
        title = QLabel(tr("Billing"))
        title.setObjectName("screenTitle")  # titled like Patients, Waiting room, Administration
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addWidget(title)
        layout.addWidget(self.tabs)
        self.tabs.addTab(self._invoices_tab(), tr("Invoices"))
        if self.can_bill:
            self.tabs.addTab(self._uninvoiced_tab(), tr("Not yet invoiced"))
            self.fees = FeeScheduleEditor(ctx, session, self.money)
            self.fees.status.connect(self.show_status)
            self.tabs.addTab(self.fees, tr("Fee schedule"))
        self.refresh()

    # --- invoices -----------------------------------------------------------------------
    def _invoices_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        bar = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.setObjectName("invoiceFilter")
        self.filter.setAccessibleName(tr("Show"))
        for label, _status, _owing in FILTERS:
            self.filter.addItem(tr(label))
        self.filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.since = QDateEdit(QDate.currentDate().addDays(-90))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat(DAY)
        self.since.dateChanged.connect(lambda _d: self.refresh())
        refresh = QPushButton(tr("Refresh"))
        refresh.clicked.connect(self.refresh)
        QShortcut(QKeySequence("F5"), self, activated=self.refresh)
        for x in (QLabel(tr("Show")), self.filter, QLabel(tr("since")), self.since):
            bar.addWidget(x)
        bar.addStretch(1)
        bar.addWidget(refresh)
        v.addLayout(bar)
        self.invoice_model = InvoiceTableModel(self.money, self)
        self.invoice_proxy = QSortFilterProxyModel(self)
        self.invoice_proxy.setSourceModel(self.invoice_model)
        self.invoice_view = table_view(self.invoice_proxy, "invoiceTable", 2)
        self.invoice_view.doubleClicked.connect(lambda _i: self.open_selected())
        v.addWidget(self.invoice_view, 1)
        actions = QHBoxLayout()
        self.open_button = QPushButton(tr("Open invoice"))
        self.open_button.setShortcut(QKeySequence("Ctrl+O"))
        self.open_button.clicked.connect(self.open_selected)
        self.pdf_button = QPushButton(tr("Save PDF…"))
        self.pdf_button.clicked.connect(self._save_selected_pdf)
        self.summary = QLabel()
        self.summary.setStyleSheet("color: #5f6b7a")
        actions.addWidget(self.summary)
        actions.addStretch(1)
        if self.can_bill:
            self.new_button = QPushButton(tr("New invoice…"))
            self.new_button.setObjectName("newInvoiceButton")
            self.new_button.setToolTip(tr("An invoice not tied to an appointment: choose the "
                                          "patient, then add lines from the fee schedule"))
            self.new_button.clicked.connect(self.new_standalone_invoice)
            actions.addWidget(self.new_button)
        actions.addWidget(self.pdf_button)
        actions.addWidget(self.open_button)
        v.addLayout(actions)
        return w

    def refresh(self) -> None:
        _label, status, owing = FILTERS[self.filter.currentIndex()]
        since = self.since.date().toPython()
        run_op(
            self,
            lambda: self.ctx.billing.list_invoices(
                self.session,
                status=status,
                outstanding_only=owing,
                date_from=None if owing else since,
            ),
            self._show_invoices,
        )
        if self.can_bill and hasattr(self, "day"):
            self.refresh_uninvoiced()

    def _show_invoices(self, items: list[InvoiceSummary]) -> None:
        self.invoice_model.set_items(items)
        owing = sum(i.outstanding_minor for i in items)
        self.summary.setText(
            tr("{n} invoices · {o} outstanding").format(n=len(items), o=self.money(owing))
        )

    def selected_invoice(self) -> InvoiceSummary | None:
        rows = self.invoice_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.invoice_model.invoice_at(self.invoice_proxy.mapToSource(rows[0]).row())

    def open_selected(self) -> None:
        inv = self.selected_invoice()
        if inv is not None:
            self.open_invoice(inv.id)

    def open_invoice(self, invoice_id: str) -> InvoiceEditor:
        if self.editor is not None:
            self.editor.close()
        self.editor = InvoiceEditor(self.ctx, self.session, invoice_id, self.money, self)
        self.editor.invoice_changed.connect(lambda _id: self.refresh())
        self.editor.status.connect(self.show_status)
        self.editor.open()
        return self.editor

    def new_standalone_invoice(self) -> None:
        """Choose the patient, then open a new draft invoice for them."""
        self.picker = PatientPickerDialog(self.ctx, self.session, tr("New invoice: which patient?"),
                                          self)
        self.picker.accepted.connect(self._create_for_chosen)
        self.picker.open()

    def _create_for_chosen(self) -> None:
        patient = self.picker.chosen if self.picker else None
        if patient is None:
            return

        def made(detail: InvoiceDetail) -> None:
            self.refresh()
            self.open_invoice(detail.id)
            self.show_status(tr("Draft invoice created for {p}.").format(p=patient.display_name))

        run_op(
            self,
            lambda: self.ctx.billing.create_invoice(self.session, patient_id=patient.id, lines=[]),
            made,
        )

    def _save_selected_pdf(self) -> None:
        inv = self.selected_invoice()
        if inv is None:
            return
        save_pdf(
            self,
            lambda: self.ctx.billing.invoice_pdf(self.session, invoice_id=inv.id),
            f"{inv.number or 'invoice-draft'}.pdf",
            lambda p: self.show_status(tr("Saved {p}.").format(p=p)),
        )

    # --- not yet invoiced ---------------------------------------------------------------
    def _uninvoiced_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        bar = QHBoxLayout()
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat(DAY)
        self.day.dateChanged.connect(lambda _d: self.refresh_uninvoiced())
        bar.addWidget(QLabel(tr("Completed appointments on")))
        bar.addWidget(self.day)
        bar.addStretch(1)
        v.addLayout(bar)
        self.uninvoiced_model = RowsTableModel(
            [tr("Time"), tr("Practitioner"), tr("Patient"), tr("Type"), tr("Fee")]
        )
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.uninvoiced_model)
        proxy.setSortRole(SORT_ROLE)
        self.uninvoiced_proxy = proxy
        self.uninvoiced_view = table_view(proxy, "uninvoicedTable", 2)
        self.uninvoiced_view.doubleClicked.connect(lambda _i: self.create_selected_invoice())
        v.addWidget(self.uninvoiced_view, 1)
        row = QHBoxLayout()
        self.uninvoiced_note = QLabel()
        self.uninvoiced_note.setStyleSheet("color: #5f6b7a")
        self.create_button = QPushButton(tr("Create invoice"))
        self.create_button.setObjectName("createInvoiceButton")
        self.create_button.setShortcut(QKeySequence("Ctrl+N"))
        self.create_button.clicked.connect(self.create_selected_invoice)
        self.create_button.setEnabled(False)  # offered once an appointment is chosen
        self.uninvoiced_view.selectionModel().selectionChanged.connect(
            lambda *_a: self._update_create_button()
        )
        row.addWidget(self.uninvoiced_note)
        row.addStretch(1)
        row.addWidget(self.create_button)
        v.addLayout(row)
        return w

    def refresh_uninvoiced(self) -> None:
        day: date = self.day.date().toPython()
        run_op(
            self,
            lambda: self.ctx.billing.list_uninvoiced(self.session, date_from=day),
            self._show_uninvoiced,
        )

    def _show_uninvoiced(self, items: list[UninvoicedAppointment]) -> None:
        self.uninvoiced_model.set_rows(
            [
                [
                    self.money.when(u.start_at)[-5:],
                    u.practitioner_name,
                    u.patient_name,
                    u.type_name or "",
                    u.fee_code or "",
                ]
                for u in items
            ],
            items,
        )
        self.uninvoiced_note.setText(
            tr("Nothing left to invoice.")
            if not items
            else tr("{n} completed appointments have no invoice yet.").format(n=len(items))
        )
        if items:
            self.uninvoiced_view.selectRow(0)
        self._update_create_button()  # a reset list may clear the choice without a signal

    def _update_create_button(self) -> None:
        self.create_button.setEnabled(self.uninvoiced_view.selectionModel().hasSelection())

    def create_selected_invoice(self) -> None:
        rows = self.uninvoiced_view.selectionModel().selectedRows()
        if not rows:
            return
        item: UninvoicedAppointment = self.uninvoiced_model.payload(
            self.uninvoiced_proxy.mapToSource(rows[0]).row()
        )

        def made(detail: InvoiceDetail) -> None:
            self.refresh()
            self.open_invoice(detail.id)
            self.show_status(tr("Draft invoice created for {p}.").format(p=item.patient_name))

        run_op(
            self,
            lambda: self.ctx.billing.create_invoice_from_appointment(
                self.session, appointment_id=item.appointment_id
            ),
            made,
        )

    def show_status(self, text: str) -> None:
        if self.main_window is not None and hasattr(self.main_window, "show_status"):
            self.main_window.show_status(text)
