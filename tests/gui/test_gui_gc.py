"""Garbage is collected on the GUI thread, never in a worker thread (a cycle holding Qt objects
freed there deletes them from the wrong thread: a crash)."""

from __future__ import annotations

import gc
import threading

from pms_desktop.ui.gui_gc import GuiThreadCollector


class _Cycle:
    freed_in: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_in.append(threading.current_thread().name)


def test_cycles_dropped_in_a_worker_thread_are_freed_on_the_gui_thread(qtbot):  # type: ignore[no-untyped-def]
    assert not gc.isenabled()  # the tests' fixture installed the collector, as run_gui does
    _Cycle.freed_in.clear()

    def worker() -> None:
        for _ in range(5 * gc.get_threshold()[0]):  # well past the first threshold
            _Cycle()

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    thread.join()
    assert _Cycle.freed_in == []  # nothing collected in the worker
    qtbot.waitUntil(lambda: len(_Cycle.freed_in) > 0, timeout=5000)
    assert set(_Cycle.freed_in) == {threading.main_thread().name}


def test_the_collector_hands_collection_back_when_stopped(qtbot, qapp):  # type: ignore[no-untyped-def]
    collector = GuiThreadCollector(qapp)
    assert not gc.isenabled()
    collector.stop()
    assert not gc.isenabled()  # it found collection off (the fixture's): left off
    collector.deleteLater()
