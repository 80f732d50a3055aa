"""Private scratch folders for backups and restores, and sweeping up after a crash.

A backup or a restore stages a whole database copy in a folder next to its target (same file
system, so the finished file is renamed into place). If the process is killed, that copy would
stay behind: encrypted, but it is still a copy of the clinic. So each scratch folder has a lock
file beside it (``<folder>.lock``), taken *before* the folder exists and released only after it
is removed: whoever can take the lock of a folder knows its owner is gone, and removes it.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_SUFFIX = ".lock"


@contextmanager
def scratch_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A new private folder in ``parent``, removed on exit, swept by a later run if we die."""
    parent.mkdir(parents=True, exist_ok=True)
    sweep(parent, prefix)
    path = parent / f"{prefix}{secrets.token_hex(8)}"
    lock_path = path.with_name(path.name + LOCK_SUFFIX)
    lock = FileLock(str(lock_path), timeout=0)
    lock.acquire()
    try:
        path.mkdir(mode=0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        lock.release()
        lock_path.unlink(missing_ok=True)


def sweep(parent: Path, prefix: str) -> list[Path]:
    """Remove the scratch folders (and lone lock files) in ``parent`` whose owner is gone.

    Folders from before the lock files existed have none: taking the lock creates it, so they
    are removed too. Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = sorted(parent.glob(f"{prefix}*"))
    except OSError:
        return removed
    for entry in entries:
        is_lock = entry.name.endswith(LOCK_SUFFIX)
        folder = entry.with_name(entry.name[: -len(LOCK_SUFFIX)]) if is_lock else entry
        lock_path = folder.with_name(folder.name + LOCK_SUFFIX)
        if entry == lock_path and folder.exists():
            continue  # handled with its folder
        lock = FileLock(str(lock_path), timeout=0)
        try:
            lock.acquire()
        except (Timeout, OSError):
            continue  # its owner is at work (or the folder is not ours to sweep)
        try:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            lock.release()
            lock_path.unlink(missing_ok=True)
    return removed
