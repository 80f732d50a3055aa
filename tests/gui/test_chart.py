"""The chart driven with qtbot on the real services and the real encrypted store.

The consultation starts from the reception engineer's WaitingRoomPanel (its
``consultation_requested`` signal handled the way the main window does: start the encounter
off the GUI thread, then open the chart).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import ConflictError
from pms_desktop.services.clinical_results import IncomingResult, insert_incoming_report
from pms_desktop.store.models import Appointment, Clinic, Practitioner
from pms_desktop.ui.chart.chart_panel import ChartPanel
from pms_desktop.ui.ops import run_op

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def arrived_appointment(ctx, pid: str) -> str:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with ctx.db.sessions()() as s, s.begin():
        appt = Appointment(clinic_id=s.scalars(select(Clinic.id)).one(), patient_id=pid,
                           practitioner_id=s.scalars(select(Practitioner.id)).first(),
                           start_at=now - timedelta(minutes=2), end_at=now + timedelta(minutes=13),
                           status="arrived", arrived_at=now - timedelta(minutes=10),
                           note="Cough and fever")
        s.add(appt)
        s.flush()
        return appt.id


def open_chart(qtbot, ctx, session, pid: str) -> ChartPanel:  # type: ignore[no-untyped-def]
    panel = ChartPanel(ctx, session, pid, None)
    qtbot.addWidget(panel)
    panel.resize(1280, 780)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        pass
    return panel


def reload(qtbot, panel: ChartPanel) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.refresh()


def test_consultation_from_waiting_room_note_sign_addendum(qtbot, ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient(given="Aoife", family="Brennan")
    appt_id = arrived_appointment(ctx, pid)
    ctx.clinical.add_allergy(doc, patient_id=pid, substance="Penicillin", reaction="Hives",
                             severity="severe")

    waiting = pytest.importorskip("pms_desktop.ui.schedule.waiting_room").WaitingRoomPanel(
        ctx, doc, None)
    qtbot.addWidget(waiting)
    qtbot.waitUntil(lambda: waiting.model.rowCount() == 1, timeout=5000)
    waiting.table.selectRow(0)
    started: list = []
    waiting.consultation_requested.connect(
        lambda a, p: run_op(waiting, lambda: ctx.clinical.start_encounter(doc, appointment_id=a),
                            started.append))
    with qtbot.waitSignal(waiting.consultation_requested, timeout=2000):
        qtbot.mouseClick(waiting.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    with ctx.db.sessions()() as s:
        assert s.get(Appointment, appt_id).status == "in-consultation"

    panel = open_chart(qtbot, ctx, doc, pid)
    # The allergy shows in red in the chart's summary column.
    assert "Penicillin" in panel.summary_column.allergies.text()
    assert "#b3261e" in panel.summary_column.allergies.text()
    assert panel.tabs.currentWidget() is panel.note_editor  # open consultation: the note
    editor = panel.note_editor
    assert editor.encounter_id == started[0].id

    editor.autosave_ms = 50
    qtbot.keyClicks(editor.fields["subjective"], "Dry cough for 3 days")
    with qtbot.waitSignal(editor.draft_saved, timeout=5000):
        pass
    assert editor.status.text().startswith("Draft saved ")
    saved = ctx.clinical.get_note(doc, patient_id=pid, note_id=editor.note.id)
    assert saved.subjective == "Dry cough for 3 days" and saved.status == "draft"

    qtbot.keyClicks(editor.fields["assessment"], "Viral URTI")
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        qtbot.mouseClick(editor.sign_button, Qt.MouseButton.LeftButton)
    note = editor.note
    assert note.signed and note.assessment == "Viral URTI"
    assert "Signed by Dr Siobhan Kelly" in editor.title.text()
    with ctx.db.sessions()() as s:
        assert s.get(Appointment, appt_id).status == "completed"
    assert panel.summary.open_encounter is None

    # Editing the signed note: the editor is read-only and the service refuses.
    assert editor.fields["assessment"].isReadOnly()
    qtbot.keyClicks(editor.fields["assessment"], " - changed")
    assert editor.fields["assessment"].toPlainText() == "Viral URTI"
    with pytest.raises(ConflictError):
        ctx.clinical.save_draft(doc, note_id=note.id, assessment="changed")
    assert not editor.sign_button.isVisible() or editor.sign_button.isHidden()

    # The addendum.
    assert not editor.addendum_button.isHidden()
    qtbot.keyClicks(editor.addendum_edit, "Chest X-ray clear.")
    with qtbot.waitSignal(editor.note_signed, timeout=5000):
        qtbot.mouseClick(editor.addendum_button, Qt.MouseButton.LeftButton)
    assert [a.text for a in editor.note.addenda] == ["Chest X-ray clear."]
    assert "Chest X-ray clear." in editor.addenda_label.text()
    qtbot.waitUntil(lambda: "addendum" in " ".join(
        e.title.lower() for e in panel.timeline_tab.model.entries), timeout=5000)


def test_vitals_impossible_value_marked_and_the_rest_kept(qtbot, ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    panel = open_chart(qtbot, ctx, doc, pid)
    panel.select_tab("vitals")
    tab = panel.vitals_tab
    typed = {"systolic": "150", "diastolic": "95", "heart_rate": "72", "temperature": "370",
             "weight": "82", "height": "178"}
    for field, text in typed.items():
        qtbot.keyClicks(tab.inputs[field], text)
    assert tab.bmi_label.text().startswith("25.9")
    failed = []
    tab.record_button.clicked.connect(lambda: failed.append(1))
    qtbot.mouseClick(tab.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.errors["temperature"].isVisibleTo(tab), timeout=5000)
    assert "not possible" in tab.errors["temperature"].text()
    assert "#b3261e" in tab.inputs["temperature"].styleSheet()
    assert tab.values() == typed  # everything typed is still there
    assert not any(tab.errors[f].isVisibleTo(tab) for f in typed if f != "temperature")
    assert ctx.clinical.latest_vitals(doc, patient_id=pid) == []  # nothing stored

    tab.inputs["temperature"].clear()
    qtbot.keyClicks(tab.inputs["temperature"], "37.1")
    assert not tab.errors["temperature"].isVisibleTo(tab)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        qtbot.mouseClick(tab.record_button, Qt.MouseButton.LeftButton)
    assert tab.values() == {}
    assert "outside the normal range" in tab.status.text()
    latest = {o.code: o for o in ctx.clinical.latest_vitals(doc, patient_id=pid)}
    assert latest["85354-9"].interpretation == "H"
    assert latest["39156-5"].value == Decimal("25.9")
    assert tab.chart.plotted_codes() == ["8480-6", "8462-4"]
    assert "BP" in panel.summary_column.vitals.text()


def test_allergy_added_in_the_chart_reaches_the_banner(qtbot, ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    panel = open_chart(qtbot, ctx, doc, pid)
    assert "No allergies recorded" in panel.summary_column.allergies.text()
    dialog = panel.add_entry("allergy")
    qtbot.keyClicks(dialog.inputs["substance"], "Latex")
    qtbot.keyClicks(dialog.inputs["reaction"], "Anaphylaxis")
    dialog.inputs["severity"].setCurrentText("Severe")
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        dialog.submit()
    assert "Latex" in panel.summary_column.allergies.text()
    # The red banner alert of the patient file reads the same list, for every role.
    banner = ctx.clinical.allergy_alerts(actors[Role.RECEPTION], patient_id=pid)
    assert [(a.substance, a.severity) for a in banner] == [("Latex", "severe")]


def test_results_flags_and_mark_reviewed(qtbot, ctx, actors, make_patient):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    insert_incoming_report(
        ctx.core, patient_id=pid, code="58410-2", display="Full blood count",
        issued_at=datetime.now(UTC) - timedelta(hours=3), performer="City Lab",
        results=[IncomingResult("718-7", "Haemoglobin", Decimal("10.9"), "g/dL", Decimal("12"),
                                Decimal("15.5")),
                 IncomingResult("6690-2", "White cell count", Decimal("7.2"), "10*9/L",
                                Decimal("4"), Decimal("11"))])
    panel = open_chart(qtbot, ctx, doc, pid)
    panel.select_tab("results")
    tab = panel.results_tab
    assert panel.tabs.tabText(3) == "Results (1 new)"
    rows = tab.rows
    hb = next(r for r in range(rows.rowCount()) if rows.index(r, 0).data() == "Haemoglobin")
    assert rows.index(hb, 3).data() == "12–15.5"
    assert rows.index(hb, 4).data() == "L Low"
    assert rows.index(hb, 1).data(Qt.ItemDataRole.FontRole).bold()
    wbc = 1 - hb
    assert rows.index(wbc, 1).data(Qt.ItemDataRole.FontRole) is None
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        qtbot.mouseClick(tab.review_button, Qt.MouseButton.LeftButton)
    assert "Reviewed by Dr Siobhan Kelly" in tab.heading.text()
    assert not tab.review_button.isEnabled()
    assert panel.tabs.tabText(3) == "Results"


def test_timeline_filter_and_letter_pdf(qtbot, ctx, actors, make_patient, tmp_path):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    ctx.clinical.record_vitals(doc, patient_id=pid, values={"heart_rate": "88"})
    note = ctx.clinical.create_draft(doc, patient_id=pid, assessment="Migraine without aura")
    ctx.clinical.sign_note(doc, note_id=note.id)
    panel = open_chart(qtbot, ctx, doc, pid)
    assert panel.timeline_tab.visible_kinds() == ["note", "vitals"]
    qtbot.mouseClick(panel.timeline_tab.findChild(type(panel.start_button), "filter_vitals"),
                     Qt.MouseButton.LeftButton)
    assert panel.timeline_tab.visible_kinds() == ["vitals"]

    letters = panel.letters_tab
    letters.kind_box.setCurrentIndex(1)  # medical certificate
    letters.fill_from_chart()
    qtbot.waitUntil(lambda: letters.values()["condition"] == "Migraine without aura", timeout=5000)
    out = tmp_path / "cert.pdf"
    letters.inputs["unfit_to"].clear()
    letters.save_pdf(out)
    qtbot.waitUntil(lambda: "Complete the marked" in letters.status.text(), timeout=5000)
    assert not out.exists() and "#b3261e" in letters.inputs["unfit_to"].styleSheet()
    qtbot.keyClicks(letters.inputs["unfit_to"], "20/05/2025")
    letters.save_pdf(out)
    qtbot.waitUntil(lambda: out.exists() and "Saved" in letters.status.text(), timeout=10000)
    from pypdf import PdfReader

    text = PdfReader(str(out)).pages[0].extract_text()
    assert "Medical certificate" in text and "Mary Murphy" in text and "Migraine" in text


@pytest.mark.skipif(not os.environ.get("PMS_SCREENSHOTS"), reason="set PMS_SCREENSHOTS=1")
def test_screenshots(qtbot, ctx, actors, make_patient):
    """Writes docs/screenshots/chart-*.png from a realistic chart, styled as the application
    styles itself (``ui/app.py`` applies the theme before any window)."""
    from PySide6.QtWidgets import QApplication

    from pms_desktop.ui.theme import apply_theme

    apply_theme(QApplication.instance())
    doc = actors[Role.CLINICIAN]
    pid = populate(ctx, doc, make_patient)
    panel = open_chart(qtbot, ctx, doc, pid)
    panel.show()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for tab, name in (("note", "chart-note"), ("vitals", "chart-vitals"),
                      ("results", "chart-results")):
        panel.select_tab(tab)
        if tab == "note":
            panel.note_editor.open_note(panel.note_editor.model.note(0))
        qtbot.wait(50)
        panel.grab().save(str(SHOTS / f"{name}.png"))


def populate(ctx, doc, make_patient) -> str:  # type: ignore[no-untyped-def]
    """A patient with a year of history: vitals, signed notes, allergies, problems, results."""
    pid = make_patient(given="Aoife", family="Brennan", mrn="MRN-004211")
    c = ctx.clinical
    c.add_allergy(doc, patient_id=pid, substance="Penicillin", reaction="Hives", severity="severe")
    c.add_allergy(doc, patient_id=pid, substance="Latex", reaction="Contact dermatitis",
                  severity="mild")
    c.add_problem(doc, patient_id=pid, display="Essential hypertension",
                  onset=datetime(2019, 3, 1).date())
    c.add_problem(doc, patient_id=pid, display="Type 2 diabetes mellitus",
                  onset=datetime(2021, 9, 1).date())
    c.add_medication(doc, patient_id=pid, name="Ramipril", dose="5 mg", frequency="once daily")
    c.add_medication(doc, patient_id=pid, name="Metformin", dose="500 mg",
                     frequency="twice daily")
    start = datetime.now(UTC) - timedelta(days=330)
    readings = [("162", "98", "84", "88.4"), ("155", "95", "80", "87.9"),
                ("149", "92", "78", "87.0"), ("146", "90", "76", "86.2"),
                ("141", "88", "74", "85.1"), ("136", "86", "72", "84.3"),
                ("131", "84", "70", "83.6"), ("128", "82", "71", "82.9")]
    clock = ctx.core.clock
    try:
        for i, (sys_v, dia, hr, wt) in enumerate(readings):
            at = start + timedelta(days=i * 45)
            ctx.core.clock = lambda at=at: at
            c.record_vitals(doc, patient_id=pid, values={
                "systolic": sys_v, "diastolic": dia, "heart_rate": hr, "weight": wt,
                "height": "168", "temperature": "36.8", "spo2": "98", "respiratory_rate": "14"})
        ctx.core.clock = lambda: datetime.now(UTC) - timedelta(days=40)
        old = c.create_draft(doc, patient_id=pid, subjective="Routine BP review.",
                             assessment="Hypertension, improving on ramipril.",
                             plan="Continue ramipril 5 mg. Review in 3 months.")
        c.sign_note(doc, note_id=old.id)
    finally:
        ctx.core.clock = clock
    enc = c.start_encounter(doc, patient_id=pid)
    note = c.create_draft(
        doc, patient_id=pid, encounter_id=enc.id, template="Diabetes review",
        subjective="Feels well. No hypoglycaemic episodes. Walking 30 minutes most days.\n"
                   "Mild tingling in both feet in the evenings for 2 months.",
        objective="Feet: pulses present, monofilament sensation reduced at both great toes.\n"
                  "BP 128/82 mmHg, weight 82.9 kg (see vitals).",
        assessment="Type 2 diabetes mellitus, suboptimal control (HbA1c 58 mmol/mol).\n"
                   "Early peripheral neuropathy.",
        plan="Increase metformin to 1 g twice daily.\nPodiatry referral.\n"
             "Repeat HbA1c in 3 months.")
    c.sign_note(doc, note_id=note.id)
    c.add_addendum(doc, note_id=note.id, text="Podiatry referral letter sent.")
    insert_incoming_report(
        ctx.core, patient_id=pid, code="24323-8", display="Metabolic panel and HbA1c",
        issued_at=datetime.now(UTC) - timedelta(days=2), performer="City Hospital Laboratory",
        conclusion="HbA1c above target.",
        results=[
            IncomingResult("4548-4", "HbA1c", Decimal("58"), "mmol/mol", Decimal("20"),
                           Decimal("42")),
            IncomingResult("2345-7", "Glucose (fasting)", Decimal("7.9"), "mmol/L",
                           Decimal("3.9"), Decimal("5.8")),
            IncomingResult("2823-3", "Potassium", Decimal("4.3"), "mmol/L", Decimal("3.5"),
                           Decimal("5.1")),
            IncomingResult("2951-2", "Sodium", Decimal("139"), "mmol/L", Decimal("135"),
                           Decimal("145")),
            IncomingResult("2160-0", "Creatinine", Decimal("71"), "umol/L", Decimal("45"),
                           Decimal("90")),
            IncomingResult("33914-3", "eGFR", Decimal("88"), "mL/min/1.73m2", Decimal("60"),
                           None),
        ])
    insert_incoming_report(
        ctx.core, patient_id=pid, code="58410-2", display="Full blood count",
        issued_at=datetime.now(UTC) - timedelta(days=60), performer="City Hospital Laboratory",
        results=[IncomingResult("718-7", "Haemoglobin", Decimal("13.4"), "g/dL", Decimal("12"),
                                Decimal("15.5"))])
    return pid


def test_resolve_a_problem_and_stop_a_medication_from_the_summary(qtbot, ctx, actors, make_patient,
                                                                   monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    problem = ctx.clinical.add_problem(doc, patient_id=pid, display="Acute sinusitis")
    med = ctx.clinical.add_medication(doc, patient_id=pid, name="Amoxicillin", dose="500 mg")
    panel = open_chart(qtbot, ctx, doc, pid)
    assert "Acute sinusitis" in panel.summary_column.problems.text()
    assert f"problem:{problem.id}" in panel.summary_column.problems.text()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.summary_column.problems.linkActivated.emit(f"problem:{problem.id}")
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.summary_column.medications.linkActivated.emit(f"medication:{med.id}")
    assert "Acute sinusitis" not in panel.summary_column.problems.text()
    assert "Amoxicillin" not in panel.summary_column.medications.text()
    statuses = {p.display: p.clinical_status
                for p in ctx.clinical.list_problems(doc, patient_id=pid)}
    assert statuses["Acute sinusitis"] == "resolved"  # kept in the history, not deleted
    assert [m.status for m in ctx.clinical.list_medications(doc, patient_id=pid)] == ["stopped"]


def test_other_roles_get_no_resolve_links(qtbot, ctx, actors, make_patient, monkeypatch):
    doc = actors[Role.CLINICIAN]
    pid = make_patient()
    ctx.clinical.add_problem(doc, patient_id=pid, display="Asthma")
    ctx.accounts.break_glass(actors[Role.RECEPTION], patient_id=pid,
                             reason="Ambulance asks for history")
    panel = open_chart(qtbot, ctx, actors[Role.RECEPTION], pid)
    assert "Asthma" in panel.summary_column.problems.text()
    assert "href" not in panel.summary_column.problems.text()
