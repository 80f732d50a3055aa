"""Reports (placeholder until the report module lands)."""

from __future__ import annotations

from .base import ServiceCore


class ReportsService:
    def __init__(self, core: ServiceCore) -> None:
        self.core = core
