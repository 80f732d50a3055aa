"""Validated server settings, declared in one place.

Settings are a frozen value built by the command line, by a test, or from the environment of a
uvicorn worker. Construction refuses unsafe or contradictory values (a TLS certificate without
its key, several workers on SQLite, plain HTTP on a public interface unless asked for) so that
nothing downstream has to re-check them. This module does no I/O beyond reading the environment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_SETTINGS = "PMS_SYNC_SETTINGS"
DB_FILENAME = "server.db"


class SettingsError(ValueError):
    """A setting is missing, contradictory or unsafe; the message says which."""


@dataclass(frozen=True)
class RateLimit:
    """Attempts allowed per key: ``per_hour`` an hour and ``burst`` per ``burst_seconds``."""

    per_hour: int = 100
    burst: int = 10
    burst_seconds: int = 60


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know; see ``docs/server.md`` for each option."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_plain_http: bool = False
    workers: int = 1
    max_body_bytes: int = 8 * 1024 * 1024
    max_push_changes: int = 1000
    push_slots: int = 2  # pushes a worker applies at once; the others wait in arrival order
    max_audit_entries: int = 5000
    pull_limit_max: int = 1000
    search_count_max: int = 1000
    enrol_code_ttl_hours: int = 24
    token_ttl_seconds: int = 900
    auth_rate: RateLimit = field(default_factory=RateLimit)
    run_migrations: bool = True
    public_base_url: str | None = None
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, **kwargs: object) -> Settings:
        """Settings for the embedded SQLite store in ``DATA_DIR/server.db``."""
        return cls(database_url=sqlite_url(data_dir), **kwargs)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def to_env(self) -> str:
        """Serialise for worker processes started by uvicorn (see ``from_env``)."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV_SETTINGS)
        if not raw:
            raise SettingsError(f"{ENV_SETTINGS} is not set")
        data = json.loads(raw)
        data["auth_rate"] = RateLimit(**data.get("auth_rate", {}))
        return cls(**data)


def sqlite_url(data_dir: str | Path) -> str:
    """The database URL of a data directory (created with owner-only permissions)."""
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{path / DB_FILENAME}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(s: Settings) -> None:
    if not (s.database_url.startswith("sqlite:///") or
            s.database_url.startswith("postgresql+psycopg://")):
        raise SettingsError("database URL must be sqlite:///PATH or postgresql+psycopg://...")
    if (s.tls_cert is None) != (s.tls_key is None):
        raise SettingsError("--tls-cert and --tls-key go together")
    for path in (s.tls_cert, s.tls_key):
        if path is not None and not Path(path).is_file():
            raise SettingsError(f"TLS file not found: {path}")
    if s.tls_cert is None and not s.allow_plain_http and not _is_loopback(s.host):
        raise SettingsError(
            "refusing plain HTTP on a non-loopback address: give --tls-cert/--tls-key, or "
            "--allow-plain-http when a TLS-terminating proxy sits in front")
    if not 0 < s.port < 65536:
        raise SettingsError("port must be in 1..65535")
    if s.workers < 1 or (s.workers > 1 and s.is_sqlite):
        raise SettingsError("several workers need PostgreSQL; SQLite runs one worker")
    positive = ("max_body_bytes", "max_push_changes", "push_slots", "max_audit_entries",
                "pull_limit_max", "search_count_max", "enrol_code_ttl_hours",
                "token_ttl_seconds")
    for name in positive:
        if getattr(s, name) <= 0:
            raise SettingsError(f"{name} must be positive")
    if s.enrol_code_ttl_hours > 24 * 30:
        raise SettingsError("enrolment codes may live 30 days at most")
    if s.token_ttl_seconds > 24 * 3600:
        raise SettingsError("access tokens may live one day at most")
    rate = s.auth_rate
    if rate.per_hour <= 0 or rate.burst <= 0 or rate.burst_seconds <= 0:
        raise SettingsError("rate limits must be positive")
    if rate.per_hour > 100:
        raise SettingsError("authentication allows at most 100 attempts an hour per key")
