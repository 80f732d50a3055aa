"""Attacks on the server's unauthenticated doors: admin sign-in, enrolment, client credentials.

An attacker with many addresses (a botnet: every guess from a new IP) hammers one admin account,
one enrolment code or one system client for seventy simulated minutes, and the server is
restarted half way (a new application on the same store, as after a crash or a deploy). No more
than 100 guesses at one account are evaluated in any hour, each refusal is in the server's own
audit chain naming the account, and a burst of simultaneous guesses does not slip past the
count either. On SQLite and on PostgreSQL, as the server suite runs.

An answer of 401 means the guess was evaluated (and wrong), 429 that it was refused unevaluated:
the attacker sees exactly that difference.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher

from sync_server.app import create_app
from sync_server.auth import secrets as sec
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.settings import RateLimit
from sync_server.store import tenants
from sync_server.store.db import Database
from sync_server.store.models import ServerAuditEntry
from tests.reliability.figures import LONG, record, trials
from tests.server.conftest import (  # noqa: F401  (fixtures: the server suite's stores)
    database_url,
    fast_dir,
    pg_schema,
    shared_database,
    sqlite_template,
)
from tests.server.server_helpers import make_settings

pytestmark = pytest.mark.reliability

BUDGET = 100
CODE = "ABCD-EFGH-JKLM-NPQR"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
GUESS_EVERY = 30.0  # seconds of simulated time: 120 guesses an hour, over the budget


class FakeTime:
    """The clock of the rate limiter, moved by the test (both modules read ``time.time()``)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime(time.time())
    monkeypatch.setattr(auth, "time", fake)
    monkeypatch.setattr(tenants, "time", fake)
    # Every password guess is wrong; checking it with argon2 would only make the run slow.
    monkeypatch.setattr(sec, "verify_password", lambda _stored, _password: False)
    return fake


@dataclass
class Door:
    """One unauthenticated endpoint and a guess at one account behind it."""

    kind: str
    path: str
    account: str  # as the server's audit names it
    guess: dict[str, Any] = field(default_factory=dict)
    form: bool = False


def _doors(db: Database) -> dict[str, Door]:
    clinic = tenancy.add_clinic(db, "Target clinic")
    with db.write() as session:
        tenants.add_admin(session, "root", "not-checked", pyotp.random_base32())
    client_id, _secret = auth.add_system_client(db, clinic, "lab", ["system/*.read"])
    return {
        "admin": Door("admin", "/admin/token", "root",
                      {"username": "root", "password": "guess", "totp": "123456"}),
        # The audit names a code by a prefix of its hash, never by the code itself.
        "enrol": Door("enrol", "/sync/enrol", sec.code_hash(CODE)[:16],
                      {"code": CODE, "device_name": "evil"}),
        "client": Door("client", "/auth/token", client_id,
                       {"grant_type": "client_credentials", "client_id": client_id,
                        "client_secret": "guess"}, form=True),
    }


async def _guess(client: httpx.AsyncClient, door: Door) -> int:
    if door.form:
        response = await client.post(door.path, data=door.guess)
    else:
        response = await client.post(door.path, json=door.guess)
    assert response.status_code in (401, 429), response.text
    if response.status_code == 429:
        assert response.json()["issue"][0]["code"] == "throttled"
        assert int(response.headers["retry-after"]) > 0
    return response.status_code


def _from(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from ``ip`` (as the server sees the peer)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://server")


def _ip(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _refusals_audited(db: Database, door: Door) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = [json.loads(r.entry) for r in session.query(ServerAuditEntry)]
    return [r for r in rows if r.get("route") == door.path and r.get("status") == 429]


def _most_in_any_hour(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 3600:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.fixture
def store(database_url: str, shared_database: Database | None) -> Iterator[Database]:  # noqa: F811
    db = shared_database or Database(database_url)
    yield db
    if shared_database is None:
        db.dispose()


@pytest.mark.parametrize("kind", ["admin", "enrol", "client"])
def test_guessing_one_account_from_many_addresses_is_throttled_across_a_restart(
        kind: str, database_url: str, store: Database, clock: FakeTime) -> None:  # noqa: F811
    """The admin door on SQLite runs with the shipped limit of 100 an hour; in the short form
    the other cases, which run the same code, use a limit of 10 so that they cost a tenth."""
    shipped = LONG or (kind == "admin" and database_url.startswith("sqlite"))
    per_hour = BUDGET if shipped else 10
    settings = make_settings(database_url, auth_rate=RateLimit(per_hour=per_hour))
    door = _doors(store)[kind]
    minutes = trials(70, 190)
    every = 3600 / (per_hour * 1.2)  # 20% more guesses than the budget allows

    async def attack() -> tuple[list[int], list[float]]:
        statuses: list[int] = []
        evaluated: list[float] = []
        end, halfway = clock.now + minutes * 60, clock.now + minutes * 30
        app = create_app(settings, database=store)
        while clock.now < end:
            if clock.now >= halfway:
                app = create_app(settings, database=store)  # the server restarts
                halfway = end
            async with _from(app, _ip(len(statuses))) as client:
                statuses.append(await _guess(client, door))
            if statuses[-1] == 401:
                evaluated.append(clock.now)
            clock.now += every
        return statuses, evaluated

    statuses, evaluated = asyncio.run(attack())
    worst = _most_in_any_hour(evaluated)
    refused = statuses.count(429)
    audited = _refusals_audited(store, door)
    record("attacks", trials=1, faults=len(statuses), leaks=max(0, worst - per_hour))
    assert worst <= per_hour, f"{worst} guesses at one {kind} evaluated in an hour"
    assert worst >= per_hour * 0.9  # the budget is there for the rightful owner
    assert refused == len(statuses) - len(evaluated) > 0
    assert len(audited) == refused, "every refusal is in the server's audit chain"
    assert all(r.get("account") == door.account for r in audited), audited[:1]


@pytest.mark.parametrize("kind", ["admin", "enrol"])
def test_a_burst_of_simultaneous_guesses_does_not_slip_past_the_count(
        kind: str, database_url: str, store: Database, clock: FakeTime) -> None:  # noqa: F811
    """Sixty guesses at the same instant, each from its own address, each on its own
    connection: no more than the burst allowance is evaluated."""
    rate = RateLimit(per_hour=100, burst=10, burst_seconds=60)
    app = create_app(make_settings(database_url, auth_rate=rate), database=store)
    door = _doors(store)[kind]

    async def one(n: int) -> int:
        async with _from(app, _ip(n)) as client:
            return await _guess(client, door)

    async def storm() -> list[int]:
        return list(await asyncio.gather(*(one(n) for n in range(60))))

    statuses = asyncio.run(storm())
    record("attacks", trials=1, faults=len(statuses),
           leaks=max(0, statuses.count(401) - rate.burst))
    assert statuses.count(401) <= rate.burst, f"{statuses.count(401)} evaluated at once"


def _add_admin(db: Database, username: str, password: str, *, disabled: bool = False) -> str:
    """An admin whose argon2 hash is cheap to check (its parameters travel in the hash): the
    attacks, not the hashing cost, are under test. Returns the TOTP secret."""
    secret = pyotp.random_base32()
    with db.write() as session:
        tenants.add_admin(session, username, CHEAP_HASHER.hash(password), secret)
        admin = tenants.admin_by_name(session, username)
        assert admin is not None
        admin.disabled = disabled
    return secret


def test_admin_totp_code_is_refused_on_reuse(database_url: str, store: Database) -> None:  # noqa: F811
    """A central admin's code, captured in transit or over a shoulder, signs in once: the same
    code again, or the previous step's code after it, is refused even with the password."""
    app = create_app(make_settings(database_url), database=store)
    secret = _add_admin(store, "ops", "a long admin password")
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    codes = [totp.generate_otp(step), totp.generate_otp(step), totp.generate_otp(step - 1)]

    async def sign_ins() -> list[int]:
        async with _from(app, "192.0.2.1") as client:
            return [(await client.post("/admin/token", json={
                "username": "ops", "password": "a long admin password", "totp": code})
            ).status_code for code in codes]

    statuses = asyncio.run(sign_ins())
    record("attacks", trials=1, faults=2, leaks=statuses[1:].count(200))
    assert statuses == [200, 401, 401]


def test_admin_names_are_not_revealed_by_the_work_done(
        database_url: str, store: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """An unknown or disabled admin name costs the same password check (argon2, the slow part
    of an answer) as a real one, so the answer's timing does not tell an attacker which names
    exist."""
    app = create_app(make_settings(database_url), database=store)
    _add_admin(store, "ops", "a long admin password")
    _add_admin(store, "gone", "another long password", disabled=True)
    checks: list[str] = []
    real_verify = sec.verify_password

    def counted(stored: str, password: str) -> bool:
        checks.append(password)
        return real_verify(stored, password)

    monkeypatch.setattr(sec, "verify_password", counted)

    async def sign_ins() -> list[int]:
        async with _from(app, "192.0.2.2") as client:
            return [(await client.post("/admin/token", json={
                "username": name, "password": f"guess for {name}", "totp": "123456"})
            ).status_code for name in ("ops", "nobody", "gone")]

    statuses = asyncio.run(sign_ins())
    record("attacks", trials=1, faults=3, leaks=3 - len(checks))
    assert statuses == [401, 401, 401]
    assert checks == ["guess for ops", "guess for nobody", "guess for gone"]
