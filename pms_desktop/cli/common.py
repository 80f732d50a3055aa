"""Shared pieces of the commands: opening a data folder, signing a staff member in."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from ..context import AppContext, open_context
from ..domain.errors import AuthenticationError, PasswordChangeRequired
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
    """Sign a staff member in for one command (same checks, lockout and log as the GUI).

    An account whose password an admin set (new, or reset) is refused: the services would
    refuse its every command anyway, and a command line offers no way to choose a new password,
    so the person is told to do that in the application first (the session is signed out, so
    the access log shows it closed)."""
    password = _secret("PMS_PASSWORD", f"Password for {username}: ")
    code = os.environ.get("PMS_TOTP") or (
        input("Authenticator code: ") if sys.stdin.isatty() else ""
    )
    accounts: Any = ctx.accounts
    session: StaffSession = accounts.sign_in(username=username, password=password, totp_code=code)
    if accounts.my_account(session).must_change_password:
        accounts.sign_out(session)
        raise password_change_first(session.username)
    return session


def password_change_first(username: str) -> PasswordChangeRequired:
    return PasswordChangeRequired(
        f"The password of {username} was set by an administrator: sign in to the application "
        "and choose a new password there first; commands refuse this account until then.")


def open_ctx(args: argparse.Namespace) -> AppContext:
    return open_context(args.data_dir)
