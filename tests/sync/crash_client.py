"""A workstation that runs one real sync and SIGKILLs itself at a named point.

The crash tests run :func:`run` in a child process (a fork of a ``multiprocessing`` fork server
that has imported the application once, so a trial costs a fork, not an interpreter start).
It opens the clinic store in ``data_dir`` as the application does and calls the real
``ctx.sync.run_sync()``; the only changes are test-side monkeypatches that
``os.kill(os.getpid(), SIGKILL)`` when the sync reaches the chosen point for the ``n``-th time.
No hook exists in production code. Points where the kill must happen *inside the network*
(half a body sent, the server committed but the answer not yet delivered) are acted out by the
fault proxy instead, which SIGKILLs this process from the parent (see ``PROXY_POINTS``).

Standalone, to replay one trial by hand::

    python -m tests.sync.crash_client DATA_DIR POINT N [PUSH_BATCH PULL_PAGE]

Exit status: 0 the sync finished, 3 the server could not be reached, -9 (killed) otherwise.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Points acted out in this process by a monkeypatch: name -> what it means.
SELF_POINTS = {
    "push:before-send": "the batch's bodies are recorded, nothing has left yet",
    "push:answer-unrecorded": "the server's answer arrived; killed while marking the outbox",
    "push:recorded": "a batch's results are committed locally, the next step not started",
    "pull:mid-page": "part of a pulled page applied, nothing committed",
    "pull:before-cursor": "a page applied, killed as its cursor is written (same transaction)",
    "pull:between-pages": "a page and its cursor committed, the next page not asked for",
    "audit:answer-unrecorded": "the server acknowledged the access log, the head not stored",
    "digest:start": "pull and audit done, killed before the drift check",
}
# Points acted out by the fault proxy in the parent: name -> (path prefix, proxy fault kind).
PROXY_POINTS = {
    "push:mid-body": ("/sync/push", "cut-request"),
    "push:server-committed": ("/sync/push", "lose-answer"),
    "pull:answer-lost": ("/sync/pull", "lose-answer"),
    "audit:server-committed": ("/sync/audit", "lose-answer"),
    # The clinic's first workstation leaving the clinic key it made on the server.
    "clinic-key:server-committed": ("PUT /sync/clinic-key", "lose-answer"),
}
POINTS = (*SELF_POINTS, *PROXY_POINTS)
OFFLINE = 3


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _at_nth(n: int, target: Any, name: str, *, after: bool = False,
            when: Callable[..., bool] = lambda *a, **k: True) -> None:
    """Wrap ``target.name`` so that its ``n``-th qualifying call kills the process (before the
    call, or after it returned when ``after``)."""
    original = getattr(target, name)
    count = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        hit = False
        if when(*args, **kwargs):
            count += 1
            hit = count == n
            if hit and not after:
                _die()
        result = original(*args, **kwargs)
        if hit:
            _die()
        return result

    setattr(target, name, wrapper)


def install(point: str, n: int) -> None:
    """Arm ``point`` to kill at its ``n``-th occurrence (proxy points need nothing here)."""
    from pms_desktop.sync import digest, engine, remote_apply, sync_state, transport

    if point in PROXY_POINTS:
        return
    if point == "push:before-send":
        _at_nth(n, transport.SyncClient, "push")
    elif point == "push:answer-unrecorded":
        state = {"push": 0}
        original_push = engine.SyncEngine.push

        def push(self: Any, report: Any, **kwargs: Any) -> int:
            state["push"] += 1
            return original_push(self, report, **kwargs)

        original_handle = engine.SyncEngine._handle_result

        def handle(self: Any, *args: Any, **kwargs: Any) -> None:
            if state["push"] == n:
                _die()
            original_handle(self, *args, **kwargs)

        engine.SyncEngine.push = push  # type: ignore[method-assign]
        engine.SyncEngine._handle_result = handle  # type: ignore[method-assign]
    elif point == "push:recorded":
        _at_nth(n, engine.SyncEngine, "push", after=True)
    elif point == "pull:mid-page":
        _at_nth(n, remote_apply.RemoteApplier, "apply")
    elif point == "pull:before-cursor":
        _at_nth(n, sync_state, "put",
                when=lambda _s, key, *_a, **_k: key == sync_state.PULL_CURSOR)
    elif point == "pull:between-pages":
        _at_nth(n + 1, transport.SyncClient, "pull")
    elif point == "audit:answer-unrecorded":
        _at_nth(n, transport.SyncClient, "upload_audit", after=True)
    elif point == "digest:start":
        _at_nth(n, digest.DigestRepair, "check")
    else:
        raise ValueError(f"unknown crash point {point!r}")


def run(data_dir: str, point: str, n: int, push_batch: int = 4, pull_page: int = 3,
        env: dict[str, str] | None = None) -> None:
    """One sync of the workstation in ``data_dir`` that dies at ``point`` (child process).
    ``env``: the parent's keyring settings (a fork server keeps the environment it started
    with)."""
    os.environ.update(env or {})
    from pms_desktop.context import build_context
    from pms_desktop.store.database import ClinicDatabase
    from pms_desktop.sync import engine
    from pms_desktop.sync.transport import SyncOffline

    engine.PUSH_BATCH, engine.PULL_PAGE = push_batch, pull_page
    install(point, n)
    ctx = build_context(ClinicDatabase.open(Path(data_dir)))
    try:
        ctx.sync.run_sync()  # type: ignore[attr-defined]
    except SyncOffline:
        sys.exit(OFFLINE)
    finally:
        ctx.close()


def preload() -> None:
    """Import what a trial needs, once, in the fork server: every module of the application
    below the GUI (the services import theirs lazily, the reports pull in matplotlib)."""
    import importlib
    import pkgutil

    import pms_desktop

    for module in pkgutil.walk_packages(pms_desktop.__path__, "pms_desktop."):
        if not module.name.startswith(("pms_desktop.ui", "pms_desktop.cli",
                                       "pms_desktop.__main__", "pms_desktop.store.migrations")):
            with contextlib.suppress(ImportError):  # a trial that needs it says so itself
                importlib.import_module(module.name)
    # What the first sync would import on the way: the HTTP stack, the keyring's file
    # backend, SQLite's dialect and the FHIR models the mapping validates with.
    import httpx
    from fhir.resources.R4B import get_fhir_model_class

    httpx.Client().close()
    for name in ("keyrings.alt.file", "sqlalchemy.dialects.sqlite", "encodings.idna"):
        importlib.import_module(name)
    for rtype in ("Patient", "Appointment", "Basic", "Organization", "Practitioner",
                  "PractitionerRole", "AuditEvent", "Encounter", "Observation", "Condition",
                  "AllergyIntolerance", "MedicationStatement", "Coverage", "Invoice",
                  "ChargeItem", "Consent", "Composition", "DocumentReference", "Provenance",
                  "Address", "Coding", "ContactPoint", "Extension", "HumanName", "Meta",
                  "Reference"):
        get_fhir_model_class(rtype)


preload()


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 5) or argv[1] not in POINTS:
        print(__doc__, file=sys.stderr)
        print("points:", ", ".join(POINTS), file=sys.stderr)
        return 2
    push_batch, pull_page = (int(x) for x in argv[3:5]) if len(argv) == 5 else (4, 3)
    run(argv[0], argv[1], int(argv[2]), push_batch, pull_page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
