"""A join given up after its enrolment code was redeemed gives the device credential back,
against the real server on 127.0.0.1: the server refuses that credential afterwards and its
device list shows the device revoked; a device cannot withdraw another; offline, the person is
told which device the central admin should revoke; the command line does the same."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pms_desktop.cli import main as desktop_main
from pms_desktop.context import AppContext
from pms_desktop.domain.errors import ValidationError
from pms_desktop.services.workstation_join import STAGING, ClinicJoin, JoinRequest
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.keys import KeyInfo, KeyStore
from pms_desktop.sync import sync_state as st
from sync_server.cli import main as server_cli
from tests.sync.conftest import SyncServer, Workstation_, _actor, _free_port

pytestmark = pytest.mark.e2e


def _clinic_id(ctx: AppContext) -> str:
    with ctx.db.sessions()() as s:
        return str(st.get(s, st.CLINIC_ID))


def _mistyped(first: Workstation_) -> str:
    code = str(first.sync.issue_clinic_key_code(_actor(first.ctx, "admin")))
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def _device_states(server: SyncServer, clinic_id: str) -> dict[str, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert server_cli(["admin", "device-list", "--data-dir", str(server.data),
                           "--clinic", clinic_id]) == 0
    return {line.split("\t")[0]: line.split("\t")[3] for line in out.getvalue().splitlines()}


def _enrolled_join(folder: Path, server: SyncServer, first: Workstation_
                   ) -> tuple[ClinicJoin, str, str]:
    """A join enrolled at the server, stopped at a mistyped clinic key code: (join, its device
    id, its device credential)."""
    join = ClinicJoin(folder)
    with pytest.raises(ValidationError):
        join.run(JoinRequest(server_url=server.url,
                             code=server.enrol_code(_clinic_id(first.ctx)),
                             clinic_key_code=_mistyped(first), workstation_name="Reception 2"))
    assert join.enrolled and join.holds_enrolment and join.db is not None
    with join.db.sessions()() as s:
        device_id = str(st.get(s, st.DEVICE_ID))
    token = KeyStore().get(f"device:{KeyInfo.load(folder / STAGING).database_id}")
    assert token is not None
    return join, device_id, token.decode()


def _pull(server: SyncServer, token: str) -> int:
    return httpx.get(f"{server.url}/sync/pull", headers={"Authorization": f"Bearer {token}"},
                     timeout=10).status_code


def test_a_cancelled_join_withdraws_its_device(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path) -> None:
    [first] = make_workstations(1)
    first.sync.run_sync()
    clinic_id = _clinic_id(first.ctx)
    join, device_id, token = _enrolled_join(tmp_path / "joined", sync_server, first)
    assert _pull(sync_server, token) == 200
    assert _device_states(sync_server, clinic_id)[device_id] == "active"

    # Another device's credential cannot withdraw this one.
    first_token = first.sync.keystore.get(first.sync._credential_name()).decode()
    other = httpx.post(f"{sync_server.url}/sync/devices/{device_id}/withdraw",
                       headers={"Authorization": f"Bearer {first_token}"}, timeout=10)
    assert other.status_code == 403 and _pull(sync_server, token) == 200

    withdrawal = join.abandon()
    assert withdrawal is not None and withdrawal.withdrawn and withdrawal.device_id == device_id
    assert "withdrawn" in withdrawal.message and "new one" in withdrawal.message
    assert _pull(sync_server, token) == 401
    assert _device_states(sync_server, clinic_id)[device_id].startswith("revoked")
    assert not (tmp_path / "joined" / STAGING).exists()
    first.sync.run_sync()  # the clinic's own workstation is untouched


def test_offline_the_person_is_told_what_to_revoke(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path) -> None:
    [first] = make_workstations(1)
    first.sync.run_sync()
    join, device_id, token = _enrolled_join(tmp_path / "joined", sync_server, first)
    assert join.db is not None
    with join.db.sessions()() as s, s.begin():  # the server is out of reach from here on
        st.put(s, st.SERVER_URL, f"http://127.0.0.1:{_free_port()}")
    withdrawal = join.abandon()
    assert withdrawal is not None and not withdrawal.withdrawn
    assert device_id in withdrawal.message and "central admin to revoke" in withdrawal.message
    assert "Reception 2" in withdrawal.message
    assert not (tmp_path / "joined" / STAGING).exists()  # nothing kept here, all the same
    assert _pull(sync_server, token) == 200  # still valid: what the message is for


def test_the_command_line_gives_a_failed_join_back(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path, capsys) -> None:
    [first] = make_workstations(1)
    first.sync.run_sync()
    clinic_id = _clinic_id(first.ctx)
    before = set(_device_states(sync_server, clinic_id))
    folder = tmp_path / "cli-joined"
    code = desktop_main(["enroll", "--data-dir", str(folder), "--server", sync_server.url,
                         "--code", sync_server.enrol_code(clinic_id), "--name", "Room 4",
                         "--clinic-key", _mistyped(first)])
    err = capsys.readouterr().err
    assert code == 1 and "withdrawn at the sync server" in err
    assert not ClinicDatabase.exists(folder)
    [made] = set(_device_states(sync_server, clinic_id)) - before
    assert _device_states(sync_server, clinic_id)[made].startswith("revoked")


def test_the_next_attempt_gives_back_what_a_killed_one_enrolled(  # type: ignore[no-untyped-def]
        make_workstations: Callable[[int], list[Workstation_]], sync_server: SyncServer,
        tmp_path: Path) -> None:
    [first] = make_workstations(1)
    first.sync.run_sync()
    clinic_id = _clinic_id(first.ctx)
    folder = tmp_path / "joined"
    killed, device_id, token = _enrolled_join(folder, sync_server, first)
    assert killed.db is not None
    killed.db.close()  # the process dies here: no abandon, the staging folder stays
    again = ClinicJoin(folder)
    key_code = str(first.sync.issue_clinic_key_code(_actor(first.ctx, "admin")))
    db = again.run(JoinRequest(server_url=sync_server.url, code=sync_server.enrol_code(clinic_id),
                               clinic_key_code=key_code, workstation_name="Reception 2"))
    db.close()
    assert again.earlier is not None and again.earlier.withdrawn
    assert again.earlier.device_id == device_id
    assert _pull(sync_server, token) == 401
    states = _device_states(sync_server, clinic_id)
    assert states[device_id].startswith("revoked")
    assert sum(state == "active" for state in states.values()) == 2  # the first, the new one
