# ruff: noqa: S603, S607 - running unshare, mount and the app's own commands is the point
"""Disk trouble, acted out in a private mount namespace (run by test_disk_trouble.py).

    unshare --user --map-root-user --mount python -m tests.reliability.disk_scenarios saves ARGS
    ...                                                                          sync ARGS

The namespace lets an unprivileged process mount a small tmpfs (a disk that really fills up, with
ENOSPC from the kernel) and bind-mount a folder read-only over itself; every mount vanishes with
the process. The workstation runs here with its data folder on that disk, through the services;
this module reports what happened as one JSON object on stdout and copies the data folder out
for the test to check independently.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pms_desktop.cli import main as desktop_cli
from pms_desktop.context import AppContext, build_context
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import UserError
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store.database import ClinicDatabase
from tests.reliability.children import actors

DISK = "16m"
BALLAST = "ballast"


class Disk:
    """A tmpfs of its own, filled to a chosen slack with a ballast file."""

    def __init__(self, mount_point: Path) -> None:
        self.root = mount_point
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "pms-test", str(self.root)],
                       check=True)

    def fill(self, leave: int = 0) -> None:
        fd = os.open(self.root / BALLAST, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    continue
        finally:
            os.close(fd)
        if leave:
            path = self.root / BALLAST
            os.truncate(path, max(0, path.stat().st_size - leave))

    def free(self) -> None:
        (self.root / BALLAST).unlink(missing_ok=True)

    def read_only(self, folder: Path) -> None:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)

    def writable(self, folder: Path) -> None:
        subprocess.run(["umount", str(folder)], check=True)


class Findings:
    """What a person would have seen, sorted into the expected and the unexpected."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"acked": [], "messages": {}, "unexpected": [], "counts": {}}

    def said(self, where: str, error: BaseException | None) -> None:
        if error is None:
            self.data["messages"].setdefault(where, []).append(None)
        elif isinstance(error, UserError):
            self.data["messages"].setdefault(where, []).append(
                f"{type(error).__name__}: {error}")
        else:  # a traceback or a generic "something went wrong" for the person
            self.data["unexpected"].append(f"{where}: {type(error).__name__}: {error}")

    def count(self, key: str, n: int = 1) -> None:
        self.data["counts"][key] = self.data["counts"].get(key, 0) + n

    def attempt(self, where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - sorted by Findings.said
            self.said(where, e)
            return None
        self.said(where, None)
        return result


def _register(ctx: AppContext, desk: Any, name: str) -> str:
    return ctx.patients.register_patient(  # type: ignore[attr-defined,no-any-return]
        desk, draft=PatientDraft(given=name, family="Diskfull", birth_date="1980-02-03")).id


def _leftovers(folder: Path) -> list[str]:
    """Half-written files a failed write left behind (temporary copies, partial backups)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith(".tmp") or p.name.startswith(".backup-"))


def saves(mount_point: Path, source: Path, out: Path, seed: int, trials: int) -> dict[str, Any]:
    disk, found, rng = Disk(mount_point), Findings(), random.Random(seed)
    folder = disk.root / "clinic"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".lock"))
    ctx = build_context(ClinicDatabase.open(folder))
    desk, admin = actors(ctx)[Role.RECEPTION], actors(ctx)[Role.CLINIC_ADMIN]
    n = 0
    for trial in range(trials):
        disk.fill(leave=rng.choice([0, rng.randrange(1 << 12, 1 << 18)]))
        for _ in range(400):  # saves until the disk refuses one
            n += 1
            try:
                found.data["acked"].append(_register(ctx, desk, f"T{trial}N{n}"))
            except Exception as e:  # noqa: BLE001 - sorted by Findings.said
                found.said("save on a full disk", e)
                found.count("refused saves")
                break
        found.attempt("backup on a full disk", ctx.backups.backup_now, admin)  # type: ignore[attr-defined]
        found.data.setdefault("problems", []).extend(ctx.db.integrity_problems())
        disk.free()
        resumed = found.attempt("save after space returned", _register, ctx, desk, f"T{trial}R")
        if resumed:
            found.data["acked"].append(resumed)
    found.data["leftovers"] = _leftovers(folder)
    ctx.close()
    disk.fill()
    found.attempt("start on a full disk", lambda: ClinicDatabase.open(folder).close())
    disk.free()
    # The folder turns read-only under the running application, then the application restarts.
    ctx = build_context(ClinicDatabase.open(folder))
    disk.read_only(folder)
    saved = found.attempt("save after the folder turned read-only", _register, ctx, desk, "RO1")
    if saved:
        found.data["acked"].append(saved)
    found.attempt("backup into a read-only folder", ctx.backups.backup_now, admin)  # type: ignore[attr-defined]
    ctx.close()
    found.attempt("start on a read-only folder", lambda: ClinicDatabase.open(folder).close())
    disk.writable(folder)
    ctx = build_context(ClinicDatabase.open(folder))
    again = found.attempt("save when writable again", _register, ctx, desk, "RW1")
    if again:
        found.data["acked"].append(again)
    found.data.setdefault("problems", []).extend(ctx.db.integrity_problems())
    found.data["leftovers"] += _leftovers(folder)
    ctx.close()
    shutil.copytree(folder, out)
    return found.data


def sync(mount_point: Path, alpha_src: Path, bravo_dir: Path, out: Path, seed: int,
         trials: int) -> dict[str, Any]:
    disk, found, rng = Disk(mount_point), Findings(), random.Random(seed)
    folder = disk.root / "alpha"
    shutil.copytree(alpha_src, folder, ignore=shutil.ignore_patterns(".lock"))
    alpha = build_context(ClinicDatabase.open(folder))
    bravo = build_context(ClinicDatabase.open(bravo_dir))
    desk_a, desk_b = actors(alpha)[Role.RECEPTION], actors(bravo)[Role.RECEPTION]
    for trial in range(trials):
        for i in range(3):
            _register(bravo, desk_b, f"B{trial}-{i}")
        bravo.sync.run_sync()  # type: ignore[attr-defined]
        for i in range(2):
            found.data["acked"].append(_register(alpha, desk_a, f"A{trial}-{i}"))
        disk.fill(leave=rng.choice([0, rng.randrange(1 << 12, 1 << 17)]))
        found.attempt("sync on a full disk", alpha.sync.run_sync)  # type: ignore[attr-defined]
        found.data.setdefault("problems", []).extend(alpha.db.integrity_problems())
        disk.free()
        found.attempt("sync after space returned", alpha.sync.run_sync)  # type: ignore[attr-defined]
    found.data["status_after"] = str(alpha.sync.device_status().last_error)  # type: ignore[attr-defined]
    alpha.close()
    disk.read_only(folder)
    out_text, err_text = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        code = desktop_cli(["sync", "--data-dir", str(folder)])  # `pms-desktop sync`
    found.data["cli_read_only"] = [code, out_text.getvalue(), err_text.getvalue()]
    disk.writable(folder)
    alpha = build_context(ClinicDatabase.open(folder))
    found.attempt("sync when writable again", alpha.sync.run_sync)  # type: ignore[attr-defined]
    bravo.sync.run_sync()  # type: ignore[attr-defined]
    found.data.setdefault("problems", []).extend(alpha.db.integrity_problems())
    found.data["leftovers"] = _leftovers(folder)
    alpha.close()
    bravo.close()
    shutil.copytree(folder, out)
    return found.data


def main(argv: list[str]) -> int:
    kind, mount_point, *rest = argv
    started = datetime.now(UTC)
    if kind == "saves":
        result = saves(Path(mount_point), Path(rest[0]), Path(rest[1]), int(rest[2]), int(rest[3]))
    else:
        result = sync(Path(mount_point), Path(rest[0]), Path(rest[1]), Path(rest[2]),
                      int(rest[3]), int(rest[4]))
    result["seconds"] = (datetime.now(UTC) - started).total_seconds()
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
