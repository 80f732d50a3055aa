"""A pulled page's applier, and the page's records it holds, go when the page is done: not at
the garbage collector's next pass. A reference cycle between the applier and its helpers kept
every page of a first pull alive until then, and the collector traced them again and again
(13 of a 64 s first pull of the 100,000-patient demo)."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime

from pms_desktop.context import AppContext
from pms_desktop.sync.page_apply import MadeApart, PageApplier


def test_a_pages_applier_goes_with_the_page(ctx: AppContext) -> None:
    rmap = ctx.sync.rmap  # type: ignore[attr-defined]
    records = {("Patient", "p1", 1): object()}  # what a page's applier holds
    gc.disable()
    try:
        with ctx.db.sessions()() as s:
            applier = PageApplier(s, rmap, "ws-1", lambda: datetime.now(UTC))
            applier.made_apart = MadeApart(records, {})
            applier.rmap.table_for({"resourceType": "Patient", "id": "p1"})
            gone = weakref.ref(applier)
            del applier
            assert gone() is None
    finally:
        gc.enable()
