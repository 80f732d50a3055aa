"""Attacks across tenants: a device (or a system client) of clinic A tries every endpoint the
server has against clinic B's resources, and a revoked credential tries every endpoint again.

The endpoints are enumerated from the FastAPI application itself, so a route added tomorrow is
attacked without anyone editing this file. Each route is called with A's credential and every
path parameter pointing at B (B's resource ids of three types, B's clinic, device and client
ids), GETs with search, paging and filter parameters naming B's records, and writes with each
body shape the API knows (a resource, a transaction and a batch Bundle that read, search,
update, delete and conditionally create B's records, a sync push that updates B's patient and
replays B's own change id, an audit upload replaying B's chain, and a generic object).

A leak is any answer that holds B's data (canary values only B's records contain; before A has
written anything, also B's ids where A did not name them), any change to B's rows in the store,
a 5xx, an error that is not an OperationOutcome, or a read of one of B's resources that is not
403/404. On SQLite and PostgreSQL, as the server suite runs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sync_server.auth import service as auth
from sync_server.cli import main as server_cli
from sync_server.store.models import Base
from tests.reliability.figures import record
from tests.server.conftest import (  # noqa: F401  (fixtures: the server suite's stores)
    client,
    database_url,
    fast_dir,
    new_tenant,
    pg_schema,
    settings,
    shared_database,
    sqlite_template,
)
from tests.server.server_helpers import Tenant, db_of
from tests.server.test_audit_chain import GENESIS, sealed

pytestmark = pytest.mark.reliability

# Values only clinic B's records hold. A never sends them, so an answer holding one is a leak.
FAMILY_B = "Quuxbury"
OBSERVED_B = "Quuxbury-observed-71"
AUDITOR_B = "quuxbury-auditor"
CLINIC_B = "Clinic Quuxbury"
IDENT_B = "B-ID-5521"  # A does search with this: it may be echoed, so it is not a canary
CANARIES = (FAMILY_B, OBSERVED_B, AUDITOR_B, CLINIC_B)
PARAM = r"{(\w+)(?::\w+)?}"
# Doors that need no credential, answered the same to anyone.
PUBLIC = {"/healthz", "/readyz", "/fhir/metadata", "/openapi.json", "/sync/enrol", "/admin/token",
          "/auth/token"}


@dataclass
class ClinicB:
    tenant: Tenant
    patient: str
    observation: str
    audit_event: str
    client_id: str
    replayed_change: dict[str, Any]

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.patient, self.observation, self.audit_event)


@dataclass
class Findings:
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)


def served_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) the application serves, however routers are nested."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI with included-router views
        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = list(app.routes)
    out = []
    for route in routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method not in ("HEAD", "OPTIONS"):
                out.append((method, str(route.path)))
    assert out, "no routes found: the enumeration itself is broken"
    return out


def _push(http: TestClient, tenant: Tenant, *changes: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.post("/sync/push", json={"changes": list(changes)}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def _change(rtype: str, rid: str, base: str | None, resource: dict[str, Any] | None,
            op: str = "upsert") -> dict[str, Any]:
    return {"change_id": str(uuid.uuid4()), "resource_type": rtype, "resource_id": rid,
            "op": op, "base_version": base, "resource": resource}


def _patient(pid: str, family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family, "given": ["Jo"]}],
            "identifier": [{"system": "urn:clinic-b", "value": IDENT_B}] if family == FAMILY_B
            else []}


def _observation(oid: str, pid: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"text": "note"}, "subject": {"reference": f"Patient/{pid}"},
            "valueString": OBSERVED_B}


def _chain(user: str, pid: str) -> list[dict[str, Any]]:
    """Two entries of a workstation's access log, hashed as docs/sync-protocol.md says."""
    entries, prev = [], GENESIS
    for seq in (1, 2):
        entry = sealed({"seq": seq, "prev_hash": prev, "at": f"2024-05-01T10:00:0{seq}Z",
                        "user": user, "role": "clinician", "action": "read",
                        "entity_type": "Patient", "entity_id": pid, "patient_id": pid,
                        "detail": "Chart opened"})
        prev = entry["hash"]
        entries.append(entry)
    return entries


def _make_clinic_b(client: TestClient, new_tenant: Any) -> ClinicB:  # noqa: F811
    tenant = new_tenant(CLINIC_B)
    pid, oid = str(uuid.uuid4()), str(uuid.uuid4())
    _push(client, tenant, _change("Patient", pid, None, _patient(pid, FAMILY_B)),
          _change("Observation", oid, None, _observation(oid, pid)))
    _push(client, tenant, _change("Patient", pid, "1", _patient(pid, FAMILY_B)))  # version 2
    # A stale change: its recorded answer is a conflict carrying B's current patient (the body
    # itself holds no canary, so A replaying it and getting its own answer is no leak).
    stale = _change("Patient", pid, None, _patient(pid, "Stale"))
    assert _push(client, tenant, stale)[0]["status"] == "conflict"
    entries = _chain(AUDITOR_B, pid)
    uploaded = client.post("/sync/audit", json={"entries": entries}, headers=tenant.headers)
    assert uploaded.status_code == 200, uploaded.text
    events = client.get("/fhir/AuditEvent", headers=tenant.headers).json()
    client_id, _ = auth.add_system_client(db_of(client), tenant.clinic_id, "b-lab",
                                          ["system/*.*"])
    return ClinicB(tenant, pid, oid, events["entry"][0]["resource"]["id"], client_id, stale)


def _system_token(http: TestClient, clinic_id: str) -> dict[str, str]:
    client_id, secret = auth.add_system_client(db_of(http), clinic_id, "a-lab", ["system/*.*"])
    issued = http.post("/auth/token", data={"grant_type": "client_credentials",
                                              "client_id": client_id, "client_secret": secret})
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


# -- what A sends ----------------------------------------------------------------------------


def _targets(path: str, b: ClinicB, *, every_type: bool = True) -> Iterator[tuple[str, bool]]:
    """Each concrete path for a template, pointed at B; True when it names one B resource.
    An unknown parameter gets B's patient id, the likeliest thing to name."""
    names = re.findall(PARAM, path)
    types = (("Patient", b.patient), ("Observation", b.observation),
             ("AuditEvent", b.audit_event))
    for rtype, rid in types if "resource_type" in names and every_type else types[:1]:
        values = {"resource_type": rtype, "resource_id": rid, "version": "1",
                  "clinic_id": b.tenant.clinic_id, "device_id": b.tenant.device_id,
                  "client_id": b.client_id}
        concrete = re.sub(PARAM, _filler(values, b.patient), path)
        yield concrete, "resource_id" in names


def _filler(values: dict[str, str], default: str) -> Callable[[re.Match[str]], str]:
    return lambda match: values.get(match.group(1), default)


def _queries(b: ClinicB) -> list[dict[str, str]]:
    return [{}, {"_id": b.patient, "name": FAMILY_B[:4], "identifier": IDENT_B},
            {"subject": f"Patient/{b.patient}", "patient": b.patient, "cursor": "0",
             "limit": "1000", "_count": "1000"}]


def _bodies(b: ClinicB) -> list[dict[str, Any]]:
    pid, oid = b.patient, b.observation
    evil = _patient(pid, "Evil")
    entries = [
        {"request": {"method": "GET", "url": f"Patient/{pid}"}},
        {"request": {"method": "GET", "url": f"Patient?identifier={IDENT_B}"}},
        {"request": {"method": "GET", "url": f"Observation?subject=Patient/{pid}"}},
        {"resource": evil, "request": {"method": "PUT", "url": f"Patient/{pid}",
                                       "ifMatch": 'W/"2"'}},
        {"resource": _patient(str(uuid.uuid4()), "Evil"),
         "request": {"method": "PUT", "url": f"Patient?identifier={IDENT_B}"}},
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": {**evil, "id": None},
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={IDENT_B}"}},
        {"request": {"method": "DELETE", "url": f"Observation/{oid}"}},
    ]
    push = {"changes": [_change("Patient", pid, "2", evil),
                        _change("Observation", oid, "1", None, op="delete"),
                        b.replayed_change]}
    generic = {"name": "Evil", "code": "ABCD-EFGH-JKLM-NPQR", "username": "root",
               "password": "x" * 12, "totp": "123456", "key_id": "evil",
               "wrapped": {"alg": "evil"}, "grant_type": "client_credentials",
               "client_id": b.client_id, "client_secret": "guess", "device_name": "evil"}
    # The sync and generic shapes go in one object: each endpoint reads the keys it knows.
    return [evil, {"resourceType": "Bundle", "type": "transaction", "entry": entries},
            {"resourceType": "Bundle", "type": "batch", "entry": entries},
            {**push, "entries": _chain("a-user", b.patient), **generic}]


# -- what counts as a leak ---------------------------------------------------------------------


def _check(findings: Findings, label: str, response: Any, *, secrets: tuple[str, ...],
           names_b_resource: bool) -> None:
    findings.requests += 1
    text = response.text
    if response.status_code >= 500:
        findings.leaks.append(f"{label}: {response.status_code}")
    for secret in secrets:
        if secret in text:
            findings.leaks.append(f"{label}: answered with B's {secret!r}: {text[:300]}")
    if response.status_code >= 400:
        try:
            kind = response.json().get("resourceType")
        except ValueError:
            kind = None
        if kind != "OperationOutcome":
            findings.leaks.append(f"{label}: error {response.status_code} without an "
                                  "OperationOutcome")
    if names_b_resource and response.status_code not in (401, 403, 404, 410):
        findings.leaks.append(f"{label}: B's resource answered {response.status_code}")


def _reads(http: TestClient, routes: list[tuple[str, str]], b: ClinicB,
           headers: dict[str, str], findings: Findings, *, before_writes: bool,
           queries: bool = True) -> None:
    """Before A writes anything, B's ids are secrets too (unless A named them) and a read of
    one of B's resources must be refused; afterwards A may hold its own records with B's ids."""
    for method, path in routes:
        if method != "GET":
            continue
        for url, names_b in _targets(path, b):
            for query in _queries(b) if queries and before_writes and not names_b else [{}]:
                response = http.get(url, params=query, headers=headers)
                asked = url + json.dumps(query)
                hidden = tuple(i for i in b.ids if i not in asked) if before_writes else ()
                findings.routes.add(f"{method} {path}")
                _check(findings, f"GET {url} {query}", response, secrets=CANARIES + hidden,
                       names_b_resource=names_b and before_writes)


def _writes(http: TestClient, routes: list[tuple[str, str]], b: ClinicB,
            headers: dict[str, str], findings: Findings) -> None:
    extra = {"If-Match": 'W/"2"', "If-None-Exist": f"identifier={IDENT_B}"}
    for method, path in routes:
        if method == "GET":
            continue
        for url, _names_b in _targets(path, b, every_type=method == "DELETE"):
            for body in _bodies(b) if method != "DELETE" else [None]:
                response = http.request(method, url, json=body, headers={**headers, **extra})
                findings.routes.add(f"{method} {path}")
                _check(findings, f"{method} {url} {str(body)[:80]}", response,
                       secrets=CANARIES, names_b_resource=False)


def _snapshot(http: TestClient, b: ClinicB) -> dict[str, list[str]]:
    """Every row of the store that belongs to clinic B, whatever tables exist."""
    db = db_of(http)
    out: dict[str, list[str]] = {}
    with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if "clinic_id" in table.c:
                where = table.c.clinic_id == b.tenant.clinic_id
            elif table.name == "clinics":
                where = table.c.id == b.tenant.clinic_id
            else:
                continue
            rows = session.execute(select(table).where(where)).all()
            out[table.name] = sorted(repr(tuple(row)) for row in rows)
    return out


# -- the tests -------------------------------------------------------------------------------


def test_clinic_a_cannot_read_or_write_clinic_b_through_any_endpoint(
        client: TestClient, new_tenant: Any) -> None:  # noqa: F811
    b = _make_clinic_b(client, new_tenant)
    a = new_tenant("Clinic A")
    routes = served_routes(client.app)
    before = _snapshot(client, b)
    findings = Findings()
    credentials = {"device": a.headers, "system client": _system_token(client, a.clinic_id)}
    for name, headers in credentials.items():
        _reads(client, routes, b, headers, findings, before_writes=True,
               queries=name == "device")
    for headers in credentials.values():
        _writes(client, routes, b, headers, findings)
    _reads(client, routes, b, a.headers, findings, before_writes=False)
    after = _snapshot(client, b)
    changed = [name for name in before if before[name] != after.get(name)]
    findings.leaks.extend(f"B's {name} rows changed" for name in changed)
    record("attacks", trials=1, faults=findings.requests, leaks=len(findings.leaks))
    assert findings.routes == {f"{m} {p}" for m, p in routes}  # every route was attacked
    assert not findings.leaks, "\n".join(findings.leaks[:20])
    own = client.get(f"/fhir/Patient/{b.patient}", headers=b.tenant.headers)
    assert own.status_code == 200 and own.json()["name"][0]["family"] == FAMILY_B
    assert own.json()["meta"]["versionId"] == "2"


def test_revoked_credentials_are_refused_on_the_next_request_everywhere(
        client: TestClient, new_tenant: Any, database_url: str) -> None:  # noqa: F811
    """Revoked with the admin command while the server runs: no cache window."""
    b = _make_clinic_b(client, new_tenant)
    a = new_tenant("Clinic A")
    system = _system_token(client, a.clinic_id)
    assert client.get("/sync/digest", headers=a.headers).status_code == 200
    assert client.get("/fhir/Patient", headers=system).status_code == 200
    with db_of(client).read() as session:
        from sync_server.store.models import SystemClient
        system_id = session.execute(select(SystemClient.id).where(
            SystemClient.clinic_id == a.clinic_id)).scalar_one()
    assert server_cli(["admin", "device-revoke", "--database-url", database_url,
                       a.device_id]) == 0
    assert server_cli(["admin", "system-client-revoke", "--database-url", database_url,
                       system_id]) == 0
    findings = Findings()
    routes = [(m, p) for m, p in served_routes(client.app) if p not in PUBLIC]
    for headers in (a.headers, system):
        for method, path in routes:
            url, _ = next(_targets(path, b))
            response = client.request(method, url, json={}, headers=headers)
            findings.requests += 1
            if response.status_code != 401 or \
                    response.json().get("resourceType") != "OperationOutcome":
                findings.leaks.append(f"{method} {url}: {response.status_code}")
    record("attacks", trials=1, faults=findings.requests, leaks=len(findings.leaks))
    assert not findings.leaks, "\n".join(findings.leaks)
