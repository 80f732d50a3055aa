"""FHIR interactions on one clinic's store: read, vread, create, update, delete.

Shared by the REST routes and the Bundle processor so that a transaction entry behaves exactly
like the same request on its own. Writes run on a ``ResourceWriter`` (clinic lock held); reads
take a plain session. Raises the error tree; never builds HTTP responses.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from sync_server.errors import BadRequest, Forbidden, Gone, NotFound, PreconditionFailed
from sync_server.fhir.search_query import parse_search
from sync_server.fhir.validate import check_id, check_storable_type, validate_resource
from sync_server.store import resources as store
from sync_server.store import sync_only
from sync_server.store.resources import ResourceWriter, Stored
from sync_server.store.search import search

__all__ = ["READ_ONLY_TYPES", "WriteResult", "check_id", "check_storable_type", "check_writable",
           "conditional_match", "create", "delete", "parse_etag", "read", "update", "vread"]

# Written only by the server (the central access log), never by a client.
READ_ONLY_TYPES = frozenset({"AuditEvent"})
SYNC_ONLY = "staff accounts are kept through the sync API only, never through FHIR"
_ETAG = re.compile(r'^\s*(W/)?"?(\d{1,9})"?\s*$')


@dataclass(frozen=True)
class WriteResult:
    stored: Stored
    status: int  # 200 or 201


def parse_etag(value: str) -> int:
    match = _ETAG.match(value)
    if not match:
        raise BadRequest('If-Match must look like W/"3"')
    return int(match.group(2))


def check_writable(resource_type: str) -> None:
    check_storable_type(resource_type)
    if resource_type in READ_ONLY_TYPES:
        raise Forbidden(f"{resource_type} is written by the server only")


def read(session: Session, clinic_id: str, resource_type: str, resource_id: str) -> Stored:
    check_storable_type(resource_type)
    check_id(resource_id)
    current = store.get_current(session, clinic_id, resource_type, resource_id)
    if current is None or sync_only.is_marked(session, clinic_id, resource_type, resource_id):
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    if current.deleted:
        raise Gone(f"{resource_type}/{resource_id} was deleted")
    return current


def vread(session: Session, clinic_id: str, resource_type: str, resource_id: str,
          version: str) -> Stored:
    check_storable_type(resource_type)
    check_id(resource_id)
    if not version.isdigit() or len(version) > 9:
        raise NotFound("unknown version")
    found = store.get_version(session, clinic_id, resource_type, resource_id, int(version))
    if found is None or sync_only.is_marked(session, clinic_id, resource_type, resource_id):
        raise NotFound(f"{resource_type}/{resource_id} has no version {version}")
    if found.deleted:
        raise Gone(f"version {version} of {resource_type}/{resource_id} is a deletion")
    return found


def create(writer: ResourceWriter, resource_type: str, body: Any, *,
           if_none_exist: str | None = None, count_max: int = 1000,
           new_id: str | None = None) -> WriteResult:
    """Create with a server-assigned id (a supplied id is ignored, as FHIR says)."""
    check_writable(resource_type)
    resource = validate_resource(body, resource_type)
    if sync_only.is_sync_only(resource):
        raise Forbidden(SYNC_ONLY)
    if if_none_exist:
        found = conditional_match(writer.session, writer.clinic_id, resource_type,
                                  if_none_exist, count_max)
        if found is not None:
            return WriteResult(found, 200)
    stored = writer.save(resource_type, new_id or str(uuid.uuid4()), resource, None)
    return WriteResult(stored, 201)


def conditional_match(session: Session, clinic_id: str, resource_type: str, criteria: str,
                      count_max: int) -> Stored | None:
    """The one match of If-None-Exist criteria; 412 when several match."""
    pairs = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise BadRequest("If-None-Exist needs search criteria")
    query = parse_search(resource_type, pairs, count_max=count_max)
    query.count, query.offset = 2, 0
    total, page = search(session, clinic_id, resource_type, query)
    if total > 1:
        raise PreconditionFailed("If-None-Exist matches more than one resource")
    return page[0] if total == 1 else None


def update(writer: ResourceWriter, resource_type: str, resource_id: str, body: Any, *,
           if_match: str | None = None) -> WriteResult:
    """Update (or create with the client's id); a stale If-Match is a 412."""
    check_writable(resource_type)
    check_id(resource_id)
    resource = validate_resource(body, resource_type)
    if resource.get("id", resource_id) != resource_id:
        raise BadRequest("the resource id differs from the id in the URL", expression="id")
    _refuse_sync_only(writer, resource_type, resource_id, resource)
    current = writer.current(resource_type, resource_id)
    if if_match is not None:
        expected = parse_etag(if_match)
        if current is None or current.version != expected:
            raise PreconditionFailed(
                f"version conflict: If-Match {expected}, current "
                f"{current.version if current else 'none'}")
    stored = writer.save(resource_type, resource_id, resource, current)
    return WriteResult(stored, 201 if current is None else 200)


def delete(writer: ResourceWriter, resource_type: str, resource_id: str, *,
           if_match: str | None = None) -> Stored | None:
    """Delete (a tombstone version); deleting the unknown or deleted is a no-op."""
    check_writable(resource_type)
    check_id(resource_id)
    _refuse_sync_only(writer, resource_type, resource_id, None)
    current = writer.current(resource_type, resource_id)
    if if_match is not None and (current is None or current.version != parse_etag(if_match)):
        raise PreconditionFailed("version conflict on delete")
    if current is None or current.deleted:
        return None
    return writer.save(resource_type, resource_id, None, current)


def _refuse_sync_only(writer: ResourceWriter, resource_type: str, resource_id: str,
                      resource: dict[str, Any] | None) -> None:
    """A FHIR write may neither make a staff account nor touch one (403)."""
    if sync_only.is_sync_only(resource) or sync_only.is_marked(
            writer.session, writer.clinic_id, resource_type, resource_id):
        raise Forbidden(SYNC_ONLY)
