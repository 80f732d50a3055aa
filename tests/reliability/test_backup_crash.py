"""SIGKILL in the middle of backups.

A child writes backups one after another (into the data folder's ``backups/`` and into a folder
a person chose) and is killed at moments spread over several backups after its first. Every backup
it acknowledged is whole; no file under a backup's name is ever partial; and the next start (or the
next backup into the chosen folder) removes the copy the killed backup was staging, so no stray
copy of the clinic stays on disk.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from filelock import FileLock

from pms_desktop.store.backup import read_backup, write_backup
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.scratch import scratch_dir, sweep
from tests.reliability import children, killing
from tests.reliability.figures import record, trials

pytestmark = pytest.mark.reliability

ROUNDS = trials(6, 60)


def _leftovers(*folders: Path) -> list[Path]:
    return sorted(p for f in folders for p in f.iterdir()
                  if p.name.startswith((".backup-", ".restore-"))
                  or p.suffix in (".tmp", ".partial"))


def test_sigkill_during_backups_leaves_whole_backups_and_no_stray_copy(tmp_path: Path) -> None:
    data_dir, chosen = tmp_path / "clinic", tmp_path / "usb"
    chosen.mkdir()
    db, _ = ClinicDatabase.create(data_dir)
    t0 = time.monotonic()
    for _ in range(3):
        write_backup(db, tmp_path / "calibration")
    one = (time.monotonic() - t0) / 3
    db.close()
    rng = random.Random(0xBAC)
    acknowledged = strays_after_kill = strays_after_start = damaged = 0
    for delay in killing.kill_points(rng, ROUNDS, one * 4):
        # Counted from the child's first backup: its first pays for imports a warm process
        # (the calibration above) no longer makes, and longer than the whole spread at times.
        run = killing.run(children.backups_forever, str(data_dir), str(chosen), kill_at=delay,
                          start_on="ack")
        assert run.error is None, run.error
        acknowledged += len(run.of("ack"))
        strays_after_kill += len(_leftovers(data_dir, data_dir / "backups", chosen))
        for path in [*(data_dir / "backups").glob("*.pmsbak"), *chosen.glob("*.pmsbak")]:
            try:
                read_backup(path)
            except Exception:  # noqa: BLE001 - counted: a backup under its final name is whole
                damaged += 1
        ClinicDatabase.open(data_dir).close()  # a normal start sweeps the data folder
        sweep(chosen, ".backup-")  # as the next backup into the chosen folder does
        strays_after_start += len(_leftovers(data_dir, data_dir / "backups", chosen))
    record("crash during backups", trials=ROUNDS, faults=ROUNDS, corruptions=damaged,
           leaks=strays_after_start, acknowledged=acknowledged,
           stray_copies_before_sweep=strays_after_kill)
    assert damaged == 0
    assert strays_after_start == 0, _leftovers(data_dir, data_dir / "backups", chosen)
    assert strays_after_kill > 0, "no kill landed in the middle of a backup"


def test_a_sweep_spares_a_backup_at_work_and_removes_an_abandoned_copy(tmp_path: Path) -> None:
    abandoned = tmp_path / ".backup-0123abcd"  # from a killed run, before lock files existed
    abandoned.mkdir()
    (abandoned / "copy.db").write_bytes(b"encrypted pages")
    with scratch_dir(tmp_path, ".backup-") as at_work:  # the scratch folder sweeps first
        assert not abandoned.exists()
        (at_work / "copy.db").write_bytes(b"being written")
        assert sweep(tmp_path, ".backup-") == []  # another process's sweep: its owner is alive
        assert (at_work / "copy.db").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_lock_held_elsewhere_keeps_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".restore-feedface"
    folder.mkdir()
    lock = FileLock(str(tmp_path / ".restore-feedface.lock"), timeout=0)
    with lock:
        assert sweep(tmp_path, ".restore-") == []
        assert folder.exists()
    assert sweep(tmp_path, ".restore-") == [folder]
    assert list(tmp_path.iterdir()) == []
