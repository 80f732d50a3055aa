# ruff: noqa: S603, S607 - running unshare, mount and the app's own commands is the point
"""A disk that fills up and a data folder that turns read-only, during saves and during sync.

The workstation runs in a child process with its data folder on a small tmpfs of its own (in a
private mount namespace: ``disk_scenarios.py``), filled with a ballast file to a random slack,
so that the kernel refuses writes at varied moments of a save or a sync. What must hold: every
refusal reaches the person as a clear message (a user error naming the full disk or the
read-only folder, never a traceback or "damaged database"); nothing acknowledged is lost and
nothing is half-written (integrity checks, no partial files left behind); when space returns or
the folder is writable again, work resumes and sync converges with nothing twice.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import Patient
from tests.reliability.checks import audit_problems, database_problems
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SAVE_TRIALS = trials(3, 40)
SYNC_TRIALS = trials(1, 20)


@functools.cache
def _namespace() -> list[str] | None:
    """How to get a private mount namespace here, or None (no unshare, or it is refused)."""
    if sys.platform != "linux" or not shutil.which("unshare"):
        return None
    for prefix in (["unshare", "--user", "--map-root-user", "--mount"], ["unshare", "--mount"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return prefix
    return None


def _act_out(kind: str, *args: object, timeout: float) -> dict:  # type: ignore[type-arg]
    prefix = _namespace()
    if prefix is None:
        pytest.skip("needs a private mount namespace (unshare) for a disk that fills up")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["timeout", str(int(timeout)), *prefix, sys.executable, "-m",
                           "tests.reliability.disk_scenarios", kind, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout + 30, env=env,
                          cwd=ROOT, check=False)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])  # type: ignore[no-any-return]


def _unclear(messages: dict[str, list[str | None]], where: str, *words: str) -> list[str]:
    """The messages at ``where`` that do not name the trouble in words a person understands."""
    return [f"{where}: {m}" for m in messages.get(where, [])
            if m is not None and not all(w in m for w in words)]


def test_full_disk_and_read_only_folder_during_saves(data_dir: Path, tmp_path: Path) -> None:
    mount_point, out = tmp_path / "disk", tmp_path / "after"
    mount_point.mkdir()
    found = _act_out("saves", mount_point, data_dir, out, 20261121, SAVE_TRIALS, timeout=300)
    said = found["messages"]
    unclear = (
        _unclear(said, "save on a full disk", "DiskFullError", "disk is full",
                 "nothing was half-written")
        + _unclear(said, "backup on a full disk", "DiskFullError", "backup was not written")
        + _unclear(said, "start on a full disk", "DiskFullError", "full", "cannot be opened")
        + _unclear(said, "save after the folder turned read-only", "ReadOnlyDataError")
        + _unclear(said, "backup into a read-only folder", "ReadOnlyDataError", "read-only",
                   "backup was not written")
        + _unclear(said, "start on a read-only folder", "ReadOnlyDataError", "read-only",
                   "cannot be opened"))
    refused = [m for m in said.get("save on a full disk", []) if m]
    db = ClinicDatabase.open(out)  # the folder as it was left, opened afresh
    try:
        broken = found["problems"] + database_problems(db)
        with db.sessions()() as s:
            broken += audit_problems(s)
            present = set(s.scalars(select(Patient.id)))
    finally:
        db.close()
    lost = [a for a in found["acked"] if a not in present]
    record("disk full and read-only folder during saves", trials=SAVE_TRIALS,
           faults=len(refused) + 4, lost=len(lost), corruptions=len(broken) + len(
               found["leftovers"]), unclear=len(unclear) + len(found["unexpected"]))
    assert found["unexpected"] == [], found["unexpected"]
    assert unclear == [], unclear
    assert len(refused) == SAVE_TRIALS, "every trial should have filled the disk"
    assert said["start on a full disk"] != [None] and said["start on a read-only folder"] != [None]
    assert set(said["save after space returned"]) == {None}, "work resumes when space returns"
    assert said["save when writable again"] == [None], "work resumes when the folder is writable"
    assert broken == [] and found["leftovers"] == [], (broken, found["leftovers"])
    assert lost == []


@pytest.mark.e2e
def test_full_disk_and_read_only_folder_during_sync(make_workstations, tmp_path: Path  # type: ignore[no-untyped-def]
                                                     ) -> None:
    alpha, bravo = make_workstations(2)
    alpha.ctx.close()
    bravo.ctx.close()
    mount_point, out = tmp_path / "disk", tmp_path / "after"
    mount_point.mkdir()
    found = _act_out("sync", mount_point, alpha.ctx.data_dir, bravo.ctx.data_dir, out,
                     20261122, SYNC_TRIALS, timeout=300)
    said = found["messages"]
    unclear = _unclear(said, "sync on a full disk", "DiskFullError", "is full", "sync stopped",
                       "nothing was lost")
    code, stdout, stderr = found["cli_read_only"]
    if code != 1 or "read-only" not in stderr or "Traceback" in stderr:
        unclear.append(f"pms-desktop sync on a read-only folder: exit {code}, {stderr!r}")
    names: dict[str, list[str]] = {}
    for ws, folder in (("alpha", out), ("bravo", bravo.ctx.data_dir)):
        db = ClinicDatabase.open(folder)
        try:
            broken = database_problems(db)
            with db.sessions()() as s:
                broken += audit_problems(s)
                names[ws] = sorted(s.scalars(select(Patient.given)
                                             .where(Patient.family == "Diskfull")))
        finally:
            db.close()
    twice = sorted({n for n in names["alpha"] if names["alpha"].count(n) > 1})
    record("disk full and read-only folder during sync", trials=SYNC_TRIALS,
           faults=len([m for m in said.get("sync on a full disk", []) if m]) + 1,
           lost=len(set(names["alpha"]) ^ set(names["bravo"])), duplicates=len(twice),
           corruptions=len(broken + found["problems"] + found["leftovers"]),
           unclear=len(unclear) + len(found["unexpected"]))
    assert found["unexpected"] == [], found["unexpected"]
    assert unclear == [], unclear
    assert said["sync after space returned"] == [None] * SYNC_TRIALS
    assert said["sync when writable again"] == [None]
    assert names["alpha"] == names["bravo"] and twice == [], names
    assert len(names["alpha"]) == SYNC_TRIALS * 5
    assert broken + found["problems"] + found["leftovers"] == []
