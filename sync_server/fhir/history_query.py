"""Parameters of the ``_history`` interactions: ``_since``, ``_count`` and ``_offset``."""

from __future__ import annotations

from sync_server.errors import BadRequest
from sync_server.fhir.dates import date_range

_IGNORED = frozenset({"_format", "_pretty"})


def parse_history(pairs: list[tuple[str, str]], *, count_max: int
                  ) -> tuple[str | None, int, int]:
    since, offset, count = None, 0, min(50, count_max)
    for name, value in pairs:
        if name in _IGNORED:
            continue
        if name == "_since":
            bounds = date_range(value)
            if bounds is None:
                raise BadRequest("_since must be a FHIR instant")
            since = bounds[0]
        elif name in ("_count", "_offset"):
            if not value.isdigit() or len(value) > 9:
                raise BadRequest(f"{name} must be a non-negative integer")
            if name == "_count":
                count = min(int(value), count_max)
            else:
                offset = int(value)
        else:
            raise BadRequest(f"unsupported _history parameter: {name[:64]}")
    return since, offset, count
