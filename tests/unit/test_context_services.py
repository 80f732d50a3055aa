"""``ctx.services`` builds each service when first asked for: one instance, whoever asks."""

from __future__ import annotations

import threading

import pytest

from pms_desktop.context import AppContext


def test_every_service_is_there_and_built_once(ctx: AppContext) -> None:
    names = set(ctx.services)
    assert {"accounts", "setup", "patients", "billing", "sync", "backups"} <= names
    for name in names:
        assert name in ctx.services
        assert getattr(ctx, name) is ctx.services[name] is ctx.services.get(name)
    assert len(list(ctx.services.values())) == len(names)


def test_an_unknown_service_is_an_attribute_error(ctx: AppContext) -> None:
    assert "nothing" not in ctx.services and ctx.services.get("nothing") is None
    with pytest.raises(AttributeError):
        ctx.nothing  # noqa: B018


def test_threads_asking_at_once_get_the_same_service(ctx: AppContext) -> None:
    got: list[object] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        got.append(ctx.services["reports"])

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)
