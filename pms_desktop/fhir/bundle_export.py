"""The whole clinic as one FHIR R4 ``Bundle`` (type ``collection``), streamed to a text file.

Deterministic: resources ordered by resource type, then id, with no timestamp, so two
workstations holding the same data write byte-identical files. Memory stays flat however
large the clinic: each table is read in pages by id, each page turned into JSON and dropped
from the session before the next; tables sharing a resource type are merged by id.

Staff credentials are written only when a ``ClinicSecretBox`` is given (sealed); the access
log (AuditEvents) is included on request, since it is this workstation's own and differs
between workstations.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.audit_log import entry_dict
from ..store.models import AuditEntry, ClinicalNote
from . import json_io
from .audit_event import audit_event_for
from .common import BASE, Json
from .mapper import Context
from .mappers_notes import note_extras, provenance_id
from .mapping import MAPPERS, to_resource
from .secret_box import ClinicSecretBox

PAGE = 500


def _table_resources(
    session: Session, table: str, secrets: ClinicSecretBox | None
) -> Iterator[tuple[str, Json]]:
    mapper = MAPPERS[table]
    model = mapper.model
    last = ""
    while True:
        rows = session.scalars(
            select(model).where(model.id > last).order_by(model.id).limit(PAGE)
        ).all()
        if not rows:
            return
        page = [(r.id, to_resource(session, mapper, r, secrets)) for r in rows]
        last = rows[-1].id
        session.expunge_all()
        yield from page


def _provenances(session: Session) -> Iterator[tuple[str, Json]]:
    # Provenance ids are derived from the note ids, so their order differs: sort the id pairs
    # (small), then load the notes a page at a time.
    note_ids = session.scalars(select(ClinicalNote.id).where(ClinicalNote.status == "signed"))
    pairs = sorted((provenance_id(i), i) for i in note_ids)
    for start in range(0, len(pairs), PAGE):
        chunk = pairs[start : start + PAGE]
        for _pid, note_id in chunk:
            note = session.get(ClinicalNote, note_id)
            for res in note_extras(Context(session), note) if note else ():
                yield res["id"], res
        session.expunge_all()


def _audit_events(session: Session) -> Iterator[tuple[str, Json]]:
    last = ""
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(PAGE)
        ).all()
        if not rows:
            return
        page = [(r.id, audit_event_for(entry_dict(r))) for r in rows]
        last = rows[-1].id
        session.expunge_all()
        yield from page


def _streams(
    session: Session, include_audit: bool, secrets: ClinicSecretBox | None
) -> dict[str, list[Iterator[tuple[str, Json]]]]:
    by_type: dict[str, list[Iterator[tuple[str, Json]]]] = {}
    for table, mapper in MAPPERS.items():
        by_type.setdefault(mapper.resource_type, []).append(
            _table_resources(session, table, secrets)
        )
    by_type.setdefault("Provenance", []).append(_provenances(session))
    if include_audit:
        by_type.setdefault("AuditEvent", []).append(_audit_events(session))
    return by_type


def write_bundle(
    session: Session,
    out: TextIO,
    *,
    include_audit: bool = False,
    secrets: ClinicSecretBox | None = None,
) -> int:
    """Write the Bundle to ``out``; returns the number of entries."""
    out.write('{"resourceType":"Bundle","type":"collection"')
    count = 0
    streams = _streams(session, include_audit, secrets)
    for rtype in sorted(streams):
        merged: Any = heapq.merge(*streams[rtype], key=lambda pair: pair[0])
        for rid, resource in merged:
            out.write(',"entry":[' if count == 0 else ",")
            out.write(json_io.dumps({"fullUrl": f"{BASE}/{rtype}/{rid}", "resource": resource}))
            out.write("\n")
            count += 1
    out.write("]}\n" if count else "}\n")
    return count
