"""The ASGI application: ``create_app(settings)`` builds it; nothing is built at import time.

``factory()`` is the entry point of uvicorn worker processes (settings from the environment,
see ``Settings.from_env``); the command line builds settings from its options instead.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from fastapi import FastAPI

from sync_server.api import (
    admin_routes,
    auth_routes,
    device_routes,
    errors,
    fhir_routes,
    health,
    sync_routes,
)
from sync_server.api.deps import AppContext
from sync_server.api.middleware import AccessLog, BodyLimit, ChainWriter
from sync_server.settings import Settings
from sync_server.store import migrate
from sync_server.store.db import Database


def _version() -> str:
    try:
        return package_version("clinic-pms")
    except PackageNotFoundError:
        return "0.1.0"


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """A ready application on its own store connection (migrated first when asked).

    ``database`` lets a caller share one connection pool between applications (the tests do);
    the application then leaves disposing it to that caller.
    """
    db = database or Database(settings.database_url)
    if settings.run_migrations:
        migrate.upgrade(db.engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if database is None:
            db.dispose()

    app = FastAPI(title="pms-sync-server", version=_version(), lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.ctx = AppContext(settings=settings, db=db, version=_version())
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AccessLog, writer=ChainWriter(db))
    for module in (health, auth_routes, sync_routes, device_routes, admin_routes,
                   fhir_routes):
        app.include_router(module.router)
    logging.getLogger("sync_server").setLevel(settings.log_level)
    return app


def factory() -> FastAPI:
    """uvicorn ``--factory`` entry point for worker processes."""
    app = create_app(Settings.from_env())
    settle_memory()
    return app


def settle_memory() -> None:
    """In a server process, once the application is built: what is alive then (modules, the
    FHIR models, the app) stays for the process's life, so the garbage collector is told to
    leave it alone (``gc.freeze``). Its full collections, started by the many objects of a
    push's JSON, otherwise walk those few hundred thousand objects each time: ~200 ms of CPU
    a time, ~5 ms a 100-change push on average. Not for processes that build many apps
    (tests): what it freezes is never collected.

    The collector is also run less often: a young collection after ``YOUNG_COLLECTION``
    more container objects (Python's default: 700). A push's JSON makes tens of thousands of
    them, alive until its answer and then freed by reference counting (the server's requests
    leave almost no cycles behind), so with ten pushes under way the default collected several
    times a push, moving the live ones on to older generations whose collections walked them
    all again: 20 clinics pushing at once, ~1 s of a worker's CPU in 100 pushes (py-spy --native:
    ``gc_collect_main`` 31 % of the samples), nearly none with this."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION)


YOUNG_COLLECTION = 50_000
