"""Results of background work may arrive after the widget that asked for them is gone (the
person closed it). ``guarded(widget, fn)`` drops such late answers instead of touching a
deleted widget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget


def guarded(widget: QWidget, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if shiboken6.isValid(widget):
            return fn(*args)
        return None

    return call


def run_op_guarded(
    widget: QWidget,
    fn: Callable[..., Any],
    on_done: Callable[..., Any] | None = None,
    on_error: Callable[..., Any] | None = None,
    **kw: Any,
) -> Any:
    """``run_op`` whose answers are dropped when the widget is gone by then."""
    from ..ops import run_op

    return run_op(
        widget,
        fn,
        guarded(widget, on_done) if on_done else None,
        guarded(widget, on_error) if on_error else None,
        **kw,
    )
