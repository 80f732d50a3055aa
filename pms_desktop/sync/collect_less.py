"""Fewer garbage collections while a sync runs.

A sync builds and drops many short-lived objects (ORM rows, resource dicts, JSON) while the
workstation holds many long-lived ones; with CPython's default first threshold (700
allocations) the collector ran so often that it took about half of the time spent turning
records into resources. While a sync runs the first threshold is raised: the same garbage is
collected, in fewer, larger passes (at most ``THRESHOLD`` container objects wait for one).
A pass traces every young object still alive, and a new workstation's download keeps a few
pulled pages alive at once (those of one transaction, for its redo): at 50,000 the collector
traced them pass after pass, 4.6 s of the 100,000-patient demo's first pull, 3.1 s at
250,000, 0.2 s at 1,000,000 (``gc.callbacks``; the pull 50 s -> 45 s). What waits for a pass
is only garbage in reference cycles, which the sync barely makes (a few thousand objects in a
pull of 50,000 resources): the rest goes when its last reference does.
The setting is process-wide: the GUI thread sees it too for the length of the sync, which
only lets a little more garbage wait. Nested or concurrent syncs leave the setting as they
found it.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

THRESHOLD = 1_000_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] | None = None

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            if _saved[0] < THRESHOLD:
                gc.set_threshold(THRESHOLD, *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


def collecting_less(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run under ``fewer_collections``."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fewer_collections():
            return fn(*args, **kwargs)
    return wrapper
