"""A patient's name parts are indexed once: ``family`` and ``given`` match the ``name`` rows
made from their paths (no rows of their own, ~a quarter fewer index rows a patient), and still
match the rows of their own that a server wrote before."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from sync_server.store.models import SearchIndex
from tests.server.server_helpers import Tenant, db_of, patient


def _post(client: TestClient, tenant: Tenant, family: str, given: str) -> str:
    response = client.post("/fhir/Patient", json=patient(family, given), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ids(client: TestClient, tenant: Tenant, query: str) -> set[str]:
    response = client.get(f"/fhir/Patient?{query}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def test_family_and_given_match_name_rows_by_path(client: TestClient,
                                                  clinic_a: Tenant) -> None:
    mark = _post(client, clinic_a, "Mark", "Anne")  # a family name that is another's given
    anne = _post(client, clinic_a, "Anne", "Mark")
    with db_of(client).read() as session:
        params = Counter(session.scalars(select(SearchIndex.param).where(
            SearchIndex.resource_id == mark)))
    assert params["name"] == 2 and params["family"] == 0 and params["given"] == 0
    assert _ids(client, clinic_a, "family=mark") == {mark}
    assert _ids(client, clinic_a, "given=mark") == {anne}
    assert _ids(client, clinic_a, "family:exact=anne") == {anne}
    assert _ids(client, clinic_a, "name=mark") == {mark, anne}


def test_rows_written_before_still_match(client: TestClient, clinic_a: Tenant) -> None:
    old = _post(client, clinic_a, "Quill", "Oona")
    with db_of(client).write() as session:  # as a server before this change indexed it
        session.execute(insert(SearchIndex), [
            {"clinic_id": clinic_a.clinic_id, "resource_type": "Patient", "resource_id": old,
             "ordinal": 100 + n, "param": param, "text": text}
            for n, (param, text) in enumerate((("family", "pennick"), ("given", "ros")))])
    assert _ids(client, clinic_a, "family=penn") == {old}
    assert _ids(client, clinic_a, "given=ros") == {old}
    assert _ids(client, clinic_a, "family=ros") == set()
