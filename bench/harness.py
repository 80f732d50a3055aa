"""Timing helpers and the result table. Figures are medians and p95 over repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    target: str
    median: float | None
    p95: float | None
    unit: str
    passed: bool | None
    note: str = ""


def sample(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Wall-clock milliseconds of ``fn`` over ``repeat`` runs (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def timed(name: str, budget_ms: float, values: list[float], *, note: str = "") -> Figure:
    q = p95(values)
    return Figure(name, f"p95 < {budget_ms:g} ms", statistics.median(values), q, "ms", q < budget_ms, note)


def ratio(name: str, limit: float, value: float, *, note: str = "") -> Figure:
    return Figure(name, f"<= {limit:g}x", value, value, "x", value <= limit, note)


def table(figures: list[Figure]) -> str:
    rows = [("figure", "target", "median", "p95", "result")]
    for f in figures:
        fmt = (lambda v: "-" if v is None else (f"{v:.2f}" if f.unit == "x" else f"{v:.1f} {f.unit}"))
        verdict = "-" if f.passed is None else ("PASS" if f.passed else "FAIL")
        rows.append((f.name + (f" ({f.note})" if f.note else ""), f.target, fmt(f.median), fmt(f.p95), verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
