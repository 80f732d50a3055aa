"""Administration › Audit log: what the table shows is the last search's result, whole and
once, however quickly searches follow each other or the filters change before the next page."""

from __future__ import annotations

from typing import Any

from pms_desktop.domain.enums import Role
from pms_desktop.ui.admin.audit_tab import AuditTab
from pms_desktop.ui.ops import wait_for_idle


def _shown(tab: AuditTab) -> list[int]:
    return [e.seq for e in tab.model.rows]


def test_a_search_shows_only_its_own_entries(qtbot: Any, ctx: Any, actors: Any) -> None:
    admin = actors[Role.CLINIC_ADMIN]
    tab = AuditTab(ctx, admin)  # its first search (everything) is on its way
    qtbot.addWidget(tab)
    tab.action.setText("clinic.create")
    tab.search()  # pressed before the first answered
    wait_for_idle()
    qtbot.waitUntil(lambda: not tab.model.loading, timeout=20_000)
    qtbot.wait(200)  # any late page delivered
    assert {e.action for e in tab.model.rows} == {"clinic.create"}
    assert len(_shown(tab)) == len(set(_shown(tab))) == tab.model.total


def test_later_pages_keep_the_search_filters(qtbot: Any, ctx: Any, actors: Any) -> None:
    admin = actors[Role.CLINIC_ADMIN]
    for _ in range(3):
        ctx.accounts.list_users(admin)  # user.list entries
    tab = AuditTab(ctx, admin)
    qtbot.addWidget(tab)
    tab.action.setText("user.list")
    tab.search()
    qtbot.waitUntil(lambda: not tab.model.loading and bool(tab.model.rows), timeout=20_000)
    first = _shown(tab)
    tab.action.setText("")  # cleared, not searched again
    tab.model.total += 1  # as if a further page were there: the table asks for it
    tab.model.fetchMore()
    qtbot.waitUntil(lambda: not tab.model.loading, timeout=20_000)
    assert {e.action for e in tab.model.rows} == {"user.list"}
    assert _shown(tab)[: len(first)] == first
