"""Shared pieces of the commands: opening a data folder, signing a staff member in."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from ..context import AppContext, open_context
from ..domain.errors import AuthenticationError
from ..domain.session import StaffSession


def add_data_dir(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--data-dir", type=Path, required=required, help="clinic data folder")


def add_user(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user", required=True,
        help="staff user acting (password and TOTP code from PMS_PASSWORD / PMS_TOTP, or asked)",
    )


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise AuthenticationError(f"Set {env} or run this command at a terminal.")
    return getpass.getpass(prompt)


def sign_in(ctx: AppContext, username: str) -> StaffSession:
    """Sign a staff member in for one command (same checks, lockout and log as the GUI)."""
    password = _secret("PMS_PASSWORD", f"Password for {username}: ")
    code = os.environ.get("PMS_TOTP") or (
        input("Authenticator code: ") if sys.stdin.isatty() else ""
    )
    return ctx.accounts.sign_in(username=username, password=password, totp_code=code)  # type: ignore[attr-defined,no-any-return]


def open_ctx(args: argparse.Namespace) -> AppContext:
    return open_context(args.data_dir)
