"""Composition root: open the store, build the services (no widgets here).

Both the GUI and the command line build one ``AppContext`` per data folder. Services are
attributes; each is a small class holding the shared ``ServiceCore``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from .domain.errors import StoreError
from .services.base import Clock, ServiceCore, utc_now
from .store.database import ClinicDatabase
from .store.keys import KeyStore
from .store.models import Workstation


@dataclass
class AppContext:
    db: ClinicDatabase
    core: ServiceCore
    services: dict[str, object] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.db.data_dir

    def __getattr__(self, name: str) -> object:
        services = self.__dict__.get("services", {})
        if name in services:
            return services[name]
        raise AttributeError(name)

    def close(self) -> None:
        self.db.close()


def local_workstation_id(db: ClinicDatabase) -> str:
    with db.sessions()() as s:
        ws = s.scalars(select(Workstation).where(Workstation.is_local.is_(True))).first()
        return ws.id if ws else "unregistered"


def build_context(db: ClinicDatabase, *, clock: Clock = utc_now) -> AppContext:
    core = ServiceCore(db.sessions(), local_workstation_id(db), clock)
    ctx = AppContext(db, core)
    from .services.registry import build_services

    ctx.services.update(build_services(core, db))
    return ctx


def open_context(data_dir: Path, *, keystore: KeyStore | None = None, clock: Clock = utc_now) -> AppContext:
    data_dir = Path(data_dir)
    if not ClinicDatabase.exists(data_dir):
        raise StoreError(f"No clinic database in {data_dir}. Create one first (or run 'demo').")
    return build_context(ClinicDatabase.open(data_dir, keystore), clock=clock)
