"""A workstation's access log cut back and rewritten after an upload is caught at the next sync.

The attacker here has the database key and edits the local log directly: drops the tail that was
already shipped, forges new entries that chain correctly, and moves the local high-water mark
along so that the workstation's own verifier passes. The server keeps the last head it
acknowledged for the device: the next sync must be refused, the workstation must say so (a
clear message, recorded as the last sync error, no crash), and the central copy of the log must
stay as it was acknowledged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from pms_desktop.domain.errors import UserError
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store import audit_log
from pms_desktop.store.models import AuditEntry, Setting
from pms_desktop.sync import sync_state as st
from sync_server.cli import main as server_cli
from tests.reliability.checks import audit_problems
from tests.reliability.figures import record, trials

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

# name: (entries cut from the shipped tail, forged entries appended, shipped mark reset)
TAMPERING = {
    "rewritten-beyond-the-head": (3, 6, False),
    "cut-back-only": (3, 0, False),
    "emptied-and-restarted": (None, 2, True),
    # the long run adds
    "cut-and-regrown-to-the-same-length": (3, 3, False),
    "rewritten-and-shipped-mark-reset": (3, 6, True),
}
SCENARIOS = list(TAMPERING)[: trials(3, len(TAMPERING))]

def _work(ws, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        ws.ctx.patients.register_patient(ws.actor, draft=PatientDraft(
            given=f"Audit{i}", family="Truncation", birth_date="1970-01-01"))


def _tamper(ws, cut: int | None, forged: int, reset_shipped: bool) -> None:  # type: ignore[no-untyped-def]
    with ws.ctx.db.sessions()() as s, s.begin():
        last = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
        keep = 0 if cut is None else last - cut
        s.execute(delete(AuditEntry).where(AuditEntry.seq > keep))
        head = s.get(AuditEntry, keep) if keep else None
        mark = s.get(Setting, audit_log.HIGH_WATER_KEY)
        if head is None:
            s.delete(mark)
        else:  # cover the tracks locally: the mark names the new end
            mark.value = json.dumps({"seq": keep, "hash": head.hash})
        for _ in range(forged):
            audit_log.append(s, workstation_id=ws.ctx.core.workstation_id, action="patients.read",
                             outcome="success", username="mallory", role="reception")
        if reset_shipped:
            st.put(s, st.AUDIT_HEAD, str(keep))


def _central_chains_intact(server_dir: Path, capsys: pytest.CaptureFixture[str]) -> bool:
    code = server_cli(["admin", "audit", "verify", "--data-dir", str(server_dir)])
    capsys.readouterr()
    return code == 0


@pytest.mark.parametrize("how", SCENARIOS)
def test_a_log_cut_back_and_rewritten_after_an_upload_is_refused_at_the_next_sync(
        how: str, make_workstations, sync_server, capsys) -> None:  # type: ignore[no-untyped-def]
    (ws,) = make_workstations(1)
    _work(ws, 4)
    assert ws.sync.run_sync().audit_shipped > 0
    _work(ws, 1)  # the control: an honest log goes on syncing, re-sent head and all
    assert ws.sync.run_sync().audit_shipped > 0
    assert ws.sync.device_status().last_error is None
    _tamper(ws, *TAMPERING[how])
    with ws.ctx.db.sessions()() as s:
        assert audit_problems(s) == [], "the forgery is meant to pass the local verifier"
    _work(ws, 1)  # the clinic goes on working
    caught = False
    try:
        ws.sync.run_sync()
    except UserError as e:
        caught = True
        message = str(e)
    status = ws.sync.device_status()
    # a rewritten log accepted would corrupt the central record of who saw what
    record("audit truncation", trials=1, faults=1, corruptions=int(not caught), scenario=how)
    assert caught, f"{how}: the server accepted a rewritten log"
    assert "refused" in message and ("rewritten" in message or "cut back" in message), message
    assert status.last_error == message  # shown in the status bar, kept for the admin
    assert status.pending_changes == 0, "the clinic's data still syncs"
    assert _central_chains_intact(sync_server.data, capsys)

