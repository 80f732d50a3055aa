"""Composition root: open the store, build the services (no widgets here).

Both the GUI and the command line build one ``AppContext`` per data folder. Services are
attributes; each is a small class holding the shared ``ServiceCore``, built (and its module
imported) when first used: the sign-in window needs two of them, and importing the others
(billing's PDF layouts, sync's HTTP client) cost about a third of a cold start's CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from .domain.errors import StoreError
from .services.base import Clock, ServiceCore, utc_now
from .store.database import ClinicDatabase
from .store.keys import KeyStore
from .store.models import Workstation


class Services(Mapping[str, object]):
    """The services by name, each built by its factory when first asked for. Safe from any
    thread: two threads asking at once may both build it, and the first one stored is kept."""

    def __init__(self, factories: Mapping[str, Callable[[], object]]) -> None:
        self._factories = dict(factories)
        self._built: dict[str, object] = {}

    def __getitem__(self, name: str) -> object:
        try:
            return self._built[name]
        except KeyError:
            factory = self._factories[name]  # KeyError: no such service
        return self._built.setdefault(name, factory())

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


@dataclass
class AppContext:
    db: ClinicDatabase
    core: ServiceCore
    services: Mapping[str, object] = field(default_factory=dict)

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
    from .services.registry import service_factories

    return AppContext(db, core, Services(service_factories(core, db)))


def open_context(data_dir: Path, *, keystore: KeyStore | None = None,
                 clock: Clock = utc_now) -> AppContext:
    data_dir = Path(data_dir)
    if not ClinicDatabase.exists(data_dir):
        raise StoreError(f"No clinic database in {data_dir}. Create one first (or run 'demo').")
    return build_context(ClinicDatabase.open(data_dir, keystore), clock=clock)
