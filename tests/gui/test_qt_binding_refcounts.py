"""The Qt binding keeps Python's reference counts: emitting a signal from Python takes nothing
away from ``True``.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without taking a reference to it, so
every ``emit()`` made from Python drops one reference to ``True`` (the ops relay emits once per
background call, widgets and controllers many times more). Once the program has emitted about
as often as ``True`` has references (some tens of thousands), the interpreter aborts with
"Fatal Python error: bool_dealloc: deallocating True or False": first seen at the exit of
``pytest tests/gui/test_auth_password.py tests/gui/test_auth.py`` in one process, after every
test had passed; a workstation left running long enough would abort the same way.
pyproject.toml excludes that version; this fails at once on one that does the same.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal

EMITS = 500


class _Emitter(QObject):
    bare = Signal()
    relayed = Signal(int, str, object)  # as ui/ops._Relay.delivered


def _drift(emit: Callable[[], object]) -> int:
    before = sys.getrefcount(True)
    for _ in range(EMITS):
        emit()
    return _given_back(sys.getrefcount(True) - before)


def _given_back(drift: int) -> int:
    """References to ``True`` a broken binding took are given back (for good), so that the
    failing test reports itself instead of aborting the interpreter later; ``drift`` returned."""
    for _ in range(-drift):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return drift


def test_emitting_a_signal_from_python_keeps_the_references_to_true(qapp) -> None:  # type: ignore[no-untyped-def]
    emitter = _Emitter()
    received: list[object] = []
    emitter.bare.connect(lambda: None)
    emitter.relayed.connect(lambda token, kind, payload: received.append(payload),
                            Qt.ConnectionType.QueuedConnection)

    assert abs(_drift(emitter.bare.emit)) < EMITS // 10  # 6.12.0: -EMITS
    before = sys.getrefcount(True)
    for _ in range(EMITS):
        emitter.relayed.emit(1, "done", True)
    qapp.processEvents()  # the queued results delivered
    assert received == [True] * EMITS
    received.clear()
    assert abs(_given_back(sys.getrefcount(True) - before)) < EMITS // 10  # 6.12.0: -EMITS
