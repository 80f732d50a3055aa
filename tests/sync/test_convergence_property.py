"""Convergence under concurrency (issue 10, item 3): three workstations edit offline, sync in
random orders with clocks hours apart, and end with the same data; every edit that lost a race
is in a conflict record, never silently gone.

Hypothesis draws the work (``convergence_model``). The short form (CI) runs a few derandomised
examples, the same ones every run; the long form (``PMS_RELIABILITY=long``) runs many random
ones, and a failure prints the ``@reproduce_failure`` blob that replays it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.reliability import figures
from tests.sync.convergence_model import Run, skews, steps

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


@pytest.fixture(scope="module")
def totals() -> Iterator[dict[str, int]]:
    """What the examples did and found, recorded once for the reliability report."""
    counts = {"trials": 0, "races": 0, "lost": 0, "duplicates": 0}
    yield counts
    if counts["trials"]:
        figures.record("convergence", trials=counts["trials"], faults=counts["races"],
                       lost=counts["lost"], duplicates=counts["duplicates"])


# Races every run meets, whatever hypothesis draws: one field edited on all three; bookings
# that overlap; one appointment moved on two; a note signed on one while edited on another;
# a cancellation against a check-in; the same phone changed on two with clocks a day apart.
ALL_AT_ONCE = [("edit", 0, 0, "city"), ("edit", 1, 0, "city"), ("edit", 2, 0, "city"),
               ("book", 0, 0, 0), ("book", 1, 1, 1), ("sync", 0), ("sync", 1), ("sync", 2),
               ("move", 0, 0, 2), ("move", 1, 0, 3), ("sync", 1), ("sync", 0)]
SIGNED_AND_CANCELLED = [("note", 0, 0), ("book", 0, 1, 0), ("sync", 0), ("sync", 1),
                        ("sync", 2), ("sign", 0, 0), ("note_edit", 1, 0, "plan"),
                        ("cancel", 2, 0), ("check_in", 1, 0), ("clock", 2, -12),
                        ("edit", 2, 1, "phone"), ("edit", 1, 1, "phone"), ("sync", 2),
                        ("sync", 1), ("sync", 0)]


@settings(max_examples=figures.trials(3, 150), deadline=None, derandomize=not figures.LONG,
          database=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(work=ALL_AT_ONCE, skew=[0, 9, -9], order=[2, 1, 0])
@example(work=SIGNED_AND_CANCELLED, skew=[12, 0, -12], order=[2, 0, 1])
@given(work=steps(), skew=skews(), order=st.permutations([0, 1, 2]))
def test_three_workstations_converge_and_lose_no_edit(
    make_workstations: Any, totals: dict[str, int], work: list[tuple[Any, ...]],
    skew: list[int], order: list[int]
) -> None:
    run = Run(make_workstations(3), skew)
    try:
        run.seed()
        run.play(work)
        run.settle(order)
        problems = run.findings()
        totals["trials"] += 1
        totals["races"] += run.races()
        totals["lost"] += sum(p.startswith("lost") for p in problems)
        totals["duplicates"] += sum(p.startswith("duplicate") for p in problems)
        assert problems == [], "\n".join(problems)
    finally:
        for w in run.ws:
            w.ctx.close()

