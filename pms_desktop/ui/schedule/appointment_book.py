"""The appointment book screen: the day view, a column per practitioner; the week view, one
practitioner's week (a column a day, chosen beside the Week button; at first the practitioner of
the selected appointment or slot, else the first column), as ten practitioners times seven days
left each booking too narrow to read on a 1366-pixel screen.

Loads one ``BookView`` per date range off the GUI thread; refreshes when the schedule changes.
Booking: click a free slot (or pick one with the arrow keys) and type a surname, Enter, pick;
"More options…" opens the full dialog (repeat, next free slot). Drag an appointment to move
it; right-click for check in (F5), cancel with a reason, no-show, print the appointment card.
Each user's chosen practitioner columns and their order are remembered (QSettings); one away
(deactivated) stays in the choice, unshown, and is a column again when back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QPoint, Signal
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ...services.scheduling_dto import AppointmentInfo, BookView
from ..errors import show_error
from ..ops import run_op
from ..widgets.change_bus import change_bus
from ..widgets.dates import WEEKDAY_DAY, weekday_day_month_text
from ..widgets.elided_combo_box import ElidedComboBox
from ..widgets.settings import app_settings
from .book_grid import BookGrid
from .book_header import BookHeader, StatusLegend
from .book_layout import SLOT_HEIGHT, booking_start
from .book_printing import print_card, print_day_list, save_card, save_day_list
from .practitioner_columns_dialog import PractitionerColumnsDialog
from .quick_book_popup import QuickBookPopup

CANCEL_REASONS = [
    "Patient cancelled",
    "Patient unwell",
    "Clinic cancelled",
    "Practitioner unavailable",
    "Booked in error",
]


def active_columns(chosen: list[str] | None, active: list[str]) -> list[str] | None:
    """The chosen practitioners still active, in the chosen order; ``None`` (everyone active)
    when none of them is: a saved choice of practitioners since retired or deactivated leaves
    the book showing the clinic's practitioners, not an empty day. The choice itself is kept
    (a practitioner reactivated comes back)."""
    if not chosen:
        return None
    known = set(active)
    return [i for i in chosen if i in known] or None


def keep_retired(chosen: list[str] | None, previous: list[str] | None,
                 active: list[str]) -> list[str] | None:
    """The Practitioners… dialog's choice (it offers the active practitioners only) with the
    inactive ones of the ``previous`` choice kept, each after the one it followed there (else
    before the one it preceded, else last): someone away is no column, and is one again, where
    they were, when back. ``None`` (no one ticked: everyone) keeps nothing, as everyone includes
    them when back."""
    if not chosen:
        return None
    known, out, previous = set(active), list(chosen), previous or []
    for n, pid in enumerate(previous):
        if pid in known or pid in out:
            continue
        after = next((p for p in reversed(previous[:n]) if p in out), None)
        before = next((p for p in previous[n + 1:] if p in out), None)
        at = (out.index(after) + 1 if after is not None
              else out.index(before) if before is not None else len(out))
        out.insert(at, pid)
    return out


class AppointmentBook(QWidget):
    view_loaded = Signal()
    action_done = Signal(str)

    def __init__(self, ctx: Any, session: StaffSession, main_window: Any = None) -> None:
        super().__init__()
        self.ctx, self.session, self.main_window = ctx, session, main_window
        self.setObjectName("appointmentBook")
        self.day = date.today()
        self.days = 1
        self.view: BookView | None = None
        self.types: list[Any] = []
        self.all_practitioners: list[Any] = []
        self._loading = False
        self._reload_again = False
        self._scrolled = False
        self._pending_slot: tuple[str, datetime] | None = None
        self.columns: list[str] | None = self._saved_columns()
        self.week_practitioner: str | None = None  # whose week the week view shows
        self._build()
        change_bus(ctx).changed.connect(self._on_changed)
        self.reload()

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        self.today_button = QPushButton(self.tr("Today"))
        self.today_button.setToolTip(self.tr("Go to today (Home)"))
        self.today_button.setShortcut("Home")
        self.today_button.clicked.connect(self.go_today)
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setAccessibleName(self.tr("Previous"))
        self.prev_button.setShortcut("Alt+Left")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setAccessibleName(self.tr("Next"))
        self.next_button.setShortcut("Alt+Right")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        # As the rest of the app writes a day ("Thu 17 Dec 2026"), wide enough for the widest
        # (the long form was cut to "Saturday 21 November 202" and made the book too wide
        # for a 1366-pixel screen).
        self.date_edit.setDisplayFormat(WEEKDAY_DAY)
        widest = self.date_edit.fontMetrics().horizontalAdvance("Wed 30 Sep 2026")
        self.date_edit.setMinimumWidth(widest + 48)  # padding, border and the drop-down arrow
        self.date_edit.dateChanged.connect(self._date_edited)
        self.day_button = QToolButton()
        self.day_button.setText(self.tr("Day"))
        self.day_button.setCheckable(True)
        self.day_button.setChecked(True)
        self.day_button.clicked.connect(lambda: self.set_days(1))
        self.week_button = QToolButton()
        self.week_button.setText(self.tr("Week"))
        self.week_button.setCheckable(True)
        self.week_button.clicked.connect(lambda: self.set_days(7))
        self.practitioner_combo = QComboBox()
        self.practitioner_combo.setAccessibleName(self.tr("Practitioner for the week"))
        self.practitioner_combo.setToolTip(self.tr("Whose week to show"))
        # Beside the screen's title, where there is room (the tool bar fills a 1366-pixel
        # screen), at a set size kept while hidden in the day view: showing it, or filling it,
        # neither widens the window nor moves the grid.
        self.practitioner_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.practitioner_combo.setMinimumContentsLength(18)
        keep = self.practitioner_combo.sizePolicy()
        keep.setRetainSizeWhenHidden(True)
        self.practitioner_combo.setSizePolicy(keep)
        self.practitioner_combo.activated.connect(self._week_practitioner_picked)
        self.practitioner_combo.setVisible(False)
        self.type_combo = ElidedComboBox()
        self.type_combo.setAccessibleName(self.tr("Type for new bookings"))
        self.type_combo.setToolTip(self.tr("Appointment type for new bookings"))
        # As wide as the longest type where there is room; on a 1280-pixel screen it gives way
        # so that the tool bar fits (its text ends with '…', its list shows the names in full).
        self.type_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.type_combo.setMinimumWidth(110)
        self.columns_button = QPushButton(self.tr("Practitioners…"))
        self.columns_button.clicked.connect(self.choose_practitioners)
        self.new_button = QPushButton(self.tr("New appointment…"))
        self.new_button.setProperty("primary", True)
        self.new_button.setToolTip(self.tr("Book an appointment (Ctrl+N)"))
        self.new_button.clicked.connect(lambda: self.new_appointment())
        self.print_button = QPushButton(self.tr("Print"))
        menu = QMenu(self.print_button)
        menu.addAction(self.tr("Print day list…"), lambda: self.print_day_list())
        menu.addAction(self.tr("Save day list as PDF…"), lambda: self.save_day_list())
        menu.addSeparator()
        menu.addAction(self.tr("Print appointment card…"), lambda: self.print_card_selected())
        menu.addAction(self.tr("Save appointment card as PDF…"), lambda: self.save_card_selected())
        self.print_button.setMenu(menu)
        self.print_menu = menu
        bar = QHBoxLayout()
        for w in (self.today_button, self.prev_button, self.next_button, self.date_edit):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.day_button)
        bar.addWidget(self.week_button)
        bar.addStretch(1)
        for w in (self.type_combo, self.columns_button, self.print_button, self.new_button):
            bar.addWidget(w)
        self.legend = StatusLegend()
        self.header = BookHeader()
        self.grid = BookGrid()
        self.scroll = QScrollArea()
        self.scroll.setObjectName("bookScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.grid)
        self.scroll.horizontalScrollBar().valueChanged.connect(self.header.set_offset)
        self.grid.move_requested.connect(self.move_appointment)
        self.grid.slot_activated.connect(self._slot_activated)
        self.grid.context_requested.connect(self._context_menu)
        self.grid.appointment_selected.connect(lambda _a: self.quick.hide())
        self.quick = QuickBookPopup(self.ctx, self.session, self)
        self.quick.hide()
        self.quick.patient_picked.connect(self._quick_picked)
        self.quick.more_requested.connect(self._quick_more)
        # The screen's title as on Patients, Waiting room and Administration, with whose week
        # it is (week view) beside it and the status key on the right; the tool bar below.
        title = QLabel(self.tr("Appointments"))
        title.setObjectName("screenTitle")
        title_row = QHBoxLayout()
        title_row.addWidget(title)
        title_row.addSpacing(12)
        title_row.addWidget(self.practitioner_combo)
        title_row.addStretch(1)
        title_row.addWidget(self.legend)
        v = QVBoxLayout(self)
        v.setContentsMargins(12, 10, 12, 8)
        v.setSpacing(6)
        v.addLayout(title_row)
        v.addLayout(bar)
        v.addWidget(self.header)
        v.addWidget(self.scroll, 1)
        self._sync_date_edit()

    # --- settings ----------------------------------------------------------------------------

    def _settings_key(self) -> str:
        return f"appointment_book/{self.session.username}/practitioners"

    def _saved_columns(self) -> list[str] | None:
        value = app_settings().value(self._settings_key())
        if isinstance(value, str):
            value = [value] if value else []
        return list(value) if isinstance(value, list) and value else None

    def set_columns(self, ids: list[str] | None) -> None:
        self.columns = ids
        s = app_settings()
        if ids:
            s.setValue(self._settings_key(), ids)
        else:
            s.remove(self._settings_key())
        self.reload()

    def shown_columns(self) -> list[str] | None:
        """The chosen columns the day view shows: the active practitioners among them."""
        return active_columns(self.columns, [p.id for p in self.all_practitioners])

    def save_settings(self) -> None:
        if self.columns:
            app_settings().setValue(self._settings_key(), self.columns)

    def choose_practitioners(self) -> None:
        dialog = PractitionerColumnsDialog(self.all_practitioners, self.shown_columns(), self)
        dialog.chosen.connect(self._columns_chosen)
        dialog.open()
        self.columns_dialog = dialog

    def _columns_chosen(self, ids: list[str] | None) -> None:
        self.set_columns(keep_retired(ids, self.columns, [p.id for p in self.all_practitioners]))

    # --- dates ---------------------------------------------------------------------------

    def first_day(self) -> date:
        return self.day - timedelta(days=self.day.weekday()) if self.days == 7 else self.day

    def set_date(self, day: date) -> None:
        if day != self.day:
            self.day = day
            self._sync_date_edit()
            self.reload()

    def go_today(self) -> None:
        self._scrolled = False
        self.set_date(date.today())

    def step(self, direction: int) -> None:
        self.set_date(self.day + timedelta(days=direction * self.days))

    def set_days(self, days: int) -> None:
        if days == 7 and self.days != 7:
            self.week_practitioner = self._current_practitioner() or self.week_practitioner
        self.days = days
        self.day_button.setChecked(days == 1)
        self.week_button.setChecked(days == 7)
        self.practitioner_combo.setVisible(days == 7)
        self.columns_button.setEnabled(days == 1)  # the day view's columns
        self.grid.selected_slot = None  # its column index belonged to the other view
        self.reload()

    def _current_practitioner(self) -> str | None:
        """The practitioner of the selected appointment or slot, else the first column's."""
        a = self.grid.selected()
        if a is not None:
            return a.practitioner_id
        lay = self.grid.layout_
        if self.grid.selected_slot is not None and lay is not None:
            col = self.grid.selected_slot[0]
            if col < len(lay.columns):
                return lay.columns[col].practitioner.id
        if self.view is not None and self.view.practitioners:
            return self.view.practitioners[0].id
        return None

    def set_week_practitioner(self, practitioner_id: str) -> None:
        if practitioner_id != self.week_practitioner:
            self.week_practitioner = practitioner_id
            self.grid.selected_slot = None
            self.reload()

    def _week_practitioner_picked(self, index: int) -> None:
        pid = self.practitioner_combo.itemData(index)
        if pid:
            self.set_week_practitioner(pid)

    def _fill_practitioner_combo(self) -> None:
        by_id = {p.id: p for p in self.all_practitioners}
        order = [i for i in (self.columns or []) if i in by_id] + [
            p.id for p in self.all_practitioners if p.id not in (self.columns or [])
        ]
        combo = self.practitioner_combo
        combo.blockSignals(True)
        combo.clear()
        for pid in order:
            combo.addItem(by_id[pid].name, pid)
        combo.setCurrentIndex(max(0, combo.findData(self.week_practitioner)))
        combo.blockSignals(False)

    def _sync_date_edit(self) -> None:
        self.date_edit.blockSignals(True)
        self.date_edit.setDate(QDate(self.day.year, self.day.month, self.day.day))
        self.date_edit.blockSignals(False)

    def _date_edited(self, q: QDate) -> None:
        self.set_date(date(q.year(), q.month(), q.day()))

    # --- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        sched, who, first, days = self.ctx.scheduling, self.session, self.first_day(), self.days
        chosen, week = self.columns, self.week_practitioner if self.days == 7 else None

        def load() -> tuple[BookView, list[Any], list[Any]]:
            practitioners = sched.practitioners(who)  # the active ones
            active = [p.id for p in practitioners]
            shown = active_columns(chosen, active)
            if week:  # one practitioner's week; theirs if still active, else the first shown
                shown = [week] if week in active else (shown or active)[:1]
            return (
                sched.view(who, first_day=first, days=days, practitioner_ids=shown),
                sched.appointment_types(who),
                practitioners,
            )

        run_op(self, load, self._loaded, self._load_failed)

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        show_error(self, error)

    def _loaded(self, result: tuple[BookView, list[Any], list[Any]]) -> None:
        self._loading = False
        if self._reload_again:
            self._reload_again = False
            self.reload()
            return
        self.view, types, self.all_practitioners = result
        if self.days == 7 and self.week_practitioner is None and self.all_practitioners:
            # the week before anything was loaded: the first practitioner's week
            known = {p.id for p in self.all_practitioners}
            shown = [i for i in self.columns or [] if i in known]
            self.week_practitioner = (shown or [self.all_practitioners[0].id])[0]
            self.reload()
            return
        if self.days == 7 and self.view.practitioners:  # the one shown, if theirs was retired
            self.week_practitioner = self.view.practitioners[0].id
        self._fill_practitioner_combo()
        if types != self.types:  # added, retired or edited (name, length) in Administration
            current = self.type_combo.currentData()
            self.types = types
            self.type_combo.clear()
            for t in types:
                self.type_combo.addItem(f"{t.name} · {t.duration_minutes} min", t.id)
            if current:
                self.type_combo.setCurrentIndex(max(0, self.type_combo.findData(current)))
        self.grid.set_view(self.view)
        self.grid.setMinimumWidth(0)
        self.grid._relayout()
        self.header.set_layout(self.grid.layout_)
        if not self._scrolled:
            self._scroll_to_now()
        self.view_loaded.emit()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.view is not None:
            self.grid._relayout()
            self.header.set_layout(self.grid.layout_)

    def _scroll_to_now(self) -> None:
        lay = self.grid.layout_
        if lay is None:
            return
        self._scrolled = True
        y = (
            lay.y_of(datetime.now(lay.tz))
            if self.first_day() <= date.today() < self.first_day() + timedelta(days=self.days)
            else 0
        )
        self.scroll.verticalScrollBar().setValue(int(max(0, y - 3 * SLOT_HEIGHT)))

    def _on_changed(self, topic: str, _info: dict[str, Any]) -> None:
        if (
            topic.startswith("schedule")
            or topic.startswith("patients")
            or topic.startswith("clinical")
            or topic.startswith("sync.")  # changes pulled from the clinic, conflicts resolved
        ):
            self.reload()

    # --- booking ---------------------------------------------------------------------------

    def _slot_activated(self, practitioner_id: str, when: datetime, text: str) -> None:
        self._pending_slot = (practitioner_id, when)
        name = (
            next((p.name for p in self.view.practitioners if p.id == practitioner_id), "")
            if self.view
            else ""
        )
        local = when.astimezone(self.grid.layout_.tz) if self.grid.layout_ else when
        rect = (
            self.grid.layout_.cell_rect(
                self.grid.layout_.column_index(local.date(), practitioner_id) or 0, when
            )
            if self.grid.layout_
            else None
        )
        if rect is not None:
            at = self.grid.mapTo(self, QPoint(int(rect.left()), int(rect.bottom()) + 2))
            x = min(max(0, at.x()), max(0, self.width() - self.quick.width() - 8))
            y = min(max(0, at.y()), max(0, self.height() - self.quick.height() - 8))
            self.quick.move(x, y)
        self.quick.start(
            self.tr("Book %s at %s with %s")
            % (weekday_day_month_text(local), f"{local:%H:%M}", name),
            text,
        )

    def _quick_picked(self, patient_id: str) -> None:
        if self._pending_slot is None:
            return
        prac, when = self._pending_slot
        self.book(patient_id, prac, when, self.type_combo.currentData())

    def _quick_more(self, text: str) -> None:
        self.quick.hide()
        prac, when = self._pending_slot or (None, None)
        self.new_appointment(practitioner_id=prac, start=when, patient_text=text)

    def book(
        self, patient_id: str, practitioner_id: str, when: datetime, type_id: str | None
    ) -> None:
        sched, who = self.ctx.scheduling, self.session
        run_op(
            self,
            lambda: sched.book(
                who,
                patient_id=patient_id,
                practitioner_id=practitioner_id,
                start_at=when,
                appointment_type_id=type_id,
            ),
            lambda a: self._booked([a]),
            self._failed,
        )

    def new_appointment(
        self,
        patient_id: str | None = None,
        practitioner_id: str | None = None,
        start: datetime | None = None,
        patient_text: str = "",
    ) -> Any:
        from .booking_dialog import BookingDialog

        if self.view is None:
            return None
        if start is None and self.grid.selected_slot is not None and self.grid.layout_ is not None:
            col, start = self.grid.selected_slot
            practitioner_id = self.grid.layout_.columns[col].practitioner.id
        if start is None:
            start = booking_start(self.day, self.view.hours, datetime.now(UTC))
        shown = list(self.view.practitioners)
        if self.days == 7:  # one practitioner's week: theirs first, anyone can be chosen
            practitioner_id = practitioner_id or self.week_practitioner
            shown = []
        dialog = BookingDialog(
            self.ctx,
            self.session,
            practitioners=shown or self.all_practitioners,
            types=self.types,
            timezone=self.view.hours.timezone,
            practitioner_id=practitioner_id,
            start=start,
            patient_id=patient_id,
            patient_text=patient_text,
            type_id=self.type_combo.currentData(),
            parent=self,
        )
        dialog.booked.connect(self._booked)
        dialog.open()
        self.booking_dialog = dialog
        return dialog

    def _booked(self, made: list[AppointmentInfo]) -> None:
        if not made:
            return
        first = made[0]
        self._status(
            self.tr("Booked %s at %s.") % (first.patient_name, self._local(first.start_at))
            if len(made) == 1
            else self.tr("Booked %n appointments.", "", len(made))
        )
        self.set_date(
            first.start_at.astimezone(self.grid.layout_.tz).date()
            if self.grid.layout_
            else self.day
        )
        self.grid.selected_id = first.id
        self.reload()

    def move_appointment(self, appointment_id: str, practitioner_id: str, when: datetime) -> None:
        sched, who = self.ctx.scheduling, self.session
        run_op(
            self,
            lambda: sched.move(
                who, appointment_id=appointment_id, start_at=when, practitioner_id=practitioner_id
            ),
            lambda a: self._status(self.tr("Moved to %s.") % self._local(a.start_at)),
            self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        show_error(self, error)
        self.reload()

    # --- actions on the selected appointment ----------------------------------------------------

    def selected(self) -> AppointmentInfo | None:
        return self.grid.selected()

    def _act(self, fn: Any, done: str) -> None:
        a = self.selected()
        if a is None:
            self._status(self.tr("Select an appointment first."))
            return
        sched, who = self.ctx.scheduling, self.session
        run_op(
            self,
            lambda: fn(sched, who, a.id),
            lambda _r: self._status(done % a.patient_name),
            self._failed,
        )

    def check_in_selected(self) -> None:
        self._act(lambda s, w, i: s.check_in(w, appointment_id=i), self.tr("%s has arrived."))

    def undo_check_in_selected(self) -> None:
        self._act(
            lambda s, w, i: s.undo_check_in(w, appointment_id=i), self.tr("Arrival of %s undone.")
        )

    def no_show_selected(self) -> None:
        self._act(
            lambda s, w, i: s.no_show(w, appointment_id=i), self.tr("%s marked as did not attend.")
        )

    def cancel_selected(self, reason: str | None = None) -> None:
        if self.selected() is None:
            return
        if reason is None:
            reason, ok = QInputDialog.getItem(
                self, self.tr("Cancel appointment"), self.tr("Reason:"), CANCEL_REASONS, 0, True
            )
            if not ok:
                return
        self._act(
            lambda s, w, i: s.cancel(w, appointment_id=i, reason=reason),
            self.tr("Appointment of %s cancelled."),
        )

    def open_selected_patient(self) -> None:
        a = self.selected()
        if a is not None and self.main_window is not None:
            self.main_window.open_patient(a.patient_id)

    def _context_menu(self, a: AppointmentInfo, pos: QPoint | None) -> None:
        if pos is None:
            self.open_selected_patient()
            return
        menu = QMenu(self)
        check_in = menu.addAction(self.tr("Check in\tF5"), self.check_in_selected)
        check_in.setEnabled(a.status == "booked")
        if a.status == "arrived":
            menu.addAction(self.tr("Undo check-in"), self.undo_check_in_selected)
        menu.addAction(self.tr("Open patient"), self.open_selected_patient)
        menu.addSeparator()
        menu.addAction(self.tr("Cancel appointment…"), lambda: self.cancel_selected()).setEnabled(
            a.status in ("booked", "arrived")
        )
        menu.addAction(self.tr("Did not attend"), self.no_show_selected).setEnabled(
            a.status == "booked"
        )
        menu.addSeparator()
        menu.addAction(self.tr("Print appointment card…"), lambda: self.print_card_selected())
        menu.addAction(self.tr("Save appointment card as PDF…"), lambda: self.save_card_selected())
        menu.popup(pos)
        self.context_menu = menu

    # --- printing --------------------------------------------------------------------------

    def print_day_list(self, printer: QPrinter | None = None) -> None:
        """The day list per practitioner through the print dialog (``printer``: no dialog)."""
        if self.view is None:
            return
        print_day_list(self, self.ctx, self.session, self.day, self.shown_columns(),
                       lambda _pages: self._status(self.tr("Day list sent to the printer.")),
                       printer=printer)

    def save_day_list(self, path: Path | None = None) -> None:
        if self.view is None:
            return
        save_day_list(self, self.ctx, self.session, self.day, self.shown_columns(),
                      lambda p: self._status(self.tr("Day list saved to %s.") % p), path=path)

    def print_card_selected(self, printer: QPrinter | None = None) -> None:
        a = self.selected()
        if a is None:
            self._status(self.tr("Select an appointment first."))
            return
        print_card(self, self.ctx, self.session, a.id,
                   lambda _pages: self._status(self.tr("Appointment card sent to the printer.")),
                   printer=printer)

    def save_card_selected(self, path: Path | None = None) -> None:
        a = self.selected()
        if a is None:
            self._status(self.tr("Select an appointment first."))
            return
        save_card(self, self.ctx, self.session, a.id,
                  lambda p: self._status(self.tr("Appointment card saved to %s.") % p), path=path)

    # --- helpers ---------------------------------------------------------------------------

    def _local(self, when: datetime) -> str:
        tz = self.grid.layout_.tz if self.grid.layout_ else None
        local = when.astimezone(tz)
        return f"{weekday_day_month_text(local)} {local:%H:%M}"

    def _status(self, text: str) -> None:
        self.action_done.emit(text)
        if self.main_window is not None:
            self.main_window.show_status(text)
