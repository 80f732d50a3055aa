"""``pms-desktop``: the GUI when no command is given, else one of the admin commands."""

from __future__ import annotations

import sys

from .cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """The console script (``argv`` None) leaves the process as soon as the GUI has closed the
    store (see ``cli.main``'s ``leave_after_gui``); a caller passing ``argv`` gets the code."""
    return cli_main(sys.argv[1:] if argv is None else argv, leave_after_gui=argv is None)


if __name__ == "__main__":
    sys.exit(main())
