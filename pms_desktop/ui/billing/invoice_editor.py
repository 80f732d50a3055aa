"""The invoice editor: a draft's lines from the fee schedule, then issue, take payment, credit
note, void, print or save as PDF. An issued invoice is shown read-only (the service refuses
edits anyway). Every service call runs off the GUI thread.

Bad cells are marked (tinted as style.qss draws a refused field, with the reason as tooltip):
a quantity, price or discount that cannot be read or that the line cannot have, as it is typed;
a cell the service refused on save or issue (``lines[n].description`` ...), until it is edited.
What was typed stays."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.errors import ValidationError
from ...domain.money import (
    format_rate,
    invoice_totals,
    line_amounts,
    parse_amount,
    round_minor,
    to_decimal,
)
from ...domain.permissions import Permission, allows
from ...services.billing_dto import FeeItemInfo, InvoiceDetail, LineInput
from ..errors import show_error
from ..ops import run_op
from ..theme import ALERT_RED
from .billing_format import STATUSES, Money, tr
from .payment_dialog import PaymentDialog
from .pdf_output import print_pdf, print_receipt, save_pdf

COLS = ("Code", "Description", "Qty", "Unit price", "Discount", "Tax", "Net")
EDITABLE = (1, 2, 3, 4)
QTY, PRICE, DISCOUNT = 2, 3, 4
# A cell's reason for being marked (None: not marked); REFUSED: the service's, kept until edited.
INVALID = Qt.ItemDataRole.UserRole + 1
REFUSED = Qt.ItemDataRole.UserRole + 2
# style.qss's [invalid="true"] colours (an item is not a widget: QSS cannot select it)
INVALID_BACKGROUND, INVALID_TEXT = QColor("#fff7f6"), QColor(ALERT_RED)
# the service's per-line field names (billing_fees.build_lines) to the columns that hold them
SERVICE_COLUMNS = {"description": (1,), "unit_price": (PRICE,), "": (QTY, PRICE, DISCOUNT)}


class MarkedCells(QStyledItemDelegate):
    """Draws a marked cell's border as style.qss draws a refused field's (a tint alone does not
    show on an empty cell)."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        if index.data(INVALID):
            painter.save()
            painter.setPen(INVALID_TEXT)
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))  # type: ignore[attr-defined]
            painter.restore()


class InvoiceEditor(QDialog):
    invoice_changed = Signal(str)
    status = Signal(str)

    def __init__(
        self, ctx: Any, session: Any, invoice_id: str, money: Money, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.invoice_id, self.money = ctx, session, invoice_id, money
        self.detail: InvoiceDetail | None = None
        self.fees: list[FeeItemInfo] = []
        self.payment_dialog: PaymentDialog | None = None
        self.busy = False
        self.setObjectName("invoiceEditor")
        self.setWindowTitle(tr("Invoice"))
        self.resize(860, 560)
        self._build()
        self.reload()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        v = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("invoiceHeading")
        self.heading.setStyleSheet("font-size: 17px; font-weight: 600; color: #1f4e79")
        self.subheading = QLabel()
        self.subheading.setStyleSheet("color: #5f6b7a")
        v.addWidget(self.heading)
        v.addWidget(self.subheading)
        add = QHBoxLayout()
        self.fee_combo = QComboBox()
        self.fee_combo.setObjectName("feeCombo")
        self.fee_combo.setAccessibleName(tr("Fee schedule item"))
        self.fee_combo.setMinimumWidth(340)
        self.add_button = QPushButton(tr("Add line"))
        self.add_button.clicked.connect(self._add_fee_line)
        self.remove_button = QPushButton(tr("Remove line"))
        self.remove_button.clicked.connect(self._remove_line)
        self.fee_label = QLabel(tr("Service:"))
        for w in (self.fee_label, self.fee_combo, self.add_button, self.remove_button):
            add.addWidget(w)
        add.addStretch(1)
        v.addLayout(add)
        self.table = QTableWidget(0, len(COLS))
        self.table.setObjectName("invoiceLines")
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLS])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setItemDelegate(MarkedCells(self.table))
        self.table.itemChanged.connect(self._edited)
        v.addWidget(self.table, 1)
        self.totals = QLabel()
        self.totals.setObjectName("invoiceTotals")
        self.totals.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.totals.setStyleSheet("font-size: 13px")
        v.addWidget(self.totals)
        self.message = QLabel()
        self.message.setStyleSheet("color: #b3261e")
        v.addWidget(self.message)
        row = QHBoxLayout()
        self.save_button = self._button(row, tr("Save draft"), self._save, "Ctrl+S")
        self.issue_button = self._button(row, tr("Issue invoice"), self._issue, "Ctrl+Return")
        self.pay_button = self._button(row, tr("Take payment…"), self._take_payment, "Ctrl+P")
        self.credit_button = self._button(row, tr("Credit note…"), self._credit)
        self.void_button = self._button(row, tr("Void…"), self._void)
        row.addStretch(1)
        self.print_button = self._button(row, tr("Print…"), self._print)
        self.pdf_button = self._button(row, tr("Save PDF…"), self._save_pdf)
        self.credit_notes_button = QToolButton()
        self.credit_notes_button.setText(tr("Credit notes"))
        self.credit_notes_button.setObjectName("creditNotesButton")
        self.credit_notes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.credit_notes_menu = QMenu(self.credit_notes_button)
        self.credit_notes_button.setMenu(self.credit_notes_menu)
        self.credit_notes_button.setVisible(False)
        row.addWidget(self.credit_notes_button)
        self._button(row, tr("Close"), self.close)
        v.addLayout(row)

    def _button(
        self, layout: QHBoxLayout, text: str, slot: Any, shortcut: str | None = None
    ) -> QPushButton:
        b = QPushButton(text)
        b.clicked.connect(slot)
        if shortcut:
            QShortcut(QKeySequence(shortcut), self, activated=b.click)
            b.setToolTip(f"{text} ({shortcut})")
        layout.addWidget(b)
        return b

    # --- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        can_bill = allows(self.session.role, Permission.BILLING)

        def work() -> tuple[InvoiceDetail, list[FeeItemInfo]]:
            detail = self.ctx.billing.get_invoice(self.session, invoice_id=self.invoice_id)
            fees = (
                self.ctx.billing.list_fee_items(self.session)
                if can_bill and detail.summary.status == "draft"
                else []
            )
            return detail, fees

        self._run(work, self._loaded)

    def _loaded(self, result: tuple[InvoiceDetail, list[FeeItemInfo]]) -> None:
        self.detail, fees = result
        if fees:
            self.fees = fees
            self.fee_combo.clear()
            for f in fees:
                self.fee_combo.addItem(
                    f"{f.code} — {f.description} ({self.money(f.price_minor)})", f.code
                )
        self._show()

    def _show(self) -> None:
        d = self.detail
        assert d is not None
        s = d.summary
        draft = s.status == "draft"
        can_bill = allows(self.session.role, Permission.BILLING)
        self._credit_note_menu(d.credit_notes)
        self.heading.setText(
            tr("Invoice {n}").format(n=s.number) if s.number else tr("Draft invoice")
        )
        self.setWindowTitle(self.heading.text())
        self.subheading.setText(
            " · ".join(
                x
                for x in (
                    s.patient_name,
                    s.practitioner_name or "",
                    tr(STATUSES.get(s.status, s.status)),
                    d.void_reason and tr("Void: {r}").format(r=d.void_reason) or "",
                )
                if x
            )
        )
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for line in d.lines:
            self._append_row(
                line.code,
                line.description,
                line.quantity,
                line.unit_price_minor,
                line.discount_minor,
                line.tax_rate,
                editable=draft and can_bill,
            )
        self.table.blockSignals(False)
        for w in (
            self.fee_label,
            self.fee_combo,
            self.add_button,
            self.remove_button,
            self.save_button,
            self.issue_button,
        ):
            w.setVisible(draft and can_bill)
        self.pay_button.setVisible(s.status == "issued" and s.outstanding_minor > 0)
        self.credit_button.setVisible(
            s.status == "issued" and can_bill and s.credited_minor < s.total_minor
        )
        self.void_button.setVisible(
            s.status != "void" and can_bill and s.paid_minor == 0 and s.credited_minor == 0
        )
        self._update_totals()

    def _append_row(
        self,
        code: str | None,
        description: str,
        qty: Decimal,
        price: int,
        discount: int,
        rate: Decimal,
        *,
        editable: bool = True,
    ) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        cur = self.money.currency
        # An amount to type over is a plain number; one to read ("€60.00") is written as the
        # net and the totals beside it are (parse_amount reads both).
        amount = (lambda m: str(to_decimal(m, cur))) if editable else self.money
        values = (
            code or "",
            description,
            f"{qty.normalize():f}",
            amount(price),
            amount(discount) if discount else "",
            format_rate(rate),
            "",
        )
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            if c >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            flags = item.flags()
            if not (editable and c in EDITABLE):
                flags &= ~Qt.ItemFlag.ItemIsEditable
            item.setFlags(flags)
            if c == 5:
                item.setData(Qt.ItemDataRole.UserRole, rate)
            self.table.setItem(r, c, item)

    # --- editing ------------------------------------------------------------------------
    def _add_fee_line(self) -> None:
        code = self.fee_combo.currentData()
        fee = next((f for f in self.fees if f.code == code), None)
        if fee is None:
            return
        self.table.blockSignals(True)
        self._append_row(fee.code, fee.description, Decimal(1), fee.price_minor, 0, fee.tax_rate)
        self.table.blockSignals(False)
        self._update_totals()

    def _remove_line(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows or ([self.table.rowCount() - 1] if self.table.rowCount() else []):
            self.table.removeRow(r)
        self._update_totals()

    def lines(self) -> list[LineInput]:
        """The table as typed; ValueError names the first bad line (``bad_cells`` the cells)."""
        out, bad = self._read()
        if bad:
            raise ValueError(next(iter(bad.values())))
        return out

    def bad_cells(self) -> dict[tuple[int, int], str]:
        """(row, column) of each quantity, price or discount that cannot be read as typed or
        that its line cannot have, with the line's reason."""
        return self._read()[1]

    def _read(self) -> tuple[list[LineInput], dict[tuple[int, int], str]]:
        out: list[LineInput] = []
        bad: dict[tuple[int, int], str] = {}
        cur = self.money.currency
        unreadable = tr("Line {n}: check the quantity, price and discount.")
        for r in range(self.table.rowCount()):
            text = [
                self.table.item(r, c).text().strip() if self.table.item(r, c) else ""
                for c in range(7)
            ]
            cells: list[int] = []
            qty, price, discount = Decimal(0), 0, 0
            try:
                qty = Decimal(text[QTY].replace(",", "."))
                if not qty.is_finite():  # Decimal reads "nan" and "inf" as numbers
                    cells.append(QTY)
            except InvalidOperation:
                cells.append(QTY)
            try:
                price = parse_amount(text[PRICE], cur)
            except ValueError:
                cells.append(PRICE)
            try:
                discount = parse_amount(text[DISCOUNT], cur) if text[DISCOUNT] else 0
            except ValueError:
                cells.append(DISCOUNT)
            reason = unreadable if cells else ""
            if not cells:  # readable: what line_amounts refuses, on the cell that causes it
                if qty <= 0:
                    cells, reason = [QTY], tr("Line {n}: the quantity must be more than 0.")
                elif price < 0 or discount < 0:
                    cells = [c for c, v in ((PRICE, price), (DISCOUNT, discount)) if v < 0]
                    reason = tr("Line {n}: amounts cannot be negative.")
                elif discount > round_minor(qty * price):
                    cells = [DISCOUNT]
                    reason = tr("Line {n}: the discount is larger than the line.")
            for c in cells:
                bad[(r, c)] = reason.format(n=r + 1)
            rate = self.table.item(r, 5).data(Qt.ItemDataRole.UserRole)
            out.append(
                LineInput(
                    description=text[1],
                    quantity=qty,
                    unit_price_minor=price,
                    discount_minor=discount,
                    tax_rate=Decimal(rate),
                    fee_code=text[0] or None,
                )
            )
        return out, bad

    # --- marks --------------------------------------------------------------------------
    def cell_mark(self, row: int, column: int) -> str | None:
        """Why the cell is marked, or None."""
        item = self.table.item(row, column)
        return item.data(INVALID) if item is not None else None

    def _edited(self, item: QTableWidgetItem) -> None:
        if item.data(REFUSED) is not None:  # the person is correcting what the service refused
            self.table.blockSignals(True)
            item.setData(REFUSED, None)
            self.table.blockSignals(False)
        self._update_totals()

    def _paint_marks(self, bad: dict[tuple[int, int], str]) -> None:
        """Mark ``bad`` cells and those the service refused; clear the rest (with signals
        blocked: a mark is not an edit)."""
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            for c in EDITABLE:
                item = self.table.item(r, c)
                if item is None:
                    continue
                reason = bad.get((r, c)) or item.data(REFUSED)
                if reason == item.data(INVALID):
                    continue
                item.setData(INVALID, reason)
                item.setToolTip(reason or "")
                item.setData(Qt.ItemDataRole.BackgroundRole, INVALID_BACKGROUND if reason else None)
                item.setData(Qt.ItemDataRole.ForegroundRole, INVALID_TEXT if reason else None)
        self.table.blockSignals(False)

    def _refused(self, error: BaseException) -> None:
        """A save or issue the service refused: its per-line errors mark their cells, all of
        them are shown under the lines; anything else is an error box."""
        if not isinstance(error, ValidationError):
            show_error(self, error)
            return
        self.table.blockSignals(True)
        for key, text in error.field_errors.items():
            m = re.fullmatch(r"lines\[(\d+)\](?:\.(\w+))?", key)
            if m is None:
                continue
            for c in SERVICE_COLUMNS.get(m.group(2) or "", ()):
                item = self.table.item(int(m.group(1)), c)
                if item is not None:
                    item.setData(REFUSED, text)
        self.table.blockSignals(False)
        self._paint_marks(self.bad_cells())
        self.message.setText("\n".join(error.field_errors.values()))

    def _update_totals(self) -> None:
        d = self.detail
        rounding = d.tax_rounding if d else "line"
        lines, bad = self._read()
        self._paint_marks(bad)
        try:
            if bad:
                raise ValueError(next(iter(bad.values())))
            amounts = [
                line_amounts(
                    x.quantity, x.unit_price_minor or 0, x.discount_minor, x.tax_rate or Decimal(0)
                )
                for x in lines
            ]
        except ValueError as e:
            self.message.setText(str(e))
            return
        refused = [
            item.data(REFUSED)
            for r in range(self.table.rowCount())
            for c in EDITABLE
            if (item := self.table.item(r, c)) is not None and item.data(REFUSED) is not None
        ]
        self.message.setText("\n".join(dict.fromkeys(refused)))
        self.table.blockSignals(True)
        for r, a in enumerate(amounts):
            self.table.item(r, 6).setText(self.money(a.net_minor))
        self.table.blockSignals(False)
        t = invoice_totals(amounts, rounding)
        parts = [
            tr("Net {v}").format(v=self.money(t.net_minor)),
            tr("Tax {v}").format(v=self.money(t.tax_minor)),
            "<b>" + tr("Total {v}").format(v=self.money(t.total_minor)) + "</b>",
        ]
        if d and d.summary.status == "issued":
            parts += [tr("Paid {v}").format(v=self.money(d.summary.paid_minor))]
            if d.summary.credited_minor:
                parts += [tr("Credited {v}").format(v=self.money(d.summary.credited_minor))]
            parts += [
                "<b>"
                + tr("Outstanding {v}").format(v=self.money(d.summary.outstanding_minor))
                + "</b>"
            ]
        self.totals.setText(" &nbsp;·&nbsp; ".join(parts))

    # --- actions ------------------------------------------------------------------------
    def _run(self, fn: Any, done: Any, refused: Any = None) -> None:
        self.busy = True

        def ok(result: Any) -> None:
            self.busy = False
            done(result)

        def failed(error: BaseException) -> None:
            self.busy = False
            (refused or (lambda e: show_error(self, e)))(error)

        run_op(self, fn, ok, failed, label=tr("Working…"))

    def _changed(self, text: str) -> Any:
        def after(detail: InvoiceDetail | None) -> None:
            if isinstance(detail, InvoiceDetail):
                self.detail = detail
                self._show()
            else:
                self.reload()
            self.invoice_changed.emit(self.invoice_id)
            self.status.emit(text)

        return after

    def _save(self) -> None:
        try:
            lines = self.lines()
        except ValueError as e:
            self.message.setText(str(e))
            return
        self._run(
            lambda: self.ctx.billing.update_draft(
                self.session, invoice_id=self.invoice_id, lines=lines
            ),
            self._changed(tr("Draft saved.")),
            self._refused,
        )

    def _issue(self) -> None:
        try:
            lines = self.lines()
        except ValueError as e:
            self.message.setText(str(e))
            return

        def work() -> InvoiceDetail:
            self.ctx.billing.update_draft(self.session, invoice_id=self.invoice_id, lines=lines)
            return self.ctx.billing.issue_invoice(self.session, invoice_id=self.invoice_id)

        self._run(work, self._changed(tr("Invoice issued.")), self._refused)

    def _take_payment(self) -> None:
        s = self.detail.summary if self.detail else None
        if s is None:
            return
        self.payment_dialog = PaymentDialog(self.money, s.outstanding_minor, s.number or "", self)
        self.payment_dialog.accepted.connect(self._record_payment)
        self.payment_dialog.open()

    def _record_payment(self) -> None:
        assert self.payment_dialog is not None and self.detail is not None
        method, amount, reference = self.payment_dialog.values()
        wants_receipt = self.payment_dialog.print_receipt.isChecked()
        pid = self.detail.summary.patient_id
        self._run(
            lambda: self.ctx.payments.take_payment(
                self.session,
                patient_id=pid,
                method=method,
                amount_minor=amount,
                invoice_id=self.invoice_id,
                reference=reference,
            ),
            lambda p: (
                self._changed(tr("Payment recorded: receipt {n}.").format(n=p.receipt_number))(
                    None
                ),
                wants_receipt and print_receipt(self, self.ctx, self.session, p),
            ),
        )

    def _credit(self) -> None:
        reason, ok = QInputDialog.getText(
            self,
            tr("Credit note"),
            tr("Reason for the credit note (selected lines, or everything not yet credited):"),
        )
        if not ok or not reason.strip():
            return
        assert self.detail is not None
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        ids = [self.detail.lines[r].id for r in rows if r < len(self.detail.lines)] or None
        self._run(
            lambda: self.ctx.billing.issue_credit_note(
                self.session, invoice_id=self.invoice_id, reason=reason, line_ids=ids
            ),
            lambda cn: self._changed(tr("Credit note {n} issued.").format(n=cn.number))(None),
        )

    def _void(self) -> None:
        reason, ok = QInputDialog.getText(
            self, tr("Void invoice"), tr("Why is this invoice voided?")
        )
        if not ok or not reason.strip():
            return
        self._run(
            lambda: self.ctx.billing.void_invoice(
                self.session, invoice_id=self.invoice_id, reason=reason
            ),
            self._changed(tr("Invoice voided.")),
        )

    def _credit_note_menu(self, notes: tuple[Any, ...]) -> None:
        self.credit_notes_menu.clear()
        for cn in notes:
            def make(cn_id: str = cn.id) -> bytes:
                return self.ctx.billing.credit_note_pdf(self.session, credit_note_id=cn_id)  # type: ignore[no-any-return]

            label = f"{cn.number} · {self.money(cn.total_minor)}"
            self.credit_notes_menu.addAction(
                tr("Print {n}…").format(n=label),
                lambda m=make, n=cn.number: print_pdf(
                    self, m, n, lambda _p: self.status.emit(tr("Sent to the printer."))
                ),
            )
            self.credit_notes_menu.addAction(
                tr("Save {n} as PDF…").format(n=cn.number),
                lambda m=make, n=cn.number: save_pdf(
                    self, m, n + ".pdf", lambda p: self.status.emit(tr("Saved {p}.").format(p=p))
                ),
            )
        self.credit_notes_button.setVisible(bool(notes))

    def _pdf_name(self) -> str:
        s = self.detail.summary if self.detail else None
        return s.number if s and s.number else "invoice-draft"

    def _make_pdf(self) -> bytes:
        return self.ctx.billing.invoice_pdf(self.session, invoice_id=self.invoice_id)  # type: ignore[no-any-return]

    def _print(self) -> None:
        print_pdf(
            self,
            self._make_pdf,
            self._pdf_name(),
            lambda pages: self.status.emit(tr("Sent to the printer.")),
        )

    def _save_pdf(self) -> None:
        save_pdf(
            self,
            self._make_pdf,
            self._pdf_name() + ".pdf",
            lambda p: self.status.emit(tr("Saved {p}.").format(p=p)),
        )
