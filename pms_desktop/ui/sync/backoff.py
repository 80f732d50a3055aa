"""When to try again after the sync server could not be reached: capped exponential backoff.

Pure arithmetic (no Qt, no clock) so that it is easy to reason about and to test. The delay
doubles with each consecutive failure up to ``cap_ms``; "equal jitter" picks it between half and
all of that, so that the workstations of a clinic that lost the network together do not all
come back in the same second, and no delay ever exceeds the cap.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first_ms: int = 15_000
    cap_ms: int = 300_000

    def delay_ms(self, failures: int, rand: Callable[[], float] = random.random) -> int:
        """The wait after ``failures`` consecutive failures (1 for the first)."""
        ceiling = min(self.cap_ms, self.first_ms * 2 ** min(max(failures, 1) - 1, 30))
        return int(ceiling / 2 + rand() * ceiling / 2)
