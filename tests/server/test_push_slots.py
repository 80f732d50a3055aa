"""Pushes take turns: a worker applies at most ``push_slots`` at once, the others in the order
they came, so no clinic's push is overtaken again and again by later ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.auth import tenancy
from sync_server.settings import SettingsError
from sync_server.sync import push as push_module
from tests.server.server_helpers import Tenant, enrol_device, make_settings

WAIT = 10.0  # seconds: the most any step of these tests waits


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class GatedPush:
    """Stands in for the push use case: records which pushes are being applied and holds each
    until the test lets it go."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside: list[int] = []  # pushes being applied now
        self.entered: list[int] = []  # in the order they started being applied
        self.most_at_once = 0
        self.gates: dict[int, threading.Event] = {}

    def __call__(self, db: Any, principal: Any, body: Any, *, max_changes: int) -> dict:
        number = int(body["number"])
        with self.lock:
            self.inside.append(number)
            self.entered.append(number)
            self.most_at_once = max(self.most_at_once, len(self.inside))
            gate = self.gates.setdefault(number, threading.Event())
        try:
            if not gate.wait(WAIT):
                raise AssertionError(f"push {number} was never let go")
        finally:
            with self.lock:
                self.inside.remove(number)
        return {"results": []}

    def release(self, number: int) -> None:
        with self.lock:
            self.gates.setdefault(number, threading.Event()).set()


@pytest.fixture
def slots_client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with TestClient(create_app(make_settings(url, push_slots=2))) as client:
        yield client


def test_pushes_beyond_the_slots_wait_and_go_in_arrival_order(
        slots_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    gated = GatedPush()
    monkeypatch.setattr(push_module, "push", gated)
    slots = slots_client.app.state.ctx.push_slots  # type: ignore[attr-defined]
    db = slots_client.app.state.ctx.db  # type: ignore[attr-defined]
    tenants = [enrol_device(slots_client, tenancy.add_clinic(db, f"Clinic {i}"))
               for i in range(5)]

    def send(number: int, tenant: Tenant) -> int:
        response = slots_client.post("/sync/push", json={"changes": [], "number": number},
                                     headers=tenant.headers)
        return response.status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers: list[Future[int]] = []
        for number, tenant in enumerate(tenants):
            answers.append(pool.submit(send, number, tenant))
            if number < 2:  # the first two take the two slots
                _until(lambda n=number: n in gated.entered, f"push {number} to start")
            else:  # the others queue, in the order they came
                _until(lambda n=number: slots.waiting == n - 1, f"push {number} to queue")
        assert sorted(gated.inside) == [0, 1]  # the rest wait for a slot

        gated.release(1)
        _until(lambda: 2 in gated.entered, "push 2 to start")
        gated.release(0)
        _until(lambda: 3 in gated.entered, "push 3 to start")
        assert sorted(gated.inside) == [2, 3]
        for number in (2, 3, 4):
            gated.release(number)
        assert [a.result(timeout=WAIT) for a in answers] == [200] * 5

    assert gated.entered == [0, 1, 2, 3, 4]
    assert gated.most_at_once == 2
    assert slots.waiting == 0


def test_push_slots_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="push_slots"):
        make_settings(f"sqlite:///{tmp_path / 'server.db'}", push_slots=0)
