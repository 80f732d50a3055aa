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
