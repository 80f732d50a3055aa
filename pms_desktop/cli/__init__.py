"""Command line of the workstation (the stable surface of DESIGN.md).

Each command lives in its own module with ``register(subparsers)``; the module sets
``func(args) -> int`` on its parser. User errors print one clear line and exit 1; nothing
prints a traceback to a person.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from ..domain.errors import Cancelled, PmsError, UserError

COMMAND_MODULES = ("demo", "backup", "keys", "audit", "report", "export", "enroll", "sync",
                   "clinic_key")

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "clinic-pms"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pms-desktop",
                                     description="Clinic practice management workstation.")
    parser.add_argument("--data-dir", type=Path, default=None, help="clinic data folder (GUI)")
    sub = parser.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str], *, leave_after_gui: bool = False) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # No command: start the GUI without importing every command module (start-up time).
    gui = argparse.ArgumentParser(add_help=False)
    gui.add_argument("--data-dir", type=Path, default=None)
    known, rest = gui.parse_known_args(argv)
    if not rest:
        return _gui(known.data_dir or DEFAULT_DATA_DIR, leave_after_gui)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _gui(args.data_dir or DEFAULT_DATA_DIR, leave_after_gui)
    try:
        return int(args.func(args))
    except Cancelled:
        return 130
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except PmsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: one calm line, the stack only on request
        if os.environ.get("PMS_DEBUG"):
            raise
        print(f"error: the command failed unexpectedly ({type(e).__name__});"
              " nothing half-done was kept. Run with PMS_DEBUG=1 for details.", file=sys.stderr)
        return 2


def _gui(data_dir: Path, leave: bool) -> int:
    # The store and services the sign-in window needs are imported before the GUI (PySide6):
    # once PySide6 is imported, every further module's source is read and searched for
    # "PySide6" as it is imported (its __feature__ support), about 0.1 s of a cold start's CPU.
    from ..services import accounts, accounts_startup, clinic_setup  # noqa: F401
    from ..ui.app import run_gui

    code = run_gui(data_dir)
    if leave:
        # The store is closed, the sync thread stopped and the data folder unlocked: nothing
        # is left to save. Leaving now skips the interpreter's teardown of the Qt objects,
        # where PySide6 (seen with 6.12 on Python 3.11) can abort the process after a long
        # session ("deallocating None"): a crash report for a clean exit.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
