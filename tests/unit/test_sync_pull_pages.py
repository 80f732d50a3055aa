"""Pulled pages are sized so that applying one holds the store's one connection briefly: a
person's database call waits for at most about one page, even on a slow machine."""

from __future__ import annotations

from pms_desktop.sync.engine import PULL_MIN_PAGE, PULL_PAGE, PULL_TXN_SECONDS, _next_limit


def test_a_slow_page_makes_the_next_one_smaller_and_a_fast_one_larger() -> None:
    assert _next_limit(200, 200, 2 * PULL_TXN_SECONDS) == 100
    assert _next_limit(500, 500, 100 * PULL_TXN_SECONDS) == PULL_MIN_PAGE  # never below
    assert _next_limit(20, 20, PULL_TXN_SECONDS / 100) == 80  # grows at most 4x a page
    assert _next_limit(400, 400, PULL_TXN_SECONDS / 100) == PULL_PAGE  # never above


def test_a_last_page_teaches_nothing() -> None:
    assert _next_limit(100, 7, 5.0) == 100
    assert _next_limit(100, 100, 0.0) == 100
