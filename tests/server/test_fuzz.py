"""Property-based fuzzing of the sync, admin, auth and FHIR endpoints: never a 5xx.

The test client re-raises any unhandled server exception, so a crash fails the example even
before the status check. Bounded (``max_examples`` 40-50, no deadline) to keep the suite fast.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_server.auth import service as auth
from tests.server.server_helpers import Tenant, db_of, patient

FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20)
keys = st.sampled_from(["resourceType", "id", "name", "birthDate", "gender", "identifier",
                        "telecom", "meta", "status", "subject", "code", "entry", "type",
                        "request", "changes", "entries", "seq", "hash", "prev_hash", "code",
                        "username", "password", "totp", "change_id", "op", "base_version",
                        "resource", "resource_type", "resource_id"])
types = st.sampled_from(["Patient", "Observation", "Appointment", "Bundle", "AuditEvent",
                         "Nope", "", "patient", "Invoice", "Encounter"])


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys, json_values, max_size=4).map(lambda extra: {**base, **extra})


def change_strategy() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "change_id": st.one_of(st.uuids().map(str),
                               st.just("5f0f1b8e-0000-4000-8000-000000000001")),
        "resource_type": st.one_of(types, json_values),
        "resource_id": st.one_of(st.just("p1"), st.text(max_size=70), json_values),
        "op": st.sampled_from(["upsert", "delete", "merge", None]),
        "base_version": st.one_of(st.none(), st.integers(-3, 5), st.sampled_from(["1", "x", ""])),
        "resource": st.one_of(mutated(patient(id="p1")), json_values),
    })


def _ok(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


@FUZZ
@given(body=st.one_of(json_values, mutated(patient()), mutated({"resourceType": "Bundle",
                                                                "type": "transaction"})),
       target=st.sampled_from([("POST", "/fhir/Patient"), ("PUT", "/fhir/Patient/p1"),
                               ("POST", "/fhir"), ("POST", "/fhir/Observation"),
                               ("POST", "/sync/push"), ("POST", "/sync/audit"),
                               ("POST", "/sync/enrol"), ("POST", "/admin/token"),
                               ("POST", "/auth/token"), ("POST", "/admin/clinics")]))
def test_fuzz_json_bodies(client: TestClient, clinic_a: Tenant, body: Any,
                          target: tuple[str, str]) -> None:
    method, url = target
    _ok(client.request(method, url, json=body, headers=clinic_a.headers))


@FUZZ
@given(changes=st.lists(change_strategy(), max_size=5))
def test_fuzz_push_changes(client: TestClient, clinic_a: Tenant,
                           changes: list[dict[str, Any]]) -> None:
    response = client.post("/sync/push", json={"changes": changes}, headers=clinic_a.headers)
    _ok(response)
    if response.status_code == 200:
        assert {r["status"] for r in response.json()["results"]} <= {
            "applied", "conflict", "rejected"}


path_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@FUZZ
@given(rtype=st.one_of(types, path_text), rid=path_text, version=path_text,
       params=st.lists(st.tuples(st.sampled_from([
           "name", "family", "given", "birthdate", "identifier", "phone", "date", "patient",
           "practitioner", "status", "code", "_id", "_lastUpdated", "_count", "_offset",
           "_sort", "_summary", "name:exact", "patient:Patient", "_since", "cursor", "limit",
           "after", "bogus"]), path_text), max_size=4),
       shape=st.integers(0, 6))
def test_fuzz_read_paths_and_queries(client: TestClient, clinic_a: Tenant, rtype: str,
                                     rid: str, version: str, params: list[tuple[str, str]],
                                     shape: int) -> None:
    t, i, v = (quote(x, safe="") or "x" for x in (rtype, rid, version))
    path = [f"/fhir/{t}", f"/fhir/{t}/{i}", f"/fhir/{t}/{i}/_history",
            f"/fhir/{t}/{i}/_history/{v}", f"/fhir/{t}/_history", "/sync/pull",
            f"/sync/digest/{t}"][shape]
    query = "&".join(f"{quote(k, safe=':')}={quote(val, safe='')}" for k, val in params)
    _ok(client.get(f"{path}?{query}", headers=clinic_a.headers))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=json_values, token=st.text(max_size=60), clinic=path_text)
def test_fuzz_admin_and_auth(client: TestClient, body: Any, token: str, clinic: str) -> None:
    admin = _admin_headers(client)
    target = quote(clinic, safe="") or "x"
    for method, url in (("POST", "/admin/clinics"), ("GET", f"/admin/clinics/{target}/devices"),
                        ("POST", f"/admin/clinics/{target}/enrolment-codes"),
                        ("POST", f"/admin/devices/{target}/revoke")):
        _ok(client.request(method, url, json=body, headers=admin))
    _ok(client.get("/sync/pull", headers={"Authorization": f"Bearer {token}".encode()}))
    _ok(client.post("/auth/token", data={"grant_type": "client_credentials",
                                         "client_id": token, "client_secret": clinic}))


_ADMIN: dict[int, dict[str, str]] = {}


def _admin_headers(client: TestClient) -> dict[str, str]:
    """One admin token per application (the TOTP code of an admin works once)."""
    key = id(client.app)
    if key not in _ADMIN:
        import pyotp

        name = f"fuzz-{uuid.uuid4().hex[:8]}"
        secret = auth.add_admin(db_of(client), name, "fuzzing password 123")
        token = client.post("/admin/token", json={"username": name,
                                                   "password": "fuzzing password 123",
                                                   "totp": pyotp.TOTP(secret).now()}).json()
        _ADMIN.clear()
        _ADMIN[key] = {"Authorization": f"Bearer {token['access_token']}"}
    return _ADMIN[key]
