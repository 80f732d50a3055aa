"""A clinic key code opens the key for one workstation: the workstation that opens it leaves
the key on the server wrapped under a code nobody is told; a newer code an admin issued
meanwhile is left working; a lost answer is retried before the next sync, the key kept."""

from __future__ import annotations

from typing import Any

import pytest

from pms_desktop.context import AppContext
from pms_desktop.domain.errors import ValidationError
from pms_desktop.security.clinic_key import (
    clinic_key_id,
    new_clinic_key,
    new_transfer_code,
    unwrap_clinic_key,
    wrap_clinic_key,
)
from pms_desktop.services.sync_clinic_key import CODE_TO_SPEND, ClinicKeys
from pms_desktop.sync import sync_state as st
from pms_desktop.sync.transport import SyncOffline, SyncRefused

CLINIC = "3f1c2a9e-5b7d-4e21-9c0a-8d6f4b2e1a07"


class Mailbox:
    """The server's clinic key mailbox, in memory (``If-Match`` as ``replacing``);
    ``on_get`` and ``on_put`` run as a request arrives."""

    def __init__(self, key: bytes, code: str) -> None:
        self.key_id = clinic_key_id(key)
        self.wrapped = wrap_clinic_key(key, code, clinic_id=CLINIC)
        self.on_get: Any = None
        self.on_put: Any = None
        self.put_fails = False
        self.puts = 0

    def get_clinic_key(self) -> dict[str, Any]:
        if self.on_get is not None:
            self.on_get()
        return {"key_id": self.key_id, "wrapped": self.wrapped}

    def put_clinic_key(self, key_id: str, wrapped: dict[str, Any], *,
                       replacing: str | None = None) -> dict[str, Any]:
        if self.put_fails:
            raise SyncOffline("the sync server cannot be reached")
        if self.on_put is not None:
            self.on_put()
        assert key_id == self.key_id
        if replacing is not None and replacing != str(self.wrapped["nonce"]):
            raise SyncRefused(412, "the clinic key was wrapped again since")  # as the server
        self.puts += 1
        self.wrapped = wrapped
        return {}

    def opens(self, code: str) -> bool:
        try:
            unwrap_clinic_key(self.wrapped, code, clinic_id=CLINIC, key_id=self.key_id)
        except ValidationError:
            return False
        return True


def _to_spend(ctx: AppContext) -> str | None:
    with ctx.db.sessions()() as s:
        return st.get(s, CODE_TO_SPEND)


def test_the_code_is_spent_once_the_key_is_kept(ctx: AppContext) -> None:
    key, code = new_clinic_key(), new_transfer_code()
    box = Mailbox(key, code)
    keys = ClinicKeys(ctx.core)
    keys.receive(box, CLINIC, code)  # type: ignore[arg-type]
    with ctx.db.sessions()() as s:
        assert keys.held(s) == key
    assert box.puts == 1 and not box.opens(code) and _to_spend(ctx) is None
    with pytest.raises(ValidationError):  # another workstation typing it gets nothing
        ClinicKeys(ctx.core).receive(box, CLINIC, code)  # type: ignore[arg-type]


def test_a_newer_code_issued_meanwhile_keeps_working(ctx: AppContext) -> None:
    key, code, newer = new_clinic_key(), new_transfer_code(), new_transfer_code()
    box = Mailbox(key, code)

    def admin_issues_a_newer_code() -> None:  # after this workstation opened the key, as its
        box.wrapped = wrap_clinic_key(key, newer, clinic_id=CLINIC)  # spend is on its way

    box.on_put = admin_issues_a_newer_code
    ClinicKeys(ctx.core).receive(box, CLINIC, code)  # type: ignore[arg-type]
    assert box.puts == 0 and box.opens(newer) and _to_spend(ctx) is None


def test_a_lost_spend_is_retried_before_the_next_sync(ctx: AppContext) -> None:
    key, code = new_clinic_key(), new_transfer_code()
    box = Mailbox(key, code)
    box.put_fails = True
    keys = ClinicKeys(ctx.core)
    keys.receive(box, CLINIC, code)  # type: ignore[arg-type]  (no error: the key is kept)
    with ctx.db.sessions()() as s:
        assert keys.held(s) == key
    assert box.opens(code) and _to_spend(ctx) is not None
    box.put_fails = False
    keys.ensure(box, CLINIC)  # type: ignore[arg-type]  (what a sync does first)
    assert not box.opens(code) and _to_spend(ctx) is None
    keys.ensure(box, CLINIC)  # type: ignore[arg-type]
    assert box.puts == 1  # nothing left to spend: no request
