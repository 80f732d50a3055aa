"""Fixtures the GUI test modules share.

* ``themed``: the application's theme on the test ``QApplication``, applied once (re-styling a
  live application is costly). A module asks for it with
  ``pytestmark = pytest.mark.usefixtures("themed")``; modules that do not keep Qt's own style
  until a themed module has run in the same process.
* ``sync_server``: a module's own real sync server (``python -m sync_server serve`` on a free
  127.0.0.1 port), started once for the module that asks for it and stopped after its last
  test. Its enrolments do not count against another module's (the server limits enrolment
  attempts per address), and a module may stop it freely. The e2e fixtures of tests/sync
  (``make_workstations = e2e.make_workstations`` in a module) run against it.
* ``isolated_settings``: the application's QSettings (window sizes, column choices) in the
  test's own folder, so that no test sees what another saved.
* ``reception_book``: reception's appointment book, shown and loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from pms_desktop.domain.enums import Role
from pms_desktop.ui.theme import apply_theme
from tests.gui.sync_gui_support import free_port
from tests.sync.conftest import SyncServer


@pytest.fixture
def themed(qapp: QApplication) -> None:
    if not qapp.styleSheet():  # once: re-styling a live application is costly
        apply_theme(qapp)


@pytest.fixture
def isolated_settings(tmp_path: Path) -> None:
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "settings"))


@pytest.fixture
def reception_book(qtbot: Any, ctx: Any, actors: Any) -> Any:
    from pms_desktop.ui.schedule.appointment_book import AppointmentBook

    book = AppointmentBook(ctx, actors[Role.RECEPTION], None)
    qtbot.addWidget(book)
    with qtbot.waitSignal(book.view_loaded, timeout=20_000):
        book.show()
    return book


@pytest.fixture(scope="module")
def sync_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    port = free_port()
    server = SyncServer(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp(f"{name}-server"),
                        port)
    server.start()
    yield server
    server.stop()
