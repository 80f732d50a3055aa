"""A transaction's resource writer (and the resources it holds) is let go when the transaction
ends, without waiting for the garbage collector: a busy server otherwise piles up every push's
resources until a full collection, whose passes then cost a good part of its CPU."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync_server.auth.principal import Principal
from sync_server.store.resources import ResourceWriter, Stored, get_current
from sync_server.sync.push import push
from tests.server.server_helpers import Tenant, db_of, patient

Left = Callable[[type], list[Any]]


@pytest.fixture
def left() -> Iterator[Left]:
    """The garbage collector off for the test; gives what is alive of a kind that was not
    before (what reference counting could not free)."""
    gc.collect()
    before = {id(o) for o in gc.get_objects()}
    gc.disable()
    try:
        yield lambda kind: [o for o in gc.get_objects()
                            if isinstance(o, kind) and id(o) not in before]
    finally:
        gc.enable()


def _changes(n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        rid = str(uuid.uuid4())
        out.append({"change_id": str(uuid.uuid4()), "resource_type": "Patient",
                    "resource_id": rid, "op": "upsert", "base_version": None,
                    "resource": patient(id=rid)})
    return out


def test_a_push_leaves_nothing_for_the_collector(client: TestClient, clinic_a: Tenant,
                                                 left: Left) -> None:
    db = db_of(client)
    device = Principal("device", clinic_a.device_id, clinic_a.clinic_id)
    results = push(db, device, {"changes": _changes(20)}, max_changes=100)["results"]
    assert [r["status"] for r in results] == ["applied"] * 20
    assert left(ResourceWriter) == []
    assert left(Stored) == []


def test_refused_changes_leave_nothing_for_the_collector(client: TestClient,
                                                        clinic_a: Tenant,
                                                        left: Left) -> None:
    """Refused by the checks (a bad birth date: the model's error inside ours) and when
    applied (a delete of nothing), among changes that apply."""
    db = db_of(client)
    device = Principal("device", clinic_a.device_id, clinic_a.clinic_id)
    bad, gone = _changes(2)
    bad["resource"]["birthDate"] = "31/12/1990"
    gone.update(op="delete", resource=None)
    results = push(db, device, {"changes": [*_changes(3), bad, gone]},
                   max_changes=100)["results"]
    assert [r["status"] for r in results] == ["applied"] * 3 + ["rejected"] * 2
    assert left(ResourceWriter) == []
    assert left(Stored) == []


def test_a_rolled_back_writer_is_let_go(client: TestClient, clinic_a: Tenant,
                                        left: Left) -> None:
    db = db_of(client)
    with pytest.raises(RuntimeError), db.write() as session:
        writer = ResourceWriter(session, clinic_a.clinic_id, buffered=True)
        writer.save("Patient", "p1", patient(id="p1"), None)
        del writer
        raise RuntimeError("the request failed")
    assert left(ResourceWriter) == []
    with db.read() as session:
        assert get_current(session, clinic_a.clinic_id, "Patient", "p1") is None


def test_a_savepoint_keeps_the_writer_to_the_commit(client: TestClient,
                                                    clinic_a: Tenant) -> None:
    """Saves after a savepoint ended are still written at the commit, with the clinic's
    counter: the next change gets the next number."""
    db = db_of(client)
    with db.write() as session:
        writer = ResourceWriter(session, clinic_a.clinic_id)
        with session.begin_nested():
            first = writer.save("Patient", "p1", patient(id="p1"), None)
        second = writer.save("Patient", "p2", patient(id="p2"), None)
    device = Principal("device", clinic_a.device_id, clinic_a.clinic_id)
    after, = push(db, device, {"changes": _changes(1)}, max_changes=10)["results"]
    assert (first.seq, second.seq, after["seq"]) == (1, 2, 3)
    with db.read() as session:
        assert get_current(session, clinic_a.clinic_id, "Patient", "p2") is not None
