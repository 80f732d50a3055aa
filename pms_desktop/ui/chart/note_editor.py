"""The note editor: SOAP sections, templates, autosave of drafts, signing and addenda.

Autosave: every edit restarts a short idle timer (``autosave_ms``); when it fires the draft is
saved off the GUI thread (one durable ``save_draft``) and the indicator says "Draft saved
12:03:41". Saves never overlap: an edit made during a save schedules another one. A signed note
is shown read-only; only "Add addendum" remains.

``set_patient`` shows another patient's notes in the same editor: a draft being written is
saved for its own patient first, and a save, signature or addendum that answers after the
switch never shows in the new patient's editor.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import show_error
from ..ops import run_op
from .chart_format import ALERT_RED, MUTED, OK_GREEN, ClinicClock
from .notes_table_model import NotesTableModel

SECTIONS = (("subjective", "Subjective"), ("objective", "Objective"),
            ("assessment", "Assessment"), ("plan", "Plan"))


class NoteEditor(QWidget):
    note_signed = Signal(str)  # note id
    draft_saved = Signal(str)  # note id

    def __init__(self, ctx: Any, session: Any, patient_id: str, clock: ClinicClock,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.session, self.patient_id, self.clock = ctx, session, patient_id, clock
        self.encounter_id: str | None = None
        self.note: Any = None
        self.templates: list[Any] = []
        self.autosave_ms = 2000
        self._saving = False
        self._resave = False
        self._loading = False
        self._gen = 0  # bumped when another note is shown: late saves then leave it alone
        self._leftover: dict[int, dict[str, str]] = {}  # typed during a save, then left
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.save_now)
        self.model = NotesTableModel(clock, self)
        self._build()
        self._show_note(None)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.table = QTableView()
        self.table.setObjectName("notesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # the summary takes what is left, cut with "…" (sized to its text it pushed the list
        # into a sideways scroll, the summary out of sight)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setColumnHidden(2, True)  # the author is in the note's title
        self.table.clicked.connect(lambda i: self.open_note(self.model.note(i.row())))
        self.new_button = QPushButton(self.tr("New note"))
        self.new_button.setToolTip(self.tr("Start a new note (Ctrl+N)"))
        self.new_button.clicked.connect(self.new_note)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 6, 0)
        lv.addWidget(self.table, 1)
        lv.addWidget(self.new_button)

        self.title = QLabel()
        self.title.setObjectName("noteTitle")
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.template_box = QComboBox()
        self.template_box.setObjectName("templatePicker")
        self.template_box.setAccessibleName(self.tr("Note template"))
        self.template_box.setMinimumWidth(200)
        self.apply_template_button = QPushButton(self.tr("Use template"))
        self.apply_template_button.clicked.connect(self.apply_template)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.template_box)
        head.addWidget(self.apply_template_button)

        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        self.fields: dict[str, QPlainTextEdit] = {}
        for i, (key, label) in enumerate(SECTIONS):
            edit = QPlainTextEdit()
            edit.setObjectName(f"note_{key}")
            edit.setAccessibleName(self.tr(label))
            edit.setTabChangesFocus(True)
            edit.textChanged.connect(self._edited)
            caption = QLabel(self.tr(label))
            caption.setStyleSheet(f"color: {MUTED}; font-weight: 600;")
            grid.addWidget(caption, (i // 2) * 2, i % 2)
            grid.addWidget(edit, (i // 2) * 2 + 1, i % 2)
            self.fields[key] = edit

        self.addenda_label = QLabel()
        self.addenda_label.setObjectName("addenda")
        self.addenda_label.setWordWrap(True)
        self.addenda_label.setTextFormat(Qt.TextFormat.RichText)
        self.addendum_edit = QPlainTextEdit()
        self.addendum_edit.setObjectName("addendumText")
        self.addendum_edit.setPlaceholderText(self.tr("Write an addendum to this signed note…"))
        self.addendum_edit.setMaximumHeight(70)
        self.addendum_button = QPushButton(self.tr("Add addendum"))
        self.addendum_button.setObjectName("addAddendum")
        self.addendum_button.clicked.connect(self.add_addendum)

        self.status = QLabel()
        self.status.setObjectName("autosaveIndicator")
        self.sign_button = QPushButton(self.tr("Sign note"))
        self.sign_button.setObjectName("signNote")
        self.sign_button.setProperty("primary", True)
        self.sign_button.setToolTip(self.tr("Sign and lock this note (Ctrl+Shift+S)"))
        self.sign_button.clicked.connect(self.sign)
        foot = QHBoxLayout()
        foot.addWidget(self.status)
        foot.addStretch(1)
        foot.addWidget(self.addendum_button)
        foot.addWidget(self.sign_button)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 0, 0, 0)
        rv.addLayout(head)
        rv.addLayout(grid, 1)
        rv.addWidget(self.addenda_label)
        rv.addWidget(self.addendum_edit)
        rv.addLayout(foot)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        left.setMinimumWidth(300)
        split.setSizes([380, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(split)
        QShortcut(QKeySequence("Ctrl+S"), self, self.save_now)
        QShortcut(QKeySequence("Ctrl+N"), self, self.new_note)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, self.sign)

    # --- loading -----------------------------------------------------------------------------

    def set_patient(self, patient_id: str) -> None:
        self._save_before_leaving()
        self.timer.stop()
        self.patient_id = patient_id
        self.encounter_id = None
        self.model.set_notes([])
        self._show_note(None)  # bumps _gen: a late answer leaves the editor alone

    def set_data(self, notes: list[Any], templates: list[Any] | None = None) -> None:
        """Fill the list (and templates); reopen the draft being written, if any."""
        self.model.set_notes(notes)
        if templates is not None:
            self.templates = templates
            self.template_box.clear()
            self.template_box.addItems([t.name for t in templates])
        if self.note is None and not self._has_text():
            draft = next((n for n in notes if not n.signed and n.author_id == self.session.user_id),
                         None)
            if draft is not None:
                self.open_note(draft)
        elif self.note is not None:
            fresh = self.model.notes[self.model.row_of(self.note.id)] \
                if self.model.row_of(self.note.id) >= 0 else None
            if fresh is not None and fresh.signed:
                self.open_note(fresh)
        self._select_current()

    def _select_current(self) -> None:
        row = self.model.row_of(self.note.id) if self.note else -1
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()

    def open_note(self, note: Any) -> None:
        if note is None or (self.note is not None and note.id == self.note.id and not note.signed):
            return
        self._save_before_leaving()
        self._show_note(note)

    def new_note(self) -> None:
        self._save_before_leaving()
        self._show_note(None)
        self.fields["subjective"].setFocus()

    def _save_before_leaving(self) -> None:
        """Before another note (or patient) is shown: save what was typed in this one, for
        the note and patient it belongs to (captured now). While a save of it is under way,
        the text waits for that save's answer (which names the note) and goes after it."""
        if not self._dirty():
            return
        if self._saving:
            self._leftover[self._gen] = self.content()
        else:
            self.save_now()

    def _show_note(self, note: Any) -> None:
        self.note = note
        self._gen += 1
        self._loading = True
        for key, edit in self.fields.items():
            edit.setPlainText(getattr(note, key) if note else "")
            edit.setReadOnly(bool(note and note.signed))
        self._loading = False
        signed = bool(note and note.signed)
        self.template_box.setEnabled(not signed)
        self.apply_template_button.setEnabled(not signed)
        self.sign_button.setVisible(not signed)
        self.addendum_button.setVisible(signed)
        self.addendum_edit.setVisible(signed)
        self.addendum_edit.clear()
        if signed:
            title = self.tr("Signed by %s, %s") % (note.signed_by_name,
                                                   self.clock.date_time(note.signed_at))
            if note.signed_in_record:
                title += " · " + self.tr("signed in %s") % note.signed_in_record
            self.title.setText(title)
            self.status.setText(self.tr("Signed notes cannot be changed; add an addendum."))
            self.status.setStyleSheet(f"color: {MUTED};")
        else:
            self.title.setText(self.tr("Draft note") if note else self.tr("New note"))
            self.status.setText(self.tr("Draft saved %s") % self.clock.time(note.updated_at)
                                if note else "")
            self.status.setStyleSheet(f"color: {OK_GREEN};")
        self._show_addenda(note)
        self._select_current()

    def _show_addenda(self, note: Any) -> None:
        adds = note.addenda if note else ()
        self.addenda_label.setVisible(bool(adds))
        self.addenda_label.setText("".join(
            f"<p style='margin:2px 0'><b>Addendum</b> <span style='color:{MUTED}'>"
            f"{a.signed_by_name}, {self.clock.date_time(a.signed_at)}</span><br>"
            f"{_html(a.text)}</p>" for a in adds))

    # --- editing and autosave ----------------------------------------------------------------

    def content(self) -> dict[str, str]:
        return {key: edit.toPlainText() for key, edit in self.fields.items()}

    def _has_text(self) -> bool:
        return any(v.strip() for v in self.content().values())

    def _dirty(self) -> bool:
        if self.note is not None and self.note.signed:
            return False
        if self.note is None:
            return self._has_text()
        return any(getattr(self.note, k) != v for k, v in self.content().items())

    def _edited(self) -> None:
        if self._loading or (self.note is not None and self.note.signed):
            return
        self.status.setText(self.tr("Editing…"))
        self.status.setStyleSheet(f"color: {MUTED};")
        self.timer.start(self.autosave_ms)

    def apply_template(self) -> None:
        index = self.template_box.currentIndex()
        if not 0 <= index < len(self.templates):
            return
        t = self.templates[index]
        for key, edit in self.fields.items():
            if not edit.toPlainText().strip():
                edit.setPlainText(getattr(t, key))

    def save_now(self) -> None:
        """Save the draft now (off the GUI thread); never two saves at once."""
        self.timer.stop()
        if not self._dirty():
            return
        if self._saving:
            self._resave = True
            return
        self._saving = True
        clinical, who, content = self.ctx.clinical, self.session, self.content()
        template = self.template_box.currentText() or None
        pid, enc = self.patient_id, self.encounter_id
        if self.note is None:
            fn = lambda: clinical.create_draft(  # noqa: E731
                who, patient_id=pid, encounter_id=enc, template=template, **content)
        else:
            note_id = self.note.id
            fn = lambda: clinical.save_draft(who, note_id=note_id, **content)  # noqa: E731
        gen = self._gen
        run_op(self, fn, lambda n: self._saved(n, gen), lambda e: self._save_failed(e, gen))

    def _saved(self, note: Any, gen: int) -> None:
        self._saving = False
        if gen != self._gen:  # another note (or patient) is shown now: leave it alone
            leftover = self._leftover.pop(gen, None)
            if leftover is not None:
                clinical, who = self.ctx.clinical, self.session
                run_op(self, lambda: clinical.save_draft(who, note_id=note.id, **leftover),
                       lambda n: self.draft_saved.emit(n.id), lambda e: show_error(self, e))
            self.draft_saved.emit(note.id)
            if self._resave:  # what was typed meanwhile in the note shown now
                self._resave = False
                self.save_now()
            return
        self.note = note
        self.status.setText(self.tr("Draft saved %s") % self.clock.time(note.updated_at))
        self.status.setStyleSheet(f"color: {OK_GREEN};")
        self.title.setText(self.tr("Draft note"))
        self.draft_saved.emit(note.id)
        if self._resave or self._dirty():
            self._resave = False
            self.save_now()

    def _save_failed(self, error: BaseException, gen: int | None = None) -> None:
        self._saving = False
        if gen is not None and gen != self._gen:
            self._leftover.pop(gen, None)
            show_error(self, error)  # the draft of a note no longer shown was not saved
            return
        self.status.setText(self.tr("Not saved: %s") % error)
        self.status.setStyleSheet(f"color: {ALERT_RED};")
        show_error(self, error)

    # --- signing and addenda -----------------------------------------------------------------

    def sign(self) -> None:
        if self._saving or (self.note is not None and self.note.signed):
            return
        if self.note is None and not self._has_text():
            self.status.setText(self.tr("Write the note before signing it."))
            self.status.setStyleSheet(f"color: {ALERT_RED};")
            return
        self.timer.stop()
        self._saving = True
        self.sign_button.setEnabled(False)
        clinical, who, pid = self.ctx.clinical, self.session, self.patient_id
        content = self.content()
        note_id, enc = (self.note.id if self.note else None), self.encounter_id

        def work() -> Any:
            nid = note_id or clinical.create_draft(who, patient_id=pid, encounter_id=enc).id
            clinical.save_draft(who, note_id=nid, **content)
            clinical.sign_note(who, note_id=nid)
            return clinical.get_note(who, patient_id=pid, note_id=nid)

        gen = self._gen
        run_op(self, work, lambda n: self._signed(n, gen), self._sign_failed,
               label=self.tr("Signing…"))

    def _signed(self, note: Any, gen: int | None = None) -> None:
        self._saving = False
        self.sign_button.setEnabled(True)
        if gen is not None and gen != self._gen:
            self._leftover.pop(gen, None)  # typed after "Sign": the note is signed as it was
            return  # signed, but another note (or patient) is shown now
        self._show_note(note)
        self.note_signed.emit(note.id)

    def _sign_failed(self, error: BaseException) -> None:
        self._saving = False
        self.sign_button.setEnabled(True)
        show_error(self, error)

    def add_addendum(self) -> None:
        text = self.addendum_edit.toPlainText()
        if self.note is None or not self.note.signed or not text.strip():
            return
        clinical, who, pid, nid = self.ctx.clinical, self.session, self.patient_id, self.note.id

        def work() -> Any:
            clinical.add_addendum(who, note_id=nid, text=text)
            return clinical.get_note(who, patient_id=pid, note_id=nid)

        self.addendum_button.setEnabled(False)
        gen = self._gen
        run_op(self, work, lambda n: self._addendum_added(n, gen), self._addendum_failed)

    def _addendum_added(self, note: Any, gen: int | None = None) -> None:
        self.addendum_button.setEnabled(True)
        if gen is not None and gen != self._gen:
            return
        self._show_note(note)
        self.note_signed.emit(note.id)

    def _addendum_failed(self, error: BaseException) -> None:
        self.addendum_button.setEnabled(True)
        show_error(self, error)


def _html(text: str) -> str:
    from html import escape

    return escape(text).replace("\n", "<br>")
