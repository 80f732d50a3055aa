"""Helpers shared by the server tests."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import create_engine, text

from sync_server.auth import service as auth
from sync_server.settings import RateLimit, Settings
from sync_server.store.db import Database

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def pg_schema_named(prefix: str) -> Iterator[str]:
    """A new, empty schema of the test database (its name), dropped with all it holds at the
    end. PostgreSQL unreachable: the test is skipped, or fails under CI."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # noqa: BLE001 -- any connection failure means "not reachable"
        admin.dispose()
        message = f"PostgreSQL at 127.0.0.1:5432 is not reachable: {type(exc).__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield name
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def store_at(kind: str, folder: Path, revision: str) -> Iterator[Database]:
    """A new store (``kind`` sqlite or postgres) migrated to ``revision`` only, for migration
    tests; disposed (its PostgreSQL schema dropped) at the end."""
    from alembic import command

    from sync_server.store import migrate

    def migrated(db: Database) -> Database:
        config = migrate._config()
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        return db

    if kind == "sqlite":
        db = migrated(Database(f"sqlite:///{folder / 'old.db'}"))
        try:
            yield db
        finally:
            db.dispose()
        return
    with pg_schema_named("pms_mig") as name:
        db = migrated(Database(f"{PG_BASE}?options=-csearch_path%3D{name}"))
        try:
            yield db
        finally:
            db.dispose()


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "auth_rate": RateLimit(burst=1000)}
    values.update(overrides)
    return Settings(**values)


def db_of(client: TestClient) -> Database:
    db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
    return db


@dataclass
class Tenant:
    clinic_id: str
    device_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def admin_token(client: TestClient, username: str = "root") -> str:
    """A central admin made for the test, signed in through ``/admin/token``: the bearer token."""
    secret = auth.add_admin(db_of(client), username, "a long admin password")
    response = client.post("/admin/token", json={
        "username": username, "password": "a long admin password",
        "totp": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def enrol_device(client: TestClient, clinic_id: str, name: str = "ws") -> Tenant:
    code = auth.new_enrolment_code(db_of(client), clinic_id, 24)
    response = client.post("/sync/enrol", json={"code": code, "device_name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(clinic_id, body["device_id"], body["token"])


def patient(family: str = "Smith", given: str = "Jo", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family, "given": [given]}], **extra}
