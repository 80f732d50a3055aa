"""``python -m bench.gui_probe --data-dir DIR [--charts N] [--searches N]``: real widgets.

Run by ``bench/app_process.py`` in a process of its own (``QT_QPA_PLATFORM=offscreen``): a
clinician's ``MainWindow`` on the demo clinic. Prints one JSON object:

- ``chart_ms`` (``chart_cpu_ms``: the process's CPU): each chart opened through
  ``MainWindow.open_patient(id, tab="clinical")`` (as a double-click on a search result
  does), until every load it queued has been shown;
- ``rss_mb``: the process's resident memory after the main window, after the first chart and
  after the last one (the patient file of the previous patient is closed, as in the app);
- ``search_ms``: keypress to results painted in the patient search: the query is typed but
  for its last character, which is a real key event; the clock stops when the results table
  has painted the new results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from .harness import PRIVATE_KEYRING


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _profiler(on: bool, cpu: bool = False) -> Any:
    if not on:
        return None
    if cpu:
        import cProfile

        c = cProfile.Profile(time.process_time)
        c.enable()
        return c
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    return profiler


def _report(profiler: Any) -> None:
    if profiler is None:
        return
    if hasattr(profiler, "output_text"):
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
        return
    import pstats

    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gui_probe")
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--charts", type=int, default=50)
    ap.add_argument("--searches", type=int, default=20)
    ap.add_argument("--profile", choices=("charts", "searches"), default=None,
                    help="print a pyinstrument profile of that part to standard error")
    ap.add_argument("--cprofile", action="store_true",
                    help="with --profile: cProfile (CPU of the GUI thread) instead")
    args = ap.parse_args(argv)
    for k, v in PRIVATE_KEYRING.items():
        os.environ.setdefault(k, v)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from pms_desktop.context import build_context
    from pms_desktop.domain.enums import Role
    from pms_desktop.store.database import ClinicDatabase
    from pms_desktop.ui import ops
    from pms_desktop.ui.gui_gc import GuiThreadCollector
    from pms_desktop.ui.main_window import MainWindow
    from pms_desktop.ui.theme import apply_theme

    from .workstation import actor, sample_patients

    app = QApplication.instance() or QApplication(sys.argv)
    GuiThreadCollector(app)  # as run_gui does
    apply_theme(app)  # type: ignore[arg-type]
    ctx = build_context(ClinicDatabase.open(args.data_dir))
    people = sample_patients(ctx, max(args.charts, args.searches), random.Random(7))

    def spin(ms: int = 0) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()  # a real event loop: queued results and deferred deletes are handled

    def settle(deadline_s: float = 30.0) -> None:
        """Until the work queued by the widgets has run and its results were shown."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            ops.wait_for_idle(deadline_s)
            spin()
            if not ops._PENDING:  # noqa: SLF001 - the bench looks inside on purpose
                return
        raise TimeoutError("background work did not finish")

    out: dict[str, Any] = {}
    window = MainWindow(ctx, actor(ctx, Role.CLINICIAN))
    window.resize(1360, 860)
    window.show()
    settle()
    spin(200)
    out["rss_mb"] = {"main window": rss_mb()}

    profiler = None
    charts, chart_cpu = [], []
    for i in range(args.charts):
        if i == 1:  # the first chart imports the chart's modules: profile the others
            profiler = _profiler(args.profile == "charts", args.cprofile)
        t0, c0 = time.perf_counter(), time.process_time()
        window.open_patient(people[i % len(people)].id, tab="clinical")
        settle()
        charts.append((time.perf_counter() - t0) * 1000)
        chart_cpu.append((time.process_time() - c0) * 1000)
        if i == 0:
            out["rss_mb"]["first chart"] = rss_mb()
        spin(10)
    _report(profiler)
    window.close_patient()
    settle()
    spin(200)
    out["rss_mb"][f"after {args.charts} charts"] = rss_mb()
    out["chart_ms"], out["chart_cpu_ms"] = charts, chart_cpu

    screen: Any = window.show_screen("patients")
    assert screen is not None
    table = screen.table.viewport()

    class Painted(QObject):
        """Stops the clock when the results table has painted the new results."""

        def __init__(self) -> None:
            super().__init__()
            self.armed = False
            self.done_at: float | None = None

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if self.armed and event.type() == QEvent.Type.Paint:
                self.armed = False
                QTimer.singleShot(0, self._stop)  # after this paint has been drawn
            return False

        def _stop(self) -> None:
            self.done_at = time.perf_counter()

    painted = Painted()
    table.installEventFilter(painted)
    arm = lambda _text: setattr(painted, "armed", True)  # noqa: E731
    screen.results_shown.connect(arm)
    profiler = _profiler(args.profile == "searches", args.cprofile)
    searches: list[float] = []
    for i in range(args.searches):
        p = people[(i * 7) % len(people)]
        query = f"{p.family} {p.given[:3]}"
        screen.search.setFocus()
        screen.search.setText(query[:-1])
        settle()
        spin(300)  # the debounce of the typed prefix has fired and its results are shown
        settle()
        painted.armed, painted.done_at = False, None
        t0 = time.perf_counter()
        QTest.keyClicks(screen.search, query[-1])
        end = time.monotonic() + 30
        while painted.done_at is None and time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            time.sleep(0.0005)
        if painted.done_at is None:
            raise TimeoutError("the search results were never painted")
        searches.append((painted.done_at - t0) * 1000)
        assert screen.search.text() == query and screen.model.rowCount() > 0
    _report(profiler)
    out["search_ms"] = searches
    screen.results_shown.disconnect(arm)
    window.close()
    settle()
    ctx.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Measured, database closed: skip the interpreter's finalization, where PySide6 6.12 on
    # Python 3.11 can abort with "deallocating None/True" after many widgets and events (seen
    # with a bare QLineEdit and 1,000 key clicks too).
    os._exit(code)
