"""A pulled record written in bulk (``mapping.new_record``: rows for a new record, or for a
newer version of a held one) holds what ``apply_resource`` writes, a column whose attribute is
named apart included: a coverage's and a related person's ``relationship`` (the attribute
``relationship_``) were dropped, so a new related person could not be stored and a coverage
became "self" whatever the clinic had."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pms_desktop.context import AppContext
from pms_desktop.domain.enums import Role
from pms_desktop.fhir import mapping
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.models import Coverage, RelatedPerson


def test_rows_made_for_the_bulk_writers_name_every_column(
        ctx: AppContext, actors: dict[Role, Any]) -> None:
    desk = actors[Role.RECEPTION]
    pid = ctx.patients.register_patient(desk, draft=PatientDraft(  # type: ignore[attr-defined]
        given="Áine", family="Ó Briain", birth_date="1990-01-02", sex="female",
        emergency_name="Máire", emergency_relationship="Mother", emergency_phone="0861112223",
        coverage_payer="VHI", coverage_member_id="M-1")).id
    with ctx.db.sessions()() as s, s.begin():
        cover = s.scalars(select(Coverage).where(Coverage.patient_id == pid)).one()
        cover.relationship_ = "spouse"
    with ctx.db.sessions()() as s:
        for model, table, value in ((Coverage, "coverage", "spouse"),
                                    (RelatedPerson, "related_person", "Mother")):
            rid = s.scalars(select(model.id).where(model.patient_id == pid)).one()
            resource = mapping.resource_for(s, table, rid)
            for held in (False, True):
                made = mapping.new_record(s, resource, server_version=3, held=held)
                assert made.row["relationship"] == value, (table, held)
                assert "relationship_" not in made.row
