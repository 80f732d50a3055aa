"""Turns the services' "what changed" facts into one Qt signal that open views listen to.

Services call ``core.notify(topic, ...)`` on whatever thread ran them; the signal is queued to
the GUI thread, where views refresh only what they show.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class ChangeBus(QObject):
    changed = Signal(str, dict)

    def _on_change(self, topic: str, info: dict[str, Any]) -> None:
        self.changed.emit(topic, dict(info))


def change_bus(ctx: Any) -> ChangeBus:
    """The one bus of this context (made on first use, listening to its service core)."""
    bus: ChangeBus | None = getattr(ctx.core, "_qt_change_bus", None)
    if bus is None:
        bus = ChangeBus()
        ctx.core.listeners.append(bus._on_change)
        ctx.core._qt_change_bus = bus
    return bus
