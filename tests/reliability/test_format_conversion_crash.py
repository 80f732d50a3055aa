"""SIGKILL in the middle of converting a store of the previous version to the current format.

A data folder left by the previous version (pages authenticated with HMAC-SHA512, its last
saves only in the WAL) is opened by the current application, which converts it: a copy in the
new format beside it, checked, synced and renamed over it. The process is killed at moments
spread over the whole open (measured first). Found after the kill, the store is wholly the old
format or wholly the new one; restarted, it opens in the new format with every patient, passes
the integrity checks (every page's HMAC), and no partial copy of the clinic is left behind.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.engine import (
    CONVERTING_SUFFIX,
    DB_FILENAME,
    HMAC_ALGORITHM,
    LEGACY_HMAC_ALGORITHM,
)
from tests.reliability import children, killing
from tests.reliability.checks import database_problems
from tests.reliability.figures import record, trials
from tests.store.test_store_format import families, legacy_folder, opens_as

pytestmark = pytest.mark.reliability

ROUNDS = trials(6, 60)


def test_sigkill_during_format_conversion_leaves_old_or_new_and_loses_nothing(
        tmp_path: Path) -> None:
    pristine = tmp_path / "old"
    key, _, expected = legacy_folder(pristine, in_wal=500)
    calibration = tmp_path / "calibration"
    shutil.copytree(pristine, calibration)
    full = killing.run(children.upgrade, str(calibration), kill_at=None)
    assert full.error is None, full.error
    duration = full.of("done")[0][1] - full.of("ready")[0][1]
    assert opens_as(calibration / DB_FILENAME, key, HMAC_ALGORITHM)
    rng = random.Random(0x0009)
    at_old = at_new = stale = 0
    failures: list[str] = []
    for i, delay in enumerate(killing.kill_points(rng, ROUNDS, duration * 1.1)):
        folder = tmp_path / f"round{i}"
        shutil.copytree(pristine, folder)
        run = killing.run(children.upgrade, str(folder), kill_at=delay)
        assert run.error is None, run.error
        problems: list[str] = []
        path = folder / DB_FILENAME
        old, new = opens_as(path, key, LEGACY_HMAC_ALGORITHM), opens_as(path, key, HMAC_ALGORITHM)
        at_old += old
        at_new += new
        if old == new:
            problems.append("the store is neither wholly the old format nor the new one")
        try:
            db = ClinicDatabase.open(folder)  # the restart
        except Exception as e:  # noqa: BLE001 - the finding itself
            problems.append(f"does not open after the kill: {type(e).__name__}: {e}")
        else:
            try:
                if families(db) != expected:
                    problems.append(f"{len(families(db))} patients instead of {len(expected)}")
                problems += database_problems(db)
            finally:
                db.close()
            if not opens_as(path, key, HMAC_ALGORITHM):
                problems.append("the restart did not finish the conversion")
        leftovers = list(folder.glob(f"*{CONVERTING_SUFFIX}*"))
        stale += len(leftovers)
        problems += [f"left behind: {p.name}" for p in leftovers]
        failures += [f"kill at {delay:.3f}s of {duration:.3f}s: {p}" for p in problems]
        shutil.rmtree(folder)
    record("crash during a store format conversion", trials=ROUNDS, faults=ROUNDS,
           corruptions=len(failures), lost=len([f for f in failures if "patients" in f]),
           killed_before=at_old, killed_after=at_new, stale_temporary_files=stale)
    assert not failures, failures[:10]
    assert at_old + at_new == ROUNDS
