"""Sync push: per-change results, idempotent replay, reused change ids, conflicts, races."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync_server.auth.principal import Principal
from sync_server.sync.push import push
from tests.server.server_helpers import Tenant, db_of, patient


def change(resource_id: str, base: str | None = None, op: str = "upsert",
           resource: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body = resource if resource is not None else patient(id=resource_id)
    return {"change_id": str(uuid.uuid4()), "resource_type": "Patient",
            "resource_id": resource_id, "op": op, "base_version": base,
            "resource": body if op == "upsert" else None, **extra}


def do_push(client: TestClient, tenant: Tenant, *changes: dict[str, Any]) -> list[dict]:
    response = client.post("/sync/push", json={"changes": list(changes)}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_new_then_update_then_delete(client: TestClient, clinic_a: Tenant) -> None:
    pid = str(uuid.uuid4())
    created, = do_push(client, clinic_a, change(pid))
    assert created["status"] == "applied" and created["version"] == "1"
    updated, = do_push(client, clinic_a, change(pid, "1", resource=patient("New", id=pid)))
    assert updated["status"] == "applied" and updated["version"] == "2"
    assert updated["seq"] > created["seq"]
    deleted, = do_push(client, clinic_a, change(pid, "2", op="delete"))
    assert deleted["status"] == "applied" and deleted["deleted"] is True
    assert client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).status_code == 410


def test_several_changes_of_one_resource_in_one_push(client: TestClient,
                                                    clinic_a: Tenant) -> None:
    """A batch is written at once: later changes of a resource in the same push see the
    earlier ones, and search finds only what the last version holds."""
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    do_push(client, clinic_a, change(old, resource=patient("Ashdown", id=old)))
    results = do_push(
        client, clinic_a,
        change(new, resource=patient("Bellamy", id=new)),
        change(new, "1", resource=patient("Carrow", id=new)),
        change(old, "1", resource=patient("Dunmore", id=old)),
        change(old, "2", resource=patient("Elphin", id=old)),
        change(new, "2", op="delete"),
        change(new, "3", resource=patient("Fennor", id=new)),
        change(old, "1", resource=patient("Stale", id=old)))
    assert [(r["status"], r.get("version") or r.get("current_version")) for r in results] == [
        ("applied", "1"), ("applied", "2"), ("applied", "2"), ("applied", "3"),
        ("applied", "3"), ("applied", "4"), ("conflict", "3")]
    assert results[-1]["current"]["name"][0]["family"] == "Elphin"
    seqs = [r["seq"] for r in results[:-1]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for pid, family, version in ((old, "Elphin", "3"), (new, "Fennor", "4")):
        read = client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).json()
        assert read["name"][0]["family"] == family and read["meta"]["versionId"] == version
    found = client.get("/fhir/Patient", params={"_count": 50}, headers=clinic_a.headers).json()
    for family in ("Ashdown", "Bellamy", "Carrow", "Dunmore", "Stale"):
        hits = client.get("/fhir/Patient", params={"family": family},
                          headers=clinic_a.headers).json()
        assert hits["total"] == 0, family
    for family in ("Elphin", "Fennor"):
        hits = client.get("/fhir/Patient", params={"family": family},
                          headers=clinic_a.headers).json()
        assert hits["total"] == 1, family
    assert found["total"] == 2
    pulled = client.get("/sync/pull", params={"cursor": seqs[0] - 1},
                        headers=clinic_a.headers).json()
    assert [(c["id"], c["version"], c["op"]) for c in pulled["changes"]] == [
        (new, "1", "upsert"), (new, "2", "upsert"), (old, "2", "upsert"), (old, "3", "upsert"),
        (new, "3", "delete"), (new, "4", "upsert")]


def test_replay_gets_the_first_answer(client: TestClient, clinic_a: Tenant) -> None:
    pid = str(uuid.uuid4())
    first_change = change(pid)
    first = do_push(client, clinic_a, first_change)
    do_push(client, clinic_a, change(pid, "1", resource=patient("Later", id=pid)))
    replay = do_push(client, clinic_a, first_change)
    assert replay == first
    history = client.get(f"/fhir/Patient/{pid}/_history", headers=clinic_a.headers).json()
    assert history["total"] == 2  # the replay stored nothing


def test_replay_of_a_change_recorded_before_orjson_gets_the_first_answer(
        client: TestClient, clinic_a: Tenant) -> None:
    """A change a server before orjson recorded (its hash over ``json.dumps`` text, which
    writes 1e-05 where orjson writes 0.00001) is still recognised when it is resent after the
    upgrade, not refused as a reused change id."""
    from sqlalchemy import update

    from sync_server.store.models import SyncChange
    from sync_server.sync.push import legacy_request_hash, request_hash

    pid = str(uuid.uuid4())
    first_change = change(pid, resource={**patient(id=pid), "extension": [
        {"url": "https://example.org/tiny", "valueDecimal": 0.00001}]})
    assert legacy_request_hash(first_change) != request_hash(first_change)
    first, = do_push(client, clinic_a, first_change)
    with db_of(client).write() as session:
        session.execute(update(SyncChange).where(
            SyncChange.change_id == first_change["change_id"]).values(
            request_hash=legacy_request_hash(first_change)))
    replay, = do_push(client, clinic_a, first_change)
    assert first["status"] == "applied" and replay == first
    forged, = do_push(client, clinic_a, {**first_change, "resource": patient("Other", id=pid)})
    assert forged["status"] == "rejected" and forged["http_status"] == 409


def test_same_change_id_with_other_body_is_refused(client: TestClient,
                                                   clinic_a: Tenant) -> None:
    pid = str(uuid.uuid4())
    original = change(pid)
    do_push(client, clinic_a, original)
    forged = {**original, "resource": patient("Other", id=pid)}
    result, = do_push(client, clinic_a, forged)
    assert result["status"] == "rejected" and result["http_status"] == 409
    assert result["outcome"]["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{pid}", headers=clinic_a.headers).json()["name"][0][
        "family"] == "Smith"


def test_stale_base_gets_conflict_with_current(client: TestClient, clinic_a: Tenant) -> None:
    pid = str(uuid.uuid4())
    do_push(client, clinic_a, change(pid))
    do_push(client, clinic_a, change(pid, "1", resource=patient("Theirs", id=pid)))
    result, = do_push(client, clinic_a, change(pid, "1", resource=patient("Mine", id=pid)))
    assert result["status"] == "conflict"
    assert result["base_version"] == "1" and result["current_version"] == "2"
    assert result["current"]["name"][0]["family"] == "Theirs"
    again, = do_push(client, clinic_a, change(pid, None))
    assert again["status"] == "conflict" and again["current_version"] == "2"


def test_one_rejected_change_does_not_block_others(client: TestClient,
                                                   clinic_a: Tenant) -> None:
    good_a, good_b = str(uuid.uuid4()), str(uuid.uuid4())
    bad_resource = {"resourceType": "Patient", "birthDate": "31/12/1999"}
    results = do_push(
        client, clinic_a, change(good_a),
        change("x1", resource=bad_resource),
        {**change("x2"), "resource_type": "AuditEvent"},
        {**change("x3"), "op": "merge"},
        change("x4", resource={"resourceType": "Observation"}),
        change(good_b))
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected", "rejected",
                                              "rejected", "applied"]
    assert results[1]["http_status"] == 400 and results[2]["http_status"] == 403
    assert all(r["outcome"]["resourceType"] == "OperationOutcome" for r in results[1:5])


def test_numeric_base_version_is_accepted(client: TestClient, clinic_a: Tenant) -> None:
    pid = str(uuid.uuid4())
    do_push(client, clinic_a, change(pid))
    result, = do_push(client, clinic_a, {**change(pid), "base_version": 1})
    assert result["status"] == "applied" and result["version"] == "2"


@pytest.mark.parametrize("body", [[], {"changes": "x"}, {"changes": [{"change_id": "nope"}]},
                                  {"changes": [42]}])
def test_malformed_push_is_400(client: TestClient, clinic_a: Tenant, body: Any) -> None:
    response = client.post("/sync/push", json=body, headers=clinic_a.headers)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_two_racing_pushes_one_wins(client: TestClient, clinic_a: Tenant) -> None:
    """Two workstations edit version 1 at once: one applies, the other gets the conflict."""
    pid = str(uuid.uuid4())
    do_push(client, clinic_a, change(pid))
    db = db_of(client)
    device = Principal("device", clinic_a.device_id, clinic_a.clinic_id)
    barrier = threading.Barrier(2)
    outcomes: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def edit(family: str) -> None:
        try:
            barrier.wait(timeout=10)
            body = {"changes": [change(pid, "1", resource=patient(family, id=pid))]}
            outcomes.append(push(db, device, body, max_changes=10)["results"][0])
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=edit, args=(name,)) for name in ("Left", "Right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(o["status"] for o in outcomes) == ["applied", "conflict"]
    winner = next(o for o in outcomes if o["status"] == "applied")
    loser = next(o for o in outcomes if o["status"] == "conflict")
    assert winner["version"] == "2" and loser["current_version"] == "2"


def test_many_concurrent_pushes_get_unique_sequence_numbers(client: TestClient,
                                                            clinic_a: Tenant) -> None:
    db = db_of(client)
    device = Principal("device", clinic_a.device_id, clinic_a.clinic_id)
    seqs: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        body = {"changes": [change(str(uuid.uuid4())) for _ in range(5)]}
        results = push(db, device, body, max_changes=10)["results"]
        with lock:
            seqs.extend(r["seq"] for r in results)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(seqs) == 30 and len(set(seqs)) == 30
    assert sorted(seqs) == list(range(1, 31))


@pytest.mark.parametrize("spelled", [str.upper, lambda u: u.replace("-", ""),
                                     lambda u: "{" + u + "}", lambda u: "urn:uuid:" + u])
def test_a_change_id_spelled_otherwise_is_the_same_change(
        client: TestClient, clinic_a: Tenant, spelled: Any) -> None:
    """The answer names the change id in its canonical form, and the same change pushed again
    under another spelling of its id is a replay: one version, not two."""
    pid = str(uuid.uuid4())
    first = change(pid)
    canonical = first["change_id"]
    answer, = do_push(client, clinic_a, {**first, "change_id": spelled(canonical)})
    assert answer["change_id"] == canonical and answer["version"] == "1"
    replay, = do_push(client, clinic_a, first)
    assert replay == answer


@pytest.mark.parametrize("bad", [
    "not-a-uuid", 5, None, "0" * 31, str(uuid.UUID(int=1)) + "\n", "0" * 31 + "\n",
    int("1" * 32), " " + str(uuid.UUID(int=1)), "+" + "0" * 31, "0" * 16 + "_" + "0" * 16,
    "\u0661" * 32, "0-" * 16, "{" + "0" * 32, ["0" * 32], {"id": "0" * 32}])
def test_a_change_id_that_is_no_uuid_is_a_400(client: TestClient, clinic_a: Tenant,
                                              bad: Any) -> None:
    response = client.post("/sync/push", json={"changes": [{**change("p"), "change_id": bad}]},
                           headers=clinic_a.headers)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "change_id must be a UUID" in response.text


def test_new_changes_are_not_looked_up_first(client: TestClient, clinic_a: Tenant,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a push first takes its change ids as new and the resources it creates
    (no base version) as not stored, without reading either; when one is not new, the
    store's keys refuse the insert, that attempt is undone whole and the push done again with
    its look-ups: the answers are those of a push that looked everything up, and nothing of
    the first attempt is kept. SQLite looks everything up at once."""
    from sync_server.store.resources import ResourceWriter
    from sync_server.sync import push as push_module

    seen_calls: list[int] = []
    read_keys: list[tuple[str, str]] = []
    original_seen, original_lock = push_module._seen, ResourceWriter.lock_current

    def counted_seen(session: Any, clinic_id: str, change_ids: list[str]) -> Any:
        seen_calls.append(len(change_ids))
        return original_seen(session, clinic_id, change_ids)

    def counted_lock(self: ResourceWriter, keys: Any) -> None:
        keys = list(keys)
        read_keys.extend(keys)
        original_lock(self, keys)

    monkeypatch.setattr(push_module, "_seen", counted_seen)
    monkeypatch.setattr(ResourceWriter, "lock_current", counted_lock)
    postgres = not db_of(client).is_sqlite
    stored, edited = str(uuid.uuid4()), str(uuid.uuid4())
    first_of_stored = change(stored)
    do_push(client, clinic_a, first_of_stored, change(edited))
    assert (seen_calls, read_keys) == (([], []) if postgres else
                                       ([2], [("Patient", stored), ("Patient", edited)]))

    # An edit (base "1") is read first, even on the first attempt; new ones are not.
    seen_calls.clear(), read_keys.clear()
    fresh = str(uuid.uuid4())
    results = do_push(client, clinic_a, change(fresh),
                      change(edited, "1", resource=patient("Edited", id=edited)))
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert seen_calls == ([] if postgres else [2])
    assert ("Patient", edited) in read_keys and (("Patient", fresh) in read_keys) != postgres

    # Not new after all: a stored resource created again, and a replayed change.
    seen_calls.clear(), read_keys.clear()
    other = str(uuid.uuid4())
    results = do_push(client, clinic_a, change(other), change(stored), first_of_stored)
    assert seen_calls == [3]  # the look-ups ran (PostgreSQL: on the second attempt)
    assert [r["status"] for r in results] == ["applied", "conflict", "applied"]
    assert results[1]["current_version"] == "1" and results[1]["base_version"] is None
    assert results[2]["version"] == "1" and results[2]["resource_id"] == stored
    for pid, versions in ((other, 1), (stored, 1), (fresh, 1), (edited, 2)):
        history = client.get(f"/fhir/Patient/{pid}/_history", headers=clinic_a.headers).json()
        assert history["total"] == versions, pid


def test_a_resource_created_again_is_a_conflict_whatever_it_holds(
        client: TestClient, clinic_a: Tenant) -> None:
    """A resource already stored, pushed again as new (no base version), is answered with a
    conflict, before anything its body holds is refused: also on PostgreSQL's first attempt,
    which takes it as new without reading it and would otherwise answer (and record) the
    refusal of sealed credentials on a Patient instead."""
    pid = str(uuid.uuid4())
    created, = do_push(client, clinic_a, change(pid))
    sealed = patient(id=pid, extension=[{
        "url": "https://pms.example/StructureDefinition/sealed-credentials",
        "valueBase64Binary": "c2VhbGVk"}])
    again = change(pid, resource=sealed)
    for _ in range(2):  # and its replay gets the same answer
        result, = do_push(client, clinic_a, again)
        assert (result["status"], result.get("current_version")) == ("conflict", "1"), result
    # A creation whose change id came earlier in the batch writes nothing: the deletion before
    # it (no base version) finds the stored resource, a conflict, not 'nothing to delete'.
    deletion = change(pid, op="delete")
    results = do_push(client, clinic_a, deletion, {**change(pid),
                                                   "change_id": deletion["change_id"]})
    assert [(r["status"], r.get("current_version"), r.get("http_status")) for r in results] == [
        ("conflict", "1", None), ("rejected", None, 409)], results
    history = client.get(f"/fhir/Patient/{pid}/_history", headers=clinic_a.headers).json()
    assert history["total"] == 1
