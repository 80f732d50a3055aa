"""The patient file: details, appointments, and the clinical and account tabs when allowed.

The banner data is loaded with the file (audited read) and handed to the main window, which
shows it above every screen while this patient is open. The "Clinical" tab comes from the
clinical engineer's ChartPanel when the role may read clinical notes; otherwise a "Break glass"
button asks for a reason first. The "Account" tab comes from billing's PatientAccountPanel.

The main window keeps one patient file and shows the next patient in it (``set_patient``):
building and styling its few hundred widgets again cost more than DESIGN.md's 100 ms for
opening a chart. Everything of the previous patient is emptied before the next one loads, and
an answer asked for the previous patient is dropped when it arrives (``_gen``, a
``Generation``). The parts that cannot be emptied safely are made anew: the account tab, and a
chart opened by breaking the glass (that grant was for the previous patient).
"""

from __future__ import annotations

import importlib
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from ...domain.permissions import Permission, allows
from ...domain.session import StaffSession
from ...services.patients_dto import PatientDetail
from ..ops import Generation, run_op
from ..schedule.appointment_table_model import AppointmentTableModel
from ..widgets.change_bus import change_bus
from ..widgets.dates import day_text, day_time_text

SEX = {"female": "Female", "male": "Male", "other": "Other", "unknown": "—"}


def _optional(path: str) -> Any:
    module_name, _, cls = path.partition(":")
    try:
        return getattr(importlib.import_module(module_name), cls)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            return None
        raise


class PatientFile(QWidget):
    banner_loaded = Signal(object)
    loaded = Signal()

    def __init__(
        self, ctx: Any, session: StaffSession, patient_id: str, main_window: Any = None
    ) -> None:
        super().__init__()
        self.ctx, self.session, self.patient_id, self.main_window = (
            ctx,
            session,
            patient_id,
            main_window,
        )
        self.setObjectName("patientFile")
        self.detail: PatientDetail | None = None
        self._gen = Generation()  # bumped when another patient is shown
        self.tabs = QTabWidget()
        self.tabs.setObjectName("patientTabs")
        self.tab_keys: list[str] = []
        self._build_overview()
        self._build_appointments()
        self._build_optional_tabs()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.addWidget(self.tabs)
        change_bus(ctx).changed.connect(self._on_changed)
        self.reload()

    def _add_tab(self, key: str, widget: QWidget, title: str) -> None:
        self.tab_keys.append(key)
        self.tabs.addTab(widget, self.tr(title))

    def _replace_tab(self, key: str, widget: QWidget, title: str) -> None:
        index = self.tab_keys.index(key)
        old = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, widget, self.tr(title))
        if old is not None:
            old.deleteLater()

    def show_tab(self, key: str) -> None:
        if key in self.tab_keys:
            self.tabs.setCurrentIndex(self.tab_keys.index(key))

    # --- the patient shown -----------------------------------------------------------------

    def set_patient(self, patient_id: str, tab: str | None = None) -> None:
        """Show ``patient_id`` in this file: nothing of the previous patient stays on any tab.
        It opens on ``tab`` (else the details), without showing another tab on the way."""
        self._gen.bump()
        self.patient_id = patient_id
        self.detail = None
        for label in self.cards.values():
            label.clear()
        self.appointments.set_rows([])
        self.unmerge_button.setVisible(False)
        self.deactivate_button.setText(self.tr("Deactivate…"))
        dialog = getattr(self, "dialog", None)
        if dialog is not None and isValid(dialog):
            dialog.close()  # an edit or merge of the previous patient (window-modal: rare)
        self.dialog = None
        if "clinical" in self.tab_keys:
            chart = self.tabs.widget(self.tab_keys.index("clinical"))
            if self._chart_class is not None and self._reads_clinical:
                chart.set_patient(patient_id)
            elif chart is not self._glass_page:
                self._glass_page = self._break_glass_page(self._chart_class)
                self._replace_tab("clinical", self._glass_page, "Clinical")
        if "account" in self.tab_keys:
            self._replace_tab("account", self._account_class(
                self.ctx, self.session, patient_id, self.main_window), "Account")
        self.tabs.setCurrentIndex(self.tab_keys.index(tab) if tab in self.tab_keys else 0)
        self.reload()

    # --- tabs ------------------------------------------------------------------------------

    def _build_overview(self) -> None:
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(12, 12, 12, 12)
        grid.setSpacing(12)
        self.cards: dict[str, QLabel] = {}
        for i, (key, title) in enumerate(
            [
                ("person", "Person"),
                ("contact", "Contact"),
                ("address", "Address"),
                ("ids", "Identifiers"),
                ("emergency", "Emergency contact"),
                ("cover", "Cover"),
                ("notes", "Reception notes"),
                ("alerts", "Alerts"),
            ]
        ):
            box = QGroupBox(self.tr(title))
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            # at the top of its box: a row's boxes share the taller one's height, and a short
            # card (one identifier) floated in the middle of its box
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            QVBoxLayout(box).addWidget(label)
            self.cards[key] = label
            grid.addWidget(box, i // 2, i % 2)
        actions = QHBoxLayout()
        can_write = allows(self.session.role, Permission.WRITE_DEMOGRAPHICS)
        self.edit_button = QPushButton(self.tr("Edit details…"))
        self.edit_button.setProperty("primary", True)
        self.edit_button.clicked.connect(self.edit)
        self.book_button = QPushButton(self.tr("Book appointment…"))
        self.book_button.clicked.connect(self.book)
        self.alert_button = QPushButton(self.tr("Add alert…"))
        self.alert_button.clicked.connect(self.add_alert)
        self.merge_button = QPushButton(self.tr("Merge duplicate…"))
        self.merge_button.clicked.connect(self.merge)
        self.deactivate_button = QPushButton(self.tr("Deactivate…"))
        self.deactivate_button.setProperty("danger", True)
        self.deactivate_button.clicked.connect(self.deactivate)
        for b in (
            self.edit_button,
            self.book_button,
            self.alert_button,
            self.merge_button,
            self.deactivate_button,
        ):
            b.setEnabled(can_write)
            actions.addWidget(b)
        self.book_button.setEnabled(allows(self.session.role, Permission.SCHEDULE))
        # Undoing a merge is a clinic admin's act (the service enforces it; this only hides it).
        self.unmerge_button = QPushButton(self.tr("Undo merge…"))
        self.unmerge_button.setObjectName("undoMerge")
        self.unmerge_button.clicked.connect(self.undo_merge)
        self.unmerge_button.setVisible(False)  # shown once the load finds a merge to undo
        actions.addWidget(self.unmerge_button)
        actions.addStretch(1)
        grid.addLayout(actions, 4, 0, 1, 2)
        grid.setRowStretch(5, 1)
        self._add_tab("overview", page, "Details")

    def _build_appointments(self) -> None:
        page = QWidget()
        self.appointments = AppointmentTableModel(self)
        table = QTableView()
        table.setObjectName("patientAppointments")
        table.setModel(self.appointments)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        v = QVBoxLayout(page)
        v.setContentsMargins(12, 12, 12, 12)
        v.addWidget(table)
        self._add_tab("appointments", page, "Appointments")

    def _build_optional_tabs(self) -> None:
        role = self.session.role
        chart = _optional("pms_desktop.ui.chart.chart_panel:ChartPanel")
        self._chart_class, self._reads_clinical = chart, allows(role, Permission.READ_CLINICAL)
        self._glass_page: QWidget | None = None
        if chart is not None:
            if self._reads_clinical:
                self._add_tab(
                    "clinical",
                    chart(self.ctx, self.session, self.patient_id, self.main_window),
                    "Clinical",
                )
            else:
                self._glass_page = self._break_glass_page(chart)
                self._add_tab("clinical", self._glass_page, "Clinical")
        account = _optional("pms_desktop.ui.billing.patient_account_panel:PatientAccountPanel")
        self._account_class = account
        if account is not None and (
            allows(role, Permission.BILLING) or allows(role, Permission.TAKE_PAYMENTS)
        ):
            self._add_tab(
                "account",
                account(self.ctx, self.session, self.patient_id, self.main_window),
                "Account",
            )

    def _break_glass_page(self, chart: Any) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        text = QLabel(
            self.tr(
                "Your role does not include reading clinical records. In an emergency "
                "you may open them: you must give a reason, and the access is flagged "
                "for review."
            )
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        button = QPushButton(self.tr("Break glass…"))
        button.setObjectName("breakGlassButton")
        button.setProperty("danger", True)
        button.clicked.connect(lambda: self._break_glass(page, chart))
        v.addStretch(1)
        v.addWidget(text)
        v.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)  # a button, not a banner
        v.addStretch(2)
        return page

    def _break_glass(self, page: QWidget, chart: Any) -> None:
        reason, ok = QInputDialog.getText(
            self, self.tr("Emergency access"), self.tr("Reason for access:")
        )
        if not ok or not reason.strip():
            return

        def opened(_result: Any) -> None:
            if self.tabs.indexOf(page) < 0:
                return
            panel = chart(self.ctx, self.session, pid, self.main_window)
            self._replace_tab("clinical", panel, "Clinical")
            self.tabs.setCurrentIndex(self.tab_keys.index("clinical"))

        accounts, who, pid = self.ctx.accounts, self.session, self.patient_id
        run_op(  # another patient shown by then: the grant was not for them
            self, lambda: accounts.break_glass(who, patient_id=pid, reason=reason.strip()),
            self._gen.guard(opened),
        )

    # --- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        patients, sched, setup, who, pid = (
            self.ctx.patients,
            self.ctx.scheduling,
            self.ctx.setup,
            self.session,
            self.patient_id,
        )
        can_book = allows(who.role, Permission.READ_DEMOGRAPHICS)
        can_unmerge = allows(who.role, Permission.MANAGE_USERS)

        def load() -> tuple[Any, Any, Any, bool]:
            detail = patients.get_patient(who, patient_id=pid)
            banner = patients.banner(who, patient_id=pid)
            appts = sched.patient_appointments(who, patient_id=pid) if can_book else []
            clinic = setup.clinic()  # its timezone: read without an access-log entry
            tz = (clinic.timezone if clinic else None) or "UTC"
            merged = can_unmerge and any(
                m.reverted_at is None for m in patients.merges(who, patient_id=pid))
            return detail, banner, (tz, appts), merged

        run_op(self, load, self._gen.guard(self._loaded))

    def _loaded(self, result: tuple[PatientDetail, Any, Any, bool]) -> None:
        detail, banner, (tz, appts), merged = result
        # Only a record that took part in a merge (not yet undone) offers to undo it.
        self.unmerge_button.setVisible(merged)
        self.detail = detail
        self.appointments.set_rows(appts, tz)
        self._fill_cards(detail)
        self.deactivate_button.setText(
            self.tr("Deactivate…") if detail.active else self.tr("Reactivate")
        )
        self.banner_loaded.emit(banner)
        self.loaded.emit()

    def _fill_cards(self, detail: PatientDetail) -> None:
        d = detail.draft

        def lines(*items: str) -> str:
            shown = [i for i in items if i and i.strip()]
            return "<br>".join(shown) if shown else "<span style='color:#8a96a3'>—</span>"

        self.cards["person"].setText(
            lines(
                f"<b>{detail.name}</b>",
                d.preferred_name and f"Known as {d.preferred_name}",
                f"Born {day_text(detail.birth_date)} ({detail.age} y)",
                SEX.get(d.sex, ""),
            )
        )
        self.cards["contact"].setText(
            lines(d.phone and f"Mobile {d.phone}", d.phone_home and f"Home {d.phone_home}", d.email)
        )
        self.cards["address"].setText(
            lines(
                d.address_line,
                d.address_line2,
                " ".join(x for x in (d.city, d.postal_code) if x),
                d.region,
                d.country,
            )
        )
        self.cards["ids"].setText(
            lines(d.mrn and f"MRN {d.mrn}", d.national_id and f"PPSN {d.national_id}")
        )
        self.cards["emergency"].setText(
            lines(
                d.emergency_name and f"{d.emergency_name} ({d.emergency_relationship})",
                d.emergency_phone,
            )
        )
        self.cards["cover"].setText(
            lines(
                d.coverage_payer,
                d.coverage_member_id and f"Member {d.coverage_member_id}",
                d.coverage_plan,
            )
        )
        self.cards["notes"].setText(lines(d.reception_notes.replace("\n", "<br>")))
        self.cards["alerts"].setText(
            lines(*(f"<span style='color:#b3261e'>⚠ {a.text}</span>" for a in detail.alerts))
        )

    def _on_changed(self, topic: str, info: dict[str, Any]) -> None:
        if topic.startswith("sync.") or info.get("patient_id") == self.patient_id and (
            topic.startswith("patients") or topic.startswith("schedule")
        ):
            self.reload()

    # --- actions ---------------------------------------------------------------------------

    def edit(self) -> None:
        from .patient_edit_dialog import PatientEditDialog

        if self.detail is None:
            return
        self.dialog = PatientEditDialog(self.ctx, self.session, self.detail, self)
        self.dialog.patient_saved.connect(
            lambda _pid: self._status(self.tr("Patient details saved."))
        )
        self.dialog.open()

    def book(self) -> None:
        if self.main_window is not None:
            book = self.main_window.show_screen("appointments")
            if book is not None and hasattr(book, "new_appointment"):
                book.new_appointment(patient_id=self.patient_id)

    def add_alert(self) -> None:
        text, ok = QInputDialog.getText(
            self, self.tr("Add alert"), self.tr("Alert shown on the banner:")
        )
        if ok and text.strip():
            patients, who, pid = self.ctx.patients, self.session, self.patient_id
            run_op(self, lambda: patients.add_alert(who, patient_id=pid, text=text.strip()))

    def merge(self) -> None:
        from .merge_dialog import MergeDialog

        self.dialog = MergeDialog(self.ctx, self.session, self.patient_id, self)
        self.dialog.merged.connect(lambda _m: self._status(self.tr("Records merged.")))
        self.dialog.open()

    def undo_merge(self) -> None:
        """Revert the newest merge this record took part in, after confirmation."""
        patients, who, pid = self.ctx.patients, self.session, self.patient_id

        def found(merges: list[Any]) -> None:
            live = [m for m in merges if m.reverted_at is None]
            if not live:  # undone meanwhile (another workstation, another window)
                self.reload()
                return
            merge = live[0]
            answer = QMessageBox.question(
                self, self.tr("Undo merge"),
                self.tr("Split the records merged on %s again? Everything that was moved goes back "
                        "to the record it came from.")
                % day_time_text(merge.merged_at.astimezone()))
            if answer != QMessageBox.StandardButton.Yes:
                return
            run_op(self, lambda: patients.revert_merge(who, merge_id=merge.id),
                           lambda _r: (self._status(self.tr("Merge undone.")), self.reload()))

        run_op(self, lambda: patients.merges(who, patient_id=pid), found)

    def deactivate(self) -> None:
        patients, who, pid = self.ctx.patients, self.session, self.patient_id
        if self.detail is not None and not self.detail.active:
            run_op(self, lambda: patients.reactivate_patient(who, patient_id=pid))
            return
        reason, ok = QInputDialog.getText(
            self,
            self.tr("Deactivate patient"),
            self.tr("Why is this record deactivated? (it is never deleted)"),
        )
        if ok and reason.strip():
            run_op(
                self,
                lambda: patients.deactivate_patient(who, patient_id=pid, reason=reason.strip()),
            )

    def _status(self, text: str) -> None:
        if self.main_window is not None:
            self.main_window.show_status(text)
