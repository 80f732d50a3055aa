"""Records as FHIR resources for the sync engine: the ``ResourceMap`` protocol and a fallback.

The service layer hands the engine a ``ResourceMap``: the FHIR mapping (``pms_desktop.fhir``,
which this package may not import: they are sibling layers) when it imports cleanly, else the
thin ``FallbackMap`` here for Patient and Appointment: the FHIR elements the server needs to
validate, and every column in an extension of its own (a round trip keeps every column, and the
three-way merge works column by column).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from ..domain.errors import NotFound, ValidationError
from ..store.models import Appointment, Patient

Json = dict[str, Any]
COL = "https://clinic-pms.example/fhir/StructureDefinition/sync-column-"
LOCAL_MODELS: dict[str, type[Any]] = {"patient": Patient, "appointment": Appointment}
RESOURCE_TABLE = {"Patient": "patient", "Appointment": "appointment"}


class ResourceMap(Protocol):
    tables: tuple[str, ...]
    derived: frozenset[str]  # top-level elements recomputed from others: never merged

    def resource_for(self, session: Session, table: str, row_id: str) -> Json: ...
    def resources_for(self, session: Session, table: str, row_ids: Sequence[str]
                      ) -> dict[str, Json]: ...  # for the push: missing rows left out
    def table_for(self, resource: Json) -> str: ...
    def apply(self, session: Session, resource: Json,
              server_version: int | None) -> tuple[str, str]: ...
    def model(self, table: str) -> type[Any]: ...


def table_holding(session: Session, rmap: ResourceMap, resource_type: str,
                  rid: str) -> str | None:
    """The local table holding record ``rid`` of ``resource_type``, found by its id: one FHIR
    type may come from several tables (Basic: staff accounts and note templates; Invoice:
    invoices and credit notes), so the type alone does not say which. None when none holds it."""
    for table in rmap.tables:
        model = rmap.model(table)
        if model.__fhir_type__ == resource_type and session.get(model, rid) is not None:
            return table
    return None


class FallbackMap:
    """Patient and Appointment only, columns carried in extensions."""

    tables = tuple(LOCAL_MODELS)
    derived = frozenset({"name", "gender", "birthDate", "active", "status", "start", "end",
                         "participant"})

    def model(self, table: str) -> type[Any]:
        return LOCAL_MODELS[table]

    def resource_for(self, session: Session, table: str, row_id: str) -> Json:
        model = LOCAL_MODELS[table]
        row = session.get(model, row_id)
        if row is None:
            raise NotFound(f"No {table} record {row_id}.")
        cols = [c.key for c in sa_inspect(model).column_attrs
                if c.key not in ("id", "server_version", "local_revision")]
        ext = [{"url": COL + c, "valueString": json.dumps(_plain(getattr(row, c)))} for c in cols]
        res: Json = {"resourceType": model.__fhir_type__, "id": row.id, "extension": ext}
        if row.server_version is not None:
            res["meta"] = {"versionId": str(row.server_version)}
        if table == "patient":
            res.update(active=bool(row.active), name=[{"family": row.family, "given": [row.given]}],
                       gender=row.sex if row.sex in ("male", "female", "other") else "unknown",
                       birthDate=row.birth_date.isoformat())
        else:
            res.update(status=_appointment_status(row.status), start=_iso(row.start_at),
                       end=_iso(row.end_at),
                       participant=[{"actor": {"reference": f"Patient/{row.patient_id}"},
                                     "status": "accepted"},
                                    {"actor": {"reference": f"Practitioner/{row.practitioner_id}"},
                                     "status": "accepted"}])
        return res

    def resources_for(self, session: Session, table: str, row_ids: Sequence[str]
                      ) -> dict[str, Json]:
        out = {}
        for rid in row_ids:
            try:
                out[rid] = self.resource_for(session, table, rid)
            except NotFound:
                continue
        return out

    def table_for(self, resource: Json) -> str:
        table = RESOURCE_TABLE.get(str(resource.get("resourceType")))
        if table is None:
            raise ValidationError({"resourceType": "not held locally"}, "No local record holds it.")
        return table

    def apply(self, session: Session, resource: Json,
              server_version: int | None) -> tuple[str, str]:
        table = self.table_for(resource)
        model = LOCAL_MODELS[table]
        rid = str(resource["id"])
        mapper = sa_inspect(model)
        values: dict[str, Any] = {}
        for e in resource.get("extension") or ():
            url = str(e.get("url", ""))
            if url.startswith(COL) and url[len(COL):] in mapper.columns:
                name = url[len(COL):]
                values[name] = _typed(mapper.columns[name].type, json.loads(e["valueString"]))
        row = session.get(model, rid)
        if row is None:
            row = model(id=rid, local_revision=1)
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        if server_version is not None:
            row.server_version = server_version
        session.flush()
        return table, rid


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _typed(col_type: Any, value: Any) -> Any:
    if value is None:
        return None
    py = getattr(col_type, "python_type", None)
    try:
        py = col_type.impl.python_type if py is None else py
    except (AttributeError, NotImplementedError):
        pass
    name = type(col_type).__name__
    if name == "UtcDateTime" or py is datetime:
        return datetime.fromisoformat(value)
    if py is date:
        return date.fromisoformat(value)
    return value


def _iso(value: datetime) -> str:
    return value.isoformat()


def _appointment_status(status: str) -> str:
    known = {"booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
             "checked-in", "waitlist", "proposed", "pending"}
    return status if status in known else ("fulfilled" if status == "completed" else "booked")
