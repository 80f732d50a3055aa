"""The conflicts window: every record sync could not merge alone, and a person's choice for it.

Left, the records (``ConflictTableModel``); right, the selected one side by side
(``conflict_panels``). A choice goes through ``ctx.sync.resolve_conflict`` off the GUI thread;
like any edit it is queued in the outbox and the background sync sends it shortly after.
The window deletes itself when closed (and closes when the main window locks).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.session import StaffSession
from ...services.patients_dto import IDENTIFIER_KINDS
from ..errors import show_error
from ..ops import run_op
from ..widgets.change_bus import change_bus
from .conflict_panels import ConflictPanel, panel_for
from .conflict_table_model import ConflictGroup, ConflictTableModel, group_conflicts
from .duplicate_panel import PossibleDuplicatePanel, duplicate_panel_for


class ConflictsWindow(QDialog):
    def __init__(self, ctx: Any, session: StaffSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.setObjectName("conflictsWindow")
        self.setWindowTitle(self.tr("Sync conflicts"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1120, 580)
        self.zone: str | None = None
        self.loaded = False
        self.saving = False
        self.panel: ConflictPanel | None = None
        self._select_after: str | None = None
        self._build()
        change_bus(ctx).changed.connect(self._on_changed)
        self.reload()

    def _build(self) -> None:
        title = QLabel(self.tr("Sync conflicts"))
        title.setObjectName("screenTitle")
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.model = ConflictTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("conflictList")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setObjectName("conflictDetail")
        self.empty = QLabel(self.tr("No conflicts: this workstation and the server agree."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("muted")
        self.scroll.setWidget(self.empty)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.scroll)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([480, 640])
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)

    # -- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        sync, setup, who = self.ctx.sync, self.ctx.setup, self.session

        def load() -> tuple[list[Any], Any]:
            return sync.conflicts(who), setup.clinic()

        run_op(self, load, self._loaded)

    def _loaded(self, result: tuple[list[Any], Any]) -> None:
        conflicts, clinic = result
        self.zone = clinic.timezone if clinic is not None else None
        self.model.zone = self.zone
        keep = self._select_after or (self.panel.group.id if self.panel else None)
        self._select_after = None
        groups = group_conflicts(conflicts)
        self.model.reset_items(groups)
        self.loaded = True
        n = len(groups)
        self.summary.setText(self.tr("Nothing was overwritten. %d to resolve.") % n if n
                             else self.tr("All resolved."))
        row = max(self.model.row_of(keep), 0) if keep else 0
        if n:
            self.table.selectRow(min(row, n - 1))
        else:
            self._show(None)

    def _row_changed(self, current: Any, _previous: Any = None) -> None:
        self._show(self.model.item(current.row()) if current.isValid() else None)

    def _show(self, group: ConflictGroup | None) -> None:
        if group is not None and self.panel is not None and group == self.panel.group:
            return  # unchanged by a reload: keep what the person has chosen so far
        if group is None:
            self.panel = None
            self.empty = QLabel(self.tr("No conflicts: this workstation and the server agree."))
            self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.empty.setObjectName("muted")
            self.scroll.setWidget(self.empty)
            return
        self.panel = duplicate_panel_for(group, self.zone) or panel_for(group, self.zone)
        self.panel.chosen.connect(self.resolve)
        if isinstance(self.panel, PossibleDuplicatePanel):
            self.panel.acted.connect(self.act_on_duplicate)
        self.scroll.setWidget(self.panel)

    def _on_changed(self, topic: str, _info: dict[str, Any]) -> None:
        if topic == "sync.pulled" and not self.saving:
            self.reload()

    # -- a possible duplicate: merge the two, or renumber / correct one ----------------------

    def act_on_duplicate(self, action: str, patient_id: str) -> None:
        """Open the merge of the two records, or the patient's details at the identifier
        (an MRN emptied for a new one; a PPSN as registered, to correct). What the person
        saves syncs like any edit; the flag closes at the next sync, everywhere."""
        panel = self.panel
        if not patient_id or not isinstance(panel, PossibleDuplicatePanel):
            return
        if action == "merge":
            from ..patients.merge_dialog import MergeDialog

            self.dialog: QDialog = MergeDialog(self.ctx, self.session, patient_id, self)
            self.dialog.merged.connect(lambda _m: self._decided(self.tr("Records merged.")))
            self.dialog.search.setText(panel.value)  # finds the other record of the pair
            self.dialog.open()
            return
        field = next((name for name, (system, _label) in IDENTIFIER_KINDS.items()
                      if system == panel.system), None)
        if field is None:
            return  # an identifier the form does not offer: merge, or correct it where it came from
        patients, who = self.ctx.patients, self.session
        run_op(self, lambda: patients.get_patient(who, patient_id=patient_id),
               lambda detail: self._edit_identifier(detail, field, panel))

    def _edit_identifier(self, detail: Any, field: str, panel: PossibleDuplicatePanel) -> None:
        from ..patients.patient_edit_dialog import PatientEditDialog

        self.dialog = PatientEditDialog(self.ctx, self.session, detail, self)
        if panel.is_mrn:
            saved, error = self.tr("New MRN saved."), self.tr("Enter the new MRN of this patient.")
            self.dialog.set_field(field, "")
        else:  # the person's real number: shown as registered (never its mark), to correct
            saved = self.tr("%s corrected.") % panel.label
            error = self.tr("The same %s is on another patient: correct it if it is wrong for "
                            "this one.") % panel.label
            self.dialog.set_field(field, panel.value)
        self.dialog.patient_saved.connect(lambda _pid: self._decided(saved))
        self.dialog.show_errors({field: error})
        self.dialog.open()
        self.dialog.inputs[field].setFocus()

    def _decided(self, text: str) -> None:
        self.summary.setText(text + " " + self.tr("The flag clears at the next sync."))
        status = getattr(self.parent(), "show_status", None)
        if status is not None:
            status(text)

    # -- choosing ------------------------------------------------------------------------------

    def resolve(self, choices: dict[str, str]) -> None:
        """Save the choices (conflict id -> choice) off the GUI thread, then show what is left."""
        if self.saving or not choices:
            return
        self.saving = True
        if self.panel is not None:
            self.panel.setEnabled(False)
        sync, who = self.ctx.sync, self.session
        row = self.table.currentIndex().row()
        nxt = self.model.item(row + 1) or self.model.item(row - 1)
        self._select_after = nxt.id if nxt is not None else None

        def save() -> int:
            for conflict_id, choice in choices.items():
                sync.resolve_conflict(who, conflict_id=conflict_id, choice=choice)
            return len(choices)

        run_op(self, save, self._saved, self._not_saved, label=self.tr("Saving…"))

    def _saved(self, count: int) -> None:
        self.saving = False
        self.summary.setText(self.tr("Saved. The choice is sent with the next sync."))
        status = getattr(self.parent(), "show_status", None)
        if status is not None:
            status(self.tr("Conflict resolved; it will be sent with the next sync."))
        self.reload()

    def _not_saved(self, error: BaseException) -> None:
        self.saving = False
        show_error(self, error)
        self.reload()
