"""Run the reliability proving ground and print its figures.

    python -m tests.reliability.report            # the short form (what CI runs)
    python -m tests.reliability.report --long     # many more trials (minutes to an hour)
    python -m tests.reliability.report --only tests/reliability/test_save_crashes.py

It runs every test marked ``reliability`` (tests/reliability, the sync fault tests, ...) with
``PMS_RELIABILITY_OUT`` pointing at a scratch file, then adds up what each test recorded with
``tests.reliability.figures.record``: trials run, faults injected, changes lost, duplicates,
corruptions and leaks per area, and in total. Exit status: pytest's, or 1 when any test found a
loss, duplicate, corruption or leak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

COUNTS = ("trials", "faults", "lost", "duplicates", "corruptions", "leaks")
ROOT = Path(__file__).resolve().parents[2]


def summarise(rows: list[dict[str, object]]) -> tuple[list[list[str]], dict[str, int]]:
    by_area: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for row in rows:
        for key in COUNTS:
            by_area[str(row["area"])][key] += int(row.get(key, 0))  # type: ignore[call-overload]
    total = dict.fromkeys(COUNTS, 0)
    table = []
    for area in sorted(by_area):
        figures = by_area[area]
        table.append([area, *(str(figures[k]) for k in COUNTS)])
        for k in COUNTS:
            total[k] += figures[k]
    return table, total


def render(table: list[list[str]], total: dict[str, int], header: str) -> str:
    head = ["area", *COUNTS]
    body = [*table, ["total", *(str(total[k]) for k in COUNTS)]]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True)))
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([header, line(head), rule, *(line(r) for r in table), rule, line(body[-1])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.report")
    parser.add_argument("--long", action="store_true", help="the long run (many more trials)")
    parser.add_argument("-n", default="2", help="pytest-xdist workers (default 2)")
    parser.add_argument("--only", nargs="+", default=["tests"], metavar="PATH",
                        help="run the reliability tests under these paths only (default: tests)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pms-reliability-") as tmp:
        out = Path(tmp) / "figures.jsonl"
        env = {**os.environ, "PMS_RELIABILITY_OUT": str(out),
               "PMS_RELIABILITY": "long" if args.long else "short"}
        started = datetime.now(UTC)
        code = subprocess.call(  # noqa: S603 - our own interpreter running pytest
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "reliability",
             "-n", args.n, "--timeout", "7200" if args.long else "900", *args.only,
             *args.pytest_args], cwd=ROOT, env=env)
        rows = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    table, total = summarise(rows)
    header = (f"# reliability ({'long' if args.long else 'short'} run), "
              f"{started:%Y-%m-%d %H:%M} UTC, {minutes:.1f} min, {os.cpu_count()} cores")
    print(render(table, total, header))
    bad = total["lost"] + total["duplicates"] + total["corruptions"] + total["leaks"]
    return code or (1 if bad else 0)


if __name__ == "__main__":
    sys.exit(main())
