"""Sign-in throttle: at most N attempts per account per hour are even evaluated.

In memory on purpose: it bounds the password-hashing work an attacker at this workstation can
cause (argon2 is costly by design). The lockout, which must survive a restart, is in the
database (``StaffUser.locked_until``).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from threading import Lock

WINDOW = timedelta(hours=1)


class SignInThrottle:
    def __init__(self) -> None:
        self._attempts: dict[str, deque[datetime]] = {}
        self._lock = Lock()

    def allow(self, account: str, now: datetime, per_hour: int) -> bool:
        """Record an attempt if the account is under its hourly budget; refuse it otherwise."""
        with self._lock:
            seen = self._attempts.setdefault(account, deque())
            while seen and now - seen[0] >= WINDOW:
                seen.popleft()
            if len(seen) >= per_hour:
                return False
            seen.append(now)
            return True
