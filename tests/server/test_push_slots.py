"""Pushes take turns: a worker applies at most ``push_slots`` at once, the others in the order
they came, so no clinic's push is overtaken again and again by later ones."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sync_server.api.deps import Slots, _Turns
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


async def _until_async(condition: Callable[[], bool], what: str) -> None:
    """``_until`` on the event loop, which must go on meanwhile."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def _sender(client: TestClient, tenant_of: dict[int, Tenant]) -> Callable[[int], int]:
    """Push number N from ``tenant_of[N]``'s device: the answer's status."""

    def send(number: int) -> int:
        return client.post("/sync/push", json={"changes": [], "number": number},
                           headers=tenant_of[number].headers).status_code

    return send


def _async_sender(client: httpx.AsyncClient,
                  tenant_of: dict[int, Tenant]) -> Callable[[int], asyncio.Task[httpx.Response]]:
    """``_sender`` on the event loop: push number N as a task of its own (one can cancel it)."""

    def send(number: int) -> asyncio.Task[httpx.Response]:
        return asyncio.ensure_future(client.post(
            "/sync/push", json={"changes": [], "number": number},
            headers=tenant_of[number].headers))

    return send


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


def _gated_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slots: int,
               clinics: int) -> tuple[GatedPush, Any, list[Tenant], Slots]:
    """A server of ``slots`` push slots whose pushes are ``GatedPush``'s, one enrolled device
    in each of ``clinics`` clinics, and its slots."""
    gated = GatedPush()
    monkeypatch.setattr(push_module, "push", gated)
    app, tenants = _app_with_tenants(tmp_path, slots, clinics)
    return gated, app, tenants, app.state.ctx.push_slots


def _app_with_tenants(tmp_path: Path, slots: int, clinics: int) -> tuple[Any, list[Tenant]]:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'server.db'}", push_slots=slots))
    with TestClient(app) as client:
        db = app.state.ctx.db
        tenants = [enrol_device(client, tenancy.add_clinic(db, f"Clinic {i}"))
                   for i in range(clinics)]
    return app, tenants


@pytest.mark.parametrize("size", [1, 3])
def test_pushes_beyond_the_slots_wait_and_go_in_arrival_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    gated, app, tenants, slots = _gated_app(tmp_path, monkeypatch, size, size + 3)
    with TestClient(app) as client:
        send = _sender(client, dict(enumerate(tenants)))
        with ThreadPoolExecutor(max_workers=len(tenants)) as pool:
            answers: list[Future[int]] = []
            for number in range(len(tenants)):
                answers.append(pool.submit(send, number))
                if number < size:  # the first ones take the slots
                    _until(lambda n=number: n in gated.entered, f"push {number} to start")
                else:  # the others queue, in the order they came
                    _until(lambda n=number: slots.waiting == n - size + 1,
                           f"push {number} to queue")
            assert sorted(gated.inside) == list(range(size))  # the rest wait for a slot

            gated.release(size - 1)  # a slot frees: the first waiting push takes it
            _until(lambda: size in gated.entered, f"push {size} to start")
            assert size + 1 not in gated.entered
            # One slot freed at a time: each goes to the first push still waiting. (Freed at
            # once, two slots' pushes start at once, and which is seen first is the threads'.)
            for number in range(size + 1, len(tenants)):
                with gated.lock:
                    earliest = min(gated.inside)
                gated.release(earliest)
                _until(lambda n=number: n in gated.entered, f"push {number} to start")
                assert number + 1 not in gated.entered
            for number in range(len(tenants)):
                gated.release(number)
            assert [a.result(timeout=WAIT) for a in answers] == [200] * len(tenants)

    assert gated.entered == list(range(len(tenants)))
    assert gated.most_at_once == size
    assert slots.waiting == 0


def test_a_push_whose_request_is_cancelled_keeps_its_slot_until_its_work_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The push runs in a thread, which goes on when the request waiting for it is cancelled
    (a client gone, a timeout): the next push waits for that thread, not for the request."""
    gated, app, tenants, slots = _gated_app(tmp_path, monkeypatch, 1, 2)

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            send = _async_sender(client, dict(enumerate(tenants)))

            first = send(0)
            await _until_async(lambda: 0 in gated.entered, "push 0 to start")
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            second = send(1)
            await _until_async(lambda: slots.waiting == 1, "push 1 to queue")
            await asyncio.sleep(0.05)
            entered_early = 1 in gated.entered  # it would be, were the slot let go
            gated.release(0)
            await _until_async(lambda: 1 in gated.entered, "push 1 to start")
            gated.release(1)
            answer = await asyncio.wait_for(second, WAIT)
            assert not entered_early
            return [answer.status_code]

    assert asyncio.run(scenario()) == [200]
    assert gated.most_at_once == 1


def test_push_slots_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="push_slots"):
        make_settings(f"sqlite:///{tmp_path / 'server.db'}", push_slots=0)


def test_a_clinics_next_push_waits_for_its_last_outside_the_slots(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workstations of one clinic push at once: the second waits for the first without
    taking the free slot (in it, it would only wait for the clinic's lock in the store), and a
    push of another clinic that came after it takes that slot."""
    gated, app, (one, other), slots = _gated_app(tmp_path, monkeypatch, 2, 2)
    clinic_of = {0: one, 1: one, 2: other, 3: one}
    with TestClient(app) as client:
        send = _sender(client, clinic_of)

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = [pool.submit(send, 0)]
            _until(lambda: 0 in gated.entered, "push 0 to start")
            answers.append(pool.submit(send, 1))
            _until(lambda: slots.waiting == 1, "push 1 to wait for push 0")
            answers.append(pool.submit(send, 2))
            _until(lambda: 2 in gated.entered, "the other clinic's push to take the free slot")
            answers.append(pool.submit(send, 3))
            _until(lambda: slots.waiting == 2, "push 3 to wait behind push 1")
            assert sorted(gated.inside) == [0, 2]

            gated.release(2)  # a slot frees, but push 1's clinic is still pushing
            _until(lambda: all(t.free == 1 for t in slots._by_loop.values()),
                   "push 2's slot to be given back")
            assert 1 not in gated.entered and slots.waiting == 2
            gated.release(0)  # its clinic's last push ends: push 1 goes, then 3
            _until(lambda: 1 in gated.entered, "push 1 to start")
            assert 3 not in gated.entered
            gated.release(1)
            _until(lambda: 3 in gated.entered, "push 3 to start")
            gated.release(3)
            assert [a.result(timeout=WAIT) for a in answers] == [200] * 4

    assert gated.entered == [0, 2, 1, 3]
    assert slots.waiting == 0
    assert all(t.free == t.size and not t.running and not t.line  # none left
               for t in slots._by_loop.values())


def test_a_cancelled_push_waiting_for_its_clinic_leaves_no_turn_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gated, app, (one,), slots = _gated_app(tmp_path, monkeypatch, 2, 1)

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            send = _async_sender(client, {n: one for n in range(3)})

            first = send(0)
            await _until_async(lambda: 0 in gated.entered, "push 0 to start")
            second = send(1)
            await _until_async(lambda: slots.waiting == 1, "push 1 to wait for push 0")
            second.cancel()  # its client gave up while it waited
            with pytest.raises(asyncio.CancelledError):
                await second
            third = send(2)
            await _until_async(lambda: slots.waiting == 1, "push 2 to wait for push 0")
            gated.release(0)
            await _until_async(lambda: 2 in gated.entered, "push 2 to start")
            gated.release(2)
            answers = [await asyncio.wait_for(t, WAIT) for t in (first, third)]
            assert all(t.free == t.size and not t.running and not t.line
                       for t in slots._by_loop.values())
            return [a.status_code for a in answers]

    assert asyncio.run(scenario()) == [200, 200]
    assert gated.entered == [0, 2]
    assert slots.waiting == 0


def test_a_push_held_back_for_its_clinic_keeps_its_place_in_the_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two slots: a clinic's second push, passed over while its first runs, goes as soon as
    that one ends, before another clinic's push that came after it."""
    gated, app, (k1, k2, k3, k4), slots = _gated_app(tmp_path, monkeypatch, 2, 4)
    clinic_of = {0: k1, 1: k2, 2: k1, 3: k3, 4: k4}
    with TestClient(app) as client:
        send = _sender(client, clinic_of)

        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = [pool.submit(send, 0)]
            _until(lambda: 0 in gated.entered, "push 0 to start")
            answers.append(pool.submit(send, 1))
            _until(lambda: 1 in gated.entered, "push 1 to start")
            for number in (2, 3, 4):
                answers.append(pool.submit(send, number))
                _until(lambda n=number: slots.waiting == n - 1, f"push {number} to queue")
            gated.release(1)  # push 2's clinic is pushing: push 3 takes the slot
            _until(lambda: 3 in gated.entered, "push 3 to start")
            assert 2 not in gated.entered and 4 not in gated.entered
            gated.release(0)  # push 2's clinic is free: push 2 goes before push 4
            _until(lambda: 2 in gated.entered, "push 2 to start")
            assert 4 not in gated.entered
            for number in range(5):
                gated.release(number)
            assert [a.result(timeout=WAIT) for a in answers] == [200] * 5

    assert gated.entered == [0, 1, 3, 2, 4]
    assert all(t.free == t.size and not t.running and not t.line
               for t in slots._by_loop.values())


def test_a_turn_given_as_its_waiter_is_cancelled_goes_to_the_next() -> None:
    """The turn is handed out and its waiter cancelled before it resumes: the slot and the
    clinic go on to the next waiter (kept, that clinic could never push again here)."""

    async def scenario() -> None:
        turns = _Turns(1)
        await turns.take("A")
        b = asyncio.ensure_future(turns.take("B"))
        c = asyncio.ensure_future(turns.take("C"))
        await asyncio.sleep(0)
        turns.give_back("A")  # b's turn is given ...
        b.cancel()  # ... and b cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await b
        await asyncio.wait_for(c, WAIT)
        assert turns.running == {"C"} and turns.free == 0 and not turns.line
        turns.give_back("C")
        assert turns.free == 1 and not turns.running

    asyncio.run(scenario())
