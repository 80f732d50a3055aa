"""Figures of the real application process, offscreen: cold start, memory, search keypress.

- Cold start: a new ``python -m pms_desktop --data-dir DIR`` process with
  ``PMS_STARTUP_PROBE=1`` (it prints when the sign-in window is first painted, then quits);
  measured from just before the process is started. The files are in the OS cache after the
  first run: this is the start of a new application process, not of a cold computer.
- Memory, chart opening in the window, keypress to results painted: ``bench/gui_probe.py`` in
  a process of its own (the real MainWindow and widgets).

DESIGN.md's budget: cold start under 2 s, keypress to results painted under 100 ms, a chart
opens in under 100 ms. It sets none for memory; ours: under 600 MB after 50 charts, and opening
them grows the process by less than 100 MB (no chart is kept after it is closed).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .harness import PRIVATE_KEYRING, Figure, p95, timed

START_MS, SEARCH_MS, CHART_MS = 2000, 100, 100
RSS_MB, GROWTH_MB = 600, 100


def _env() -> dict[str, str]:
    return {**os.environ, **PRIVATE_KEYRING, "QT_QPA_PLATFORM": "offscreen"}


def cold_start(data_dir: Path, repeat: int) -> Figure:
    # An installed application starts from bytecode (pip compiles a wheel's modules when it
    # installs it). A development checkout run with PYTHONDONTWRITEBYTECODE (set here) would
    # compile every module of ours at each start (~0.5 s of CPU), a cost no clinic pays.
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "pms_desktop", quiet=1)
    walls, cpus = [], []
    for _ in range(repeat):
        t0 = time.time()
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pms_desktop", "--data-dir", str(data_dir)],
            env={**_env(), "PMS_STARTUP_PROBE": "1"}, capture_output=True, text=True,
            timeout=120, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("sign-in window")), "")
        if not line:
            raise RuntimeError(
                f"no start-up probe line (exit {done.returncode}): {done.stderr[-500:]}")
        words = line.split()
        walls.append((float(words[4]) - t0) * 1000)
        cpus.append(float(words[6]))
    return timed("cold start to the sign-in window (a new process)", START_MS, walls,
                 note=f"CPU {statistics.median(cpus):.2f} s, p95 {p95(cpus):.2f} s")


def _cpu(ms: list[float]) -> str:
    """Median and p95 of the process's CPU (all threads: the GUI and the database worker)."""
    return f"{statistics.median(ms):.0f} ms, p95 {p95(ms):.0f} ms"


def gui(data_dir: Path, charts: int, searches: int) -> list[Figure]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.gui_probe", "--data-dir", str(data_dir),
         "--charts", str(charts), "--searches", str(searches)],
        env=_env(), capture_output=True, text=True, timeout=900, check=False,
        cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"gui probe failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    rss = out["rss_mb"]
    last = rss[f"after {charts} charts"]
    growth = last - rss["first chart"]
    return [
        timed("keypress to search results painted (the real widget)", SEARCH_MS, out["search_ms"]),
        timed("open a chart in the window (all loads shown)", CHART_MS, out["chart_ms"][1:],
              note=f"CPU {_cpu(out['chart_cpu_ms'][1:])}; the first, with its imports, left"
                   " out"),
        Figure(f"memory (RSS) after opening {charts} charts", f"< {RSS_MB} MB", last, last, "MB",
               last < RSS_MB, note=f"main window {rss['main window']:.0f} MB"),
        Figure(f"memory growth from chart 1 to {charts}", f"< {GROWTH_MB} MB", growth, growth,
               "MB", growth < GROWTH_MB),
    ]


def measure(data_dir: Path, *, starts: int, charts: int, searches: int) -> list[Figure]:
    return [cold_start(data_dir, starts), *gui(data_dir, charts, searches)]
