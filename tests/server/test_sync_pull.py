"""Sync pull and digest: cursor paging that resumes mid-way, the digest and its per-type list."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import Tenant, patient
from tests.server.test_sync_push import change, do_push


def _pull(client: TestClient, tenant: Tenant, cursor: int, limit: int) -> dict:
    response = client.get(f"/sync/pull?cursor={cursor}&limit={limit}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_pull_pages_and_resumes_mid_way(client: TestClient, clinic_a: Tenant) -> None:
    ids = [str(uuid.uuid4()) for _ in range(7)]
    do_push(client, clinic_a, *[change(i) for i in ids])
    do_push(client, clinic_a, change(ids[0], "1", op="delete"))
    first = _pull(client, clinic_a, 0, 3)
    assert [c["id"] for c in first["changes"]] == ids[:3]
    assert first["more"] is True and first["next_cursor"] == first["changes"][-1]["seq"]
    # The client stops here (crash); later it resumes from the cursor it saved.
    rest, cursor = [], first["next_cursor"]
    while True:
        page = _pull(client, clinic_a, cursor, 3)
        rest += page["changes"]
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    assert [c["id"] for c in rest] == ids[3:] + [ids[0]]
    assert first["latest_seq"] == cursor  # the end of the pull, known from its first page
    tombstone = rest[-1]
    assert tombstone["op"] == "delete" and tombstone["resource"] is None
    assert tombstone["version"] == "2"
    seqs = [c["seq"] for c in first["changes"] + rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    empty = _pull(client, clinic_a, cursor, 3)
    assert empty == {"changes": [], "next_cursor": cursor, "more": False, "latest_seq": cursor}


def test_pull_includes_fhir_api_writes(client: TestClient, clinic_a: Tenant) -> None:
    made = client.post("/fhir/Patient", json=patient(), headers=clinic_a.headers).json()
    page = _pull(client, clinic_a, 0, 10)
    assert page["changes"][0]["id"] == made["id"]
    assert page["changes"][0]["resource"]["meta"]["versionId"] == "1"


@pytest.mark.parametrize("query", ["cursor=-1", "cursor=x", "limit=0", "limit=abc"])
def test_bad_pull_parameters_are_400(client: TestClient, clinic_a: Tenant, query: str) -> None:
    response = client.get(f"/sync/pull?{query}", headers=clinic_a.headers)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_digest_matches_what_the_client_holds(client: TestClient, clinic_a: Tenant) -> None:
    ids = sorted(str(uuid.uuid4()) for _ in range(3))
    do_push(client, clinic_a, *[change(i) for i in ids])
    do_push(client, clinic_a, change(ids[1], "1", op="delete"))
    digest = client.get("/sync/digest", headers=clinic_a.headers).json()
    versions = {ids[0]: 1, ids[1]: 2, ids[2]: 1}
    lines = "".join(f"Patient/{i}/{versions[i]}\n" for i in ids)
    expected = hashlib.sha256(lines.encode()).hexdigest()
    assert digest["count"] == 3 and digest["hash"] == expected
    assert digest["types"]["Patient"] == {"count": 3, "hash": expected}
    listing = client.get("/sync/digest/Patient?limit=2", headers=clinic_a.headers).json()
    assert [i["id"] for i in listing["items"]] == ids[:2]
    assert listing["items"][1] == {"id": ids[1], "version": "2", "deleted": True}
    tail = client.get(f"/sync/digest/Patient?after={listing['next_after']}",
                      headers=clinic_a.headers).json()
    assert [i["id"] for i in tail["items"]] == ids[2:] and tail["next_after"] is None
    assert client.get("/sync/digest/Nope", headers=clinic_a.headers).status_code == 404


def test_digest_follows_every_change_and_only_the_seq_after_an_audit_upload(
        client: TestClient, clinic_a: Tenant) -> None:
    """The server keeps a clinic's digest between calls: a resource change (push or FHIR
    write) still changes it at once; an access-log upload moves only its seq."""
    from tests.server.test_audit_chain import chain, upload

    def digest() -> dict:
        return dict(client.get("/sync/digest", headers=clinic_a.headers).json())

    pid = str(uuid.uuid4())
    do_push(client, clinic_a, change(pid))
    first = digest()
    assert digest() == first
    assert upload(client, clinic_a, chain(3)).status_code == 200
    after_log = digest()
    assert after_log["seq"] > first["seq"]
    assert {k: v for k, v in after_log.items() if k != "seq"} == \
        {k: v for k, v in first.items() if k != "seq"}
    do_push(client, clinic_a, change(pid, "1", resource=patient("Later", id=pid)))
    pushed = digest()
    assert pushed["hash"] != first["hash"] and pushed["seq"] > after_log["seq"]
    written = client.post("/fhir/Patient", json=patient("Fhir"), headers=clinic_a.headers)
    assert written.status_code == 201
    assert digest()["count"] == pushed["count"] + 1


def test_pull_gives_back_what_was_stored_text_included(client: TestClient,
                                                       clinic_a: Tenant) -> None:
    """The feed carries the stored JSON as it is: non-ASCII text, numbers and deletions."""
    pid, gone = str(uuid.uuid4()), str(uuid.uuid4())
    body = patient("Ó'Brien — Zoë 🌿", id=pid, multipleBirthInteger=2)
    do_push(client, clinic_a, change(pid, resource=body), change(gone))
    do_push(client, clinic_a, change(gone, "1", op="delete"))
    page = _pull(client, clinic_a, 0, 10)
    [held, _, deleted] = page["changes"]
    assert held["resource"]["name"] == body["name"]
    assert held["resource"]["multipleBirthInteger"] == 2
    assert held["resource"]["meta"]["versionId"] == "1" and held["version"] == "1"
    assert (deleted["id"], deleted["op"], deleted["resource"]) == (gone, "delete", None)
    assert page["more"] is False and page["next_cursor"] == deleted["seq"]
