"""The chart as the clinician reads it: its forms offer words, not the FHIR codes they store."""

from __future__ import annotations

import re

import pytest

from pms_desktop.domain.enums import Role
from tests.gui.test_chart import open_chart

pytestmark = pytest.mark.usefixtures("themed")
CODE = re.compile(r"^[a-z]+(-[a-z]+)*$")  # 'moderate', 'unable-to-assess'


def _choices(combo) -> list[str]:  # type: ignore[no-untyped-def]
    return [combo.itemText(i) for i in range(combo.count())]


def _pick(combo, text: str) -> None:  # type: ignore[no-untyped-def]
    """Choose ``text`` as a person does: by what the list shows."""
    index = combo.findText(text)
    assert index >= 0, (text, _choices(combo))
    combo.setCurrentIndex(index)


def test_adding_an_allergy_offers_words_and_stores_the_codes(qtbot, ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    panel = open_chart(qtbot, ctx, actors[Role.CLINICIAN], make_patient())
    dialog = panel.add_entry("allergy")
    severity, criticality = dialog.inputs["severity"], dialog.inputs["criticality"]
    shown = _choices(severity) + _choices(criticality)
    assert not [t for t in shown if CODE.match(t)], shown
    assert (severity.currentText(), criticality.currentText()) == ("Moderate", "Unable to assess")
    assert _choices(severity) == ["Mild", "Moderate", "Severe"]  # in the scale's order
    qtbot.keyClicks(dialog.inputs["substance"], "Penicillin")
    _pick(severity, "Severe")
    _pick(criticality, "High risk")
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        dialog.submit()
    saved = dialog.result_value
    assert (saved.substance, saved.severity, saved.criticality) == ("Penicillin", "severe", "high")


def test_adding_a_problem_offers_its_status_in_words(qtbot, ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    panel = open_chart(qtbot, ctx, actors[Role.CLINICIAN], make_patient())
    dialog = panel.add_entry("problem")
    status = dialog.inputs["status"]
    assert _choices(status) == ["Active", "Recurrence", "Inactive", "Resolved"]
    qtbot.keyClicks(dialog.inputs["display"], "Asthma")
    _pick(status, "Resolved")
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        dialog.submit()
    assert (dialog.result_value.display, dialog.result_value.clinical_status) == (
        "Asthma", "resolved")


def test_a_chart_without_allergies_never_says_no_known_allergies(qtbot, ctx, actors, make_patient):  # type: ignore[no-untyped-def]
    """'No known allergies' is a finding a clinician records; with no allergy entered, the
    banner, the chart and a referral letter filled from it say that nothing is recorded."""
    from PySide6.QtWidgets import QLabel

    from pms_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx, actors[Role.CLINICIAN])
    qtbot.addWidget(window)
    window.show()
    pid = make_patient()
    with qtbot.waitSignal(window.patient_opened, timeout=5000):
        window.open_patient(pid, tab="clinical")
    chart = window.patient_file.tabs.widget(window.patient_file.tab_keys.index("clinical"))
    qtbot.waitUntil(lambda: window.banner.data is not None and chart.summary is not None,
                    timeout=5000)

    def chips() -> list[str]:  # a chip added to the shown banner shows at the next event
        return [w.text() for w in window.banner.findChildren(QLabel) if w.isVisible()]

    qtbot.waitUntil(lambda: "No allergies recorded" in chips(), timeout=5000)
    assert "No allergies recorded" in chart.summary_column.allergies.text()
    letters = chart.letters_tab
    letters.kind_box.setCurrentIndex(letters.kind_box.findData("referral"))
    letters.fill_from_chart()
    qtbot.waitUntil(lambda: letters.values().get("allergies", "") != "", timeout=5000)
    assert letters.values()["allergies"] == "None recorded"
    shown = " ".join([*chips(), chart.summary_column.allergies.text(),
                      letters.values()["allergies"]])
    assert "known allergies" not in shown.lower()
