"""Timing helpers and the result table. Figures are medians and p95 over repeated runs."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
# The demo's database key lives in a file keyring under the cache folder (child processes too).
PRIVATE_KEYRING = {
    "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    "XDG_DATA_HOME": str(CACHE / "keyring"),
}


def demo_clinic(data_dir: Path, patients: int) -> Path:
    """``data_dir`` holding a demo clinic of ``patients`` patients, built with the ``demo``
    command's builder when it is missing (~45 s for 100,000), or when its key is not in the
    bench keyring (a file keyring written by two bench processes at once keeps one writer's
    entries, so such a cache cannot be opened; a folder outside the cache is never removed).
    Call it with ``PRIVATE_KEYRING`` set."""
    from pms_desktop.services.demo import build_demo
    from pms_desktop.store.database import ClinicDatabase
    from pms_desktop.store.keys import KeyInfo, KeyStore

    if (data_dir / "clinic.db").exists() and \
            KeyStore().get(KeyInfo.load(data_dir).keyring_name) is None:
        if not data_dir.resolve().is_relative_to(CACHE):
            raise SystemExit(f"{data_dir}: its key is not in this keyring (a demo is only built "
                             f"again in {CACHE})")
        print(f"{data_dir}: its key is not in the bench keyring; building it again",
              file=sys.stderr)
        shutil.rmtree(data_dir)
    if not (data_dir / "clinic.db").exists():
        print(f"building a demo clinic of {patients} patients in {data_dir} ...", file=sys.stderr)
        t0 = time.monotonic()
        db, _ = ClinicDatabase.create(data_dir)
        build_demo(db, patients)
        db.close()
        print(f"  built in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return data_dir


@dataclass(frozen=True)
class Figure:
    name: str
    target: str
    median: float | None
    p95: float | None
    unit: str
    passed: bool | None
    note: str = ""


def sample(
    fn: Callable[[], object], repeat: int, warmup: int = 2, *, cpu: list[float] | None = None
) -> list[float]:
    """Wall-clock milliseconds of ``fn`` over ``repeat`` runs (after ``warmup`` runs).

    With ``cpu``, the process's CPU milliseconds of each run are appended to it: on a machine
    others share, the CPU time tells a slow run from a run that waited for a core.
    """
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def timed(
    name: str,
    budget_ms: float,
    values: list[float],
    *,
    note: str = "",
    cpu: list[float] | None = None,
) -> Figure:
    q = p95(values)
    if cpu:
        note = "; ".join(x for x in (f"CPU {statistics.median(cpu):.1f} ms", note) if x)
    return Figure(
        name, f"p95 < {budget_ms:g} ms", statistics.median(values), q, "ms", q < budget_ms, note
    )


def ratio(name: str, limit: float, value: float, *, note: str = "") -> Figure:
    return Figure(name, f"<= {limit:g}x", value, value, "x", value <= limit, note)


def _fmt(f: Figure, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" if f.unit == "x" else f"{v:.1f} {f.unit}"


def machine_speed() -> str:
    """The CPU time of a fixed pure-Python loop (best of three), for the table's header: the
    machine is a shared VM whose speed varies from hour to hour (the same loop took 1.1 to
    1.5 s within a minute), so runs are compared with it in view."""
    best = float("inf")
    for _ in range(3):
        t0, total = time.process_time(), 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.process_time() - t0)
    return f"speed check: a 5M-step Python loop {best * 1000:.0f} ms CPU"


def table(figures: list[Figure]) -> str:
    """One line a figure: figure, target, median, p95, PASS/FAIL, note."""
    rows = [("figure", "target", "median", "p95", "result", "note")]
    for f in figures:
        verdict = "-" if f.passed is None else ("PASS" if f.passed else "FAIL")
        rows.append((f.name, f.target, _fmt(f, f.median), _fmt(f, f.p95), verdict, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
