"""The clinical service (``ctx.clinical``): what a clinician does in a consultation.

One class assembled from one module per concern, each operation declared with its permission
(``READ_CLINICAL`` for every read, audited with its patient; ``WRITE_CLINICAL`` and
``SIGN_NOTES`` for writes):

- ``clinical_encounters``: start_encounter, current_encounter, list_encounters
- ``clinical_notes``: create_draft, save_draft, sign_note, add_addendum, list_notes, get_note,
  list_templates, save_template
- ``clinical_vitals``: record_vitals, latest_vitals, vital_trends
- ``clinical_lists``: allergies, problems, medications, allergy_alerts (banner), chart_summary
- ``clinical_results``: list_results, mark_reviewed (+ insert_incoming_report for pulls/tests)
- ``clinical_timeline``: timeline
- ``clinical_letters``: letter_draft, letter_pdf

Reception and managers are refused by the policy; break-glass grants READ_CLINICAL reads that
name their patient (``services.base``).
"""

from __future__ import annotations

from .base import ServiceCore
from .clinical_encounters import EncounterOps
from .clinical_letters import LetterOps
from .clinical_lists import ListOps
from .clinical_notes import NoteOps
from .clinical_results import ResultOps
from .clinical_timeline import TimelineOps
from .clinical_vitals import VitalsOps


class ClinicalService(EncounterOps, NoteOps, VitalsOps, ListOps, ResultOps, TimelineOps, LetterOps):
    def __init__(self, core: ServiceCore) -> None:
        self.core = core
