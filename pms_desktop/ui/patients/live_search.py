"""Search as you type, for every patient search box (the Patients screen, the quick-book panel).

Each keystroke searches at once, off the GUI thread: a search takes milliseconds, and DESIGN.md
gives 100 ms from keypress to results painted, which a pause-in-typing timer alone would use up.
Keys typed while a search runs are searched together when it answers (one search in flight at
a time, never a queue of stale ones), and an answer to text that has changed since is dropped:
only results for what is in the box are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from ..ops import run_op


class LiveSearch(QObject):
    answered = Signal(str, object)  # the text searched ("" once the box is emptied), the rows
    failed = Signal(object)  # the error of a search

    def __init__(self, owner: QWidget, line: QLineEdit,
                 search: Callable[[str], list[Any]]) -> None:
        super().__init__(owner)
        self.owner, self.line, self.search = owner, line, search
        self.generation = 0  # bumped by each search asked for (and by ``drop_answers``)
        self._searching = False  # a search is running
        self._again = False  # the text changed while it ran: search again when it answers
        line.textChanged.connect(self._text_changed)

    def busy(self) -> bool:
        """A search runs (or waits to) whose answer is not shown yet."""
        return self._searching

    def drop_answers(self) -> None:
        """The answer of a search under way is not to be shown (another list replaced it)."""
        self.generation += 1

    def _text_changed(self, _text: str) -> None:
        if self._searching:
            self._again = True
        else:
            self.run()

    def run(self) -> None:
        """Search the text in the box now."""
        text = self.line.text().strip()
        self.generation += 1
        gen = self.generation
        self._again = False
        if not text:
            self.answered.emit("", [])
            return
        search = self.search
        self._searching = True
        run_op(self.owner, lambda: search(text), lambda rows: self._answered(gen, text, rows),
               self._failed)

    def _answered(self, gen: int, text: str, rows: list[Any]) -> None:
        self._searching = False
        if self._again:  # typed on meanwhile: this answer is stale, ask for the current text
            self.run()
        elif gen == self.generation:
            self.answered.emit(text, rows)

    def _failed(self, error: BaseException) -> None:
        self._searching = self._again = False
        self.failed.emit(error)
