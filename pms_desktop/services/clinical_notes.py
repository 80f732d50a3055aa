"""Clinical notes: drafts (autosaved), signing, addenda and note templates.

A draft is saved durably on every ``save_draft`` (its own transaction, WAL with
``synchronous=FULL``), so a crash loses only what was typed since the last acknowledged save.
Signing locks the note: clinician, time and a SHA-256 of the content; afterwards every edit is
refused with ``ConflictError`` and only an addendum (itself signed at once) can be added.
"""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import select

from ..domain.enums import NoteKind, NoteStatus
from ..domain.errors import ConflictError, NotFound, ValidationError
from ..domain.permissions import Permission
from ..store.models import Clinic, ClinicalNote, Encounter, NoteTemplate
from .base import ServiceCore, UnitOfWork, operation
from .clinical_dto import NoteInfo, NoteTemplateInfo
from .clinical_encounters import finish_encounter
from .clinical_rows import note_hash, note_info, owned, patient_row, staff_names
from .clinical_seal import NoteSeals

SOAP = ("subjective", "objective", "assessment", "plan")
MAX_SECTION = 100_000


def shipped_templates() -> list[NoteTemplateInfo]:
    path = resources.files("pms_desktop").joinpath("resources/note-templates.json")
    text = path.read_text("utf-8")
    return [NoteTemplateInfo(None, t["name"], t.get("subjective", ""), t.get("objective", ""),
                             t.get("assessment", ""), t.get("plan", ""))
            for t in json.loads(text)["templates"]]


def _check_sections(sections: dict[str, str | None]) -> dict[str, str]:
    errors = {k: "This section is too long." for k, v in sections.items()
              if v is not None and len(v) > MAX_SECTION}
    if errors:
        raise ValidationError(errors)
    return {k: v for k, v in sections.items() if v is not None}


def _editable(uow: UnitOfWork, note_id: str) -> ClinicalNote:
    note = uow.session.get(ClinicalNote, note_id)
    if note is None:
        raise NotFound("That note does not exist.")
    if note.status != NoteStatus.DRAFT.value:
        raise ConflictError("This note is signed and cannot be changed. Add an addendum instead.")
    return note


class NoteOps:
    core: ServiceCore

    @operation(Permission.WRITE_CLINICAL, "note.create", patient_arg="patient_id",
               resource_type="Composition")
    def create_draft(self, uow: UnitOfWork, *, patient_id: str, encounter_id: str | None = None,
                     template: str | None = None, subjective: str = "", objective: str = "",
                     assessment: str = "", plan: str = "") -> NoteInfo:
        s = uow.session
        patient_row(s, patient_id)
        if encounter_id:
            owned(s, Encounter, encounter_id, patient_id, "encounter")
        sections = _check_sections(dict(subjective=subjective, objective=objective,
                                        assessment=assessment, plan=plan))
        assert uow.actor is not None
        note = ClinicalNote(patient_id=patient_id, encounter_id=encounter_id,
                            author_id=uow.actor.user_id, kind=NoteKind.NOTE.value,
                            template=template, status=NoteStatus.DRAFT.value,
                            created_at=self.core.now(), **sections)
        s.add(note)
        uow.changed(note)
        return note_info(note, staff_names(s, {note.author_id}))

    @operation(Permission.WRITE_CLINICAL, "note.save_draft", resource_type="Composition")
    def save_draft(self, uow: UnitOfWork, *, note_id: str, subjective: str | None = None,
                   objective: str | None = None, assessment: str | None = None,
                   plan: str | None = None, template: str | None = None) -> NoteInfo:
        note = _editable(uow, note_id)
        sections = _check_sections(dict(subjective=subjective, objective=objective,
                                        assessment=assessment, plan=plan))
        for key, value in sections.items():
            setattr(note, key, value)
        if template is not None:
            note.template = template
        uow.changed(note)
        uow.audit("note.save_draft", resource_type="Composition", resource_id=note.id,
                  patient_id=note.patient_id)
        return note_info(note, staff_names(uow.session, {note.author_id}))

    @operation(Permission.SIGN_NOTES, "note.sign", resource_type="Composition")
    def sign_note(self, uow: UnitOfWork, *, note_id: str) -> NoteInfo:
        note = _editable(uow, note_id)
        if not any((getattr(note, k) or "").strip() for k in SOAP):
            raise ValidationError({"subjective": "An empty note cannot be signed."})
        self._lock(uow, note)
        enc = uow.session.get(Encounter, note.encounter_id) if note.encounter_id else None
        if enc is not None:
            finish_encounter(uow, enc, note.signed_at or self.core.now())
        uow.audit("note.sign", resource_type="Composition", resource_id=note.id,
                  patient_id=note.patient_id, detail={"hash": note.content_hash})
        self.core.notify("clinical.changed", patient_id=note.patient_id, what="note")
        if enc is not None and enc.appointment_id:
            self.core.notify("schedule.changed", appointment_id=enc.appointment_id)
        return note_info(note, staff_names(uow.session, {note.author_id, note.signed_by_id}))

    def _lock(self, uow: UnitOfWork, note: ClinicalNote) -> None:
        assert uow.actor is not None
        note.status = NoteStatus.SIGNED.value
        note.signed_at = self.core.now()
        note.signed_by_id = uow.actor.user_id
        note.content_hash = note_hash(note)
        uow.changed(note)

    @operation(Permission.SIGN_NOTES, "note.addendum", resource_type="Composition")
    def add_addendum(self, uow: UnitOfWork, *, note_id: str, text: str) -> NoteInfo:
        original = uow.session.get(ClinicalNote, note_id)
        if original is None:
            raise NotFound("That note does not exist.")
        if original.status != NoteStatus.SIGNED.value:
            raise ConflictError("Only a signed note takes an addendum; edit the draft instead.")
        if not text.strip():
            raise ValidationError({"text": "Write the addendum first."})
        _check_sections({"text": text})
        if original.kind == NoteKind.ADDENDUM.value and original.addendum_to_id:
            original = uow.session.get(ClinicalNote, original.addendum_to_id) or original
        assert uow.actor is not None
        add = ClinicalNote(patient_id=original.patient_id, encounter_id=original.encounter_id,
                           author_id=uow.actor.user_id, kind=NoteKind.ADDENDUM.value,
                           addendum_to_id=original.id, subjective=text.strip(),
                           status=NoteStatus.DRAFT.value, created_at=self.core.now())
        uow.session.add(add)
        uow.session.flush()
        self._lock(uow, add)
        uow.audit("note.addendum", resource_type="Composition", resource_id=add.id,
                  patient_id=add.patient_id, detail={"addendum_to": original.id})
        self.core.notify("clinical.changed", patient_id=add.patient_id, what="note")
        return note_info(add, staff_names(uow.session, {add.author_id}))

    @operation(Permission.READ_CLINICAL, "note.list", patient_arg="patient_id",
               resource_type="Composition")
    def list_notes(self, uow: UnitOfWork, *, patient_id: str) -> list[NoteInfo]:
        """The patient's notes, newest first, each with its addenda (oldest first)."""
        s = uow.session
        patient_row(s, patient_id)
        rows = list(s.scalars(select(ClinicalNote).where(ClinicalNote.patient_id == patient_id)
                              .order_by(ClinicalNote.created_at.desc())))
        ids: set[str | None] = {r.author_id for r in rows}
        ids.update(r.signed_by_id for r in rows)
        names, seals = staff_names(s, ids), NoteSeals(s)
        addenda: dict[str, list[NoteInfo]] = {}
        for r in reversed(rows):
            if r.kind == NoteKind.ADDENDUM.value and r.addendum_to_id:
                addenda.setdefault(r.addendum_to_id, []).append(note_info(r, names, seals=seals))
        return [note_info(r, names, tuple(addenda.get(r.id, ())), seals)
                for r in rows if r.kind == NoteKind.NOTE.value]

    @operation(Permission.READ_CLINICAL, "note.read", patient_arg="patient_id",
               resource_type="Composition")
    def get_note(self, uow: UnitOfWork, *, patient_id: str, note_id: str) -> NoteInfo:
        s = uow.session
        note = owned(s, ClinicalNote, note_id, patient_id, "note")
        assert isinstance(note, ClinicalNote)
        adds = list(s.scalars(select(ClinicalNote).where(ClinicalNote.addendum_to_id == note.id)
                              .order_by(ClinicalNote.created_at)))
        ids: set[str | None] = {n.author_id for n in [note, *adds]}
        names = staff_names(s, ids | {n.signed_by_id for n in [note, *adds]})
        seals = NoteSeals(s)
        return note_info(note, names, tuple(note_info(a, names, seals=seals) for a in adds), seals)

    @operation(Permission.READ_CLINICAL, "note.templates")
    def list_templates(self, uow: UnitOfWork) -> list[NoteTemplateInfo]:
        rows = uow.session.scalars(select(NoteTemplate).where(NoteTemplate.active.is_(True))
                                   .order_by(NoteTemplate.name))
        own = [NoteTemplateInfo(t.id, t.name, t.subjective, t.objective, t.assessment, t.plan)
               for t in rows]
        names = {t.name for t in own}
        return own + [t for t in shipped_templates() if t.name not in names]

    @operation(Permission.WRITE_CLINICAL, "note.template_save", resource_type="Basic")
    def save_template(self, uow: UnitOfWork, *, name: str, subjective: str = "",
                      objective: str = "", assessment: str = "",
                      plan: str = "") -> NoteTemplateInfo:
        if not name.strip():
            raise ValidationError({"name": "Give the template a name."})
        s = uow.session
        row = s.scalars(select(NoteTemplate).where(NoteTemplate.name == name.strip())).first()
        if row is None:
            clinic_id = s.scalars(select(Clinic.id)).one()
            row = NoteTemplate(clinic_id=clinic_id, name=name.strip())
            s.add(row)
        row.subjective, row.objective, row.assessment, row.plan = (
            subjective, objective, assessment, plan)
        row.active = True
        uow.changed(row)
        return NoteTemplateInfo(row.id, row.name, subjective, objective, assessment, plan)
