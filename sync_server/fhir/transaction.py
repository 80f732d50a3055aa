"""``transaction`` and ``batch`` Bundles posted to ``/fhir``.

A transaction runs in one database transaction under the clinic lock: entries in FHIR's order
(DELETE, POST, PUT, GET), ``urn:uuid`` full URLs of created entries given real ids and every
reference to them rewritten; any failing entry rolls everything back and is named in the error.
A batch runs each entry in its own savepoint and reports each outcome in the response.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sync_server.auth.principal import Principal
from sync_server.errors import BadRequest, ClientError
from sync_server.fhir import interactions as fhir
from sync_server.fhir.bundles_out import searchset
from sync_server.fhir.outcome import operation_outcome
from sync_server.fhir.search_query import parse_search
from sync_server.store.db import Database
from sync_server.store.resources import ResourceWriter, Stored
from sync_server.store.search import search

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
_STATUS = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}
MAX_ENTRIES = 1000


def process_bundle(db: Database, principal: Principal, body: Any, *, base: str,
                   count_max: int) -> dict[str, Any]:
    kind, entries = _entries(body)
    clinic_id = str(principal.clinic_id)
    with db.write() as session:
        writer = ResourceWriter(session, clinic_id)
        ctx = _Context(writer, principal, base, count_max)
        if kind == "transaction":
            responses = ctx.transaction(entries)
        else:
            responses = ctx.batch(entries)
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses}


def _entries(body: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise BadRequest("POST /fhir takes a Bundle", expression="resourceType")
    kind = body.get("type")
    if kind not in ("transaction", "batch"):
        raise BadRequest("Bundle.type must be transaction or batch", expression="Bundle.type")
    entries = body.get("entry", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRequest("Bundle.entry must be a list of objects", expression="Bundle.entry")
    if len(entries) > MAX_ENTRIES:
        raise BadRequest(f"at most {MAX_ENTRIES} entries per Bundle")
    return kind, entries


def _target(entry: dict[str, Any]) -> tuple[str, str, str | None, str]:
    request = entry.get("request")
    if not isinstance(request, dict):
        raise BadRequest("entry.request is missing")
    method, url = request.get("method"), request.get("url")
    if method not in _ORDER or not isinstance(url, str) or not url:
        raise BadRequest("entry.request needs method GET/POST/PUT/DELETE and a url")
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if "fhir" in segments:
        segments = segments[segments.index("fhir") + 1:]
    if not segments or len(segments) > 2:
        raise BadRequest("entry.request.url must be Type, Type/id or Type?query")
    return method, segments[0], segments[1] if len(segments) == 2 else None, parts.query


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (ids.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, ids))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, ids) for v in node]
    return node


class _Context:
    def __init__(self, writer: ResourceWriter, principal: Principal, base: str,
                 count_max: int) -> None:
        self.writer, self.principal, self.base, self.count_max = writer, principal, base, count_max
        self.ids: dict[str, str] = {}

    def transaction(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        targets = []
        for index, entry in enumerate(entries):
            try:
                targets.append(_target(entry))
            except ClientError as exc:
                raise _at(exc, index) from exc
        for entry, (method, rtype, _, _) in zip(entries, targets, strict=True):
            full_url = entry.get("fullUrl")
            if method == "POST" and isinstance(full_url, str) and full_url.startswith("urn:"):
                self.ids[full_url] = f"{rtype}/{uuid.uuid4()}"
        order = sorted(range(len(entries)), key=lambda i: (
            _ORDER[targets[i][0]], not _if_none_exist(entries[i]), i))
        responses: dict[int, dict[str, Any]] = {}
        for index in order:
            try:
                responses[index] = self._run(entries[index], targets[index])
            except ClientError as exc:
                raise _at(exc, index) from exc
        return [responses[i] for i in range(len(entries))]

    def batch(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        responses = []
        for entry in entries:
            try:
                with self.writer.session.begin_nested():
                    responses.append(self._run(entry, _target(entry)))
            except ClientError as exc:
                outcome = operation_outcome(exc.message, code=exc.code)
                responses.append({"response": {"status": str(exc.status), "outcome": outcome}})
        return responses

    def _run(self, entry: dict[str, Any], target: tuple[str, str, str | None, str]
             ) -> dict[str, Any]:
        method, rtype, rid, query = target
        request = entry["request"]
        self.principal.require(rtype, "read" if method == "GET" else "write")
        if method == "GET":
            return self._get(rtype, rid, query)
        if method == "DELETE":
            if rid is None:
                raise BadRequest("conditional delete is not supported")
            fhir.delete(self.writer, rtype, rid, if_match=_opt(request, "ifMatch"))
            return {"response": {"status": _STATUS[204]}}
        resource = _rewrite(entry.get("resource"), self.ids)
        if method == "POST":
            if rid is not None:
                raise BadRequest("POST goes to a type, not an id")
            full_url = entry.get("fullUrl")
            new_id = self.ids.get(full_url, "").partition("/")[2] if isinstance(full_url, str) \
                else ""
            result = fhir.create(self.writer, rtype, resource,
                                 if_none_exist=_opt(request, "ifNoneExist"),
                                 count_max=self.count_max, new_id=new_id or None)
            if isinstance(full_url, str) and full_url in self.ids:
                self.ids[full_url] = f"{rtype}/{result.stored.resource_id}"
        else:
            if rid is None:
                raise BadRequest("PUT needs Type/id (conditional update is not supported)")
            result = fhir.update(self.writer, rtype, rid, resource,
                                 if_match=_opt(request, "ifMatch"))
        return self._written(result.stored, result.status)

    def _written(self, stored: Stored, status: int) -> dict[str, Any]:
        url = f"{stored.resource_type}/{stored.resource_id}"
        return {"fullUrl": f"{self.base}/{url}", "resource": stored.resource,
                "response": {"status": _STATUS[status],
                             "location": f"{url}/_history/{stored.version}",
                             "etag": stored.etag, "lastModified": stored.last_updated}}

    def _get(self, rtype: str, rid: str | None, query: str) -> dict[str, Any]:
        session, clinic = self.writer.session, self.writer.clinic_id
        if rid is not None:
            stored = fhir.read(session, clinic, rtype, rid)
            return {"fullUrl": f"{self.base}/{rtype}/{rid}", "resource": stored.resource,
                    "response": {"status": _STATUS[200], "etag": stored.etag}}
        fhir.check_storable_type(rtype)
        pairs = parse_qsl(query, keep_blank_values=True)
        parsed = parse_search(rtype, pairs, count_max=self.count_max)
        total, matches = search(session, clinic, rtype, parsed)
        bundle = searchset(self.base, rtype, pairs, offset=parsed.offset, count=parsed.count,
                           total=total, matches=matches)
        return {"resource": bundle, "response": {"status": _STATUS[200]}}


def _opt(request: dict[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"entry.request.{key} must be a string")
    return value


def _if_none_exist(entry: dict[str, Any]) -> bool:
    request = entry.get("request")
    return isinstance(request, dict) and bool(request.get("ifNoneExist"))


def _at(exc: ClientError, index: int) -> ClientError:
    exc.message = f"Bundle.entry[{index}]: {exc.message}"
    exc.expression = f"Bundle.entry[{index}]"
    return exc
