"""The one error tree of the workstation.

PmsError
  UserError                  its message is safe to show a person as it is
    ValidationError          field errors: {field name: message}; a form marks those fields
    PermissionDenied         the policy refuses the acting user (already in the access log)
      PasswordChangeRequired an admin set this account's password: only changing it is open
    NotFound
    ConflictError            a concurrent or contradictory change (double-booking, stale edit)
    AuthenticationError      wrong password, code or account (deliberately vague)
    AccountLocked            too many failures; carries when it unlocks
    StoreError               the database cannot be opened or written
      WrongKeyError          the key or recovery secret does not open the database
      NotADatabaseError      the file is damaged or not ours; names the last good backup
      SchemaTooNewError      written by a newer version of the application
      DiskFullError          the write was rolled back, nothing half-written
      ReadOnlyDataError      the data folder cannot be written (permissions, read-only disk)
      KeyringUnavailable     no OS keyring; the recovery-secret path is offered instead
  Cancelled                  silent: the user or a shutdown stopped the work

Anything else raised is a bug: logged without patient data, shown as a calm generic dialog.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class PmsError(Exception):
    """Base of every error the application raises on purpose."""


class UserError(PmsError):
    """An error whose message is written for, and safe to show to, a person."""


class ValidationError(UserError):
    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        self.field_errors = dict(field_errors)
        summary = message or "; ".join(f"{k}: {v}" for k, v in self.field_errors.items())
        super().__init__(summary or "Some values are not valid.")


class PermissionDenied(UserError):
    def __init__(self, permission: str, message: str | None = None) -> None:
        self.permission = permission
        super().__init__(message or f"Your role does not allow this ({permission}).")


class PasswordChangeRequired(PermissionDenied):
    """``session_id``: the signed-in session refused (the services always name it), so that a
    refusal arriving after someone else signed in is not taken for theirs."""

    def __init__(self, message: str | None = None, *, session_id: str | None = None) -> None:
        self.session_id = session_id
        super().__init__(
            "must_change_password",
            message or "An administrator set this account's password. Choose a new one "
            "(Change password, or sign in again) before doing anything else.")


class NotFound(UserError):
    pass


class ConflictError(UserError):
    pass


class AuthenticationError(UserError):
    pass


class AccountLocked(AuthenticationError):
    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(
            f"This account is locked after repeated failed sign-ins until {until:%H:%M} (UTC)."
        )


class StoreError(UserError):
    pass


class WrongKeyError(StoreError):
    def __init__(self, path: Path | str, message: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(
            message
            or f"The key does not open the clinic database {self.path}. The file was not changed."
        )


class NotADatabaseError(StoreError):
    def __init__(self, path: Path | str, last_backup: Path | None = None) -> None:
        self.path = Path(path)
        self.last_backup = last_backup
        hint = (
            f" The last good backup is {last_backup}."
            if last_backup
            else " No backup was found in the data folder."
        )
        super().__init__(f"{self.path} is damaged or is not a clinic database.{hint}")


class SchemaTooNewError(StoreError):
    def __init__(self, found: str, known: str) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"This database was written by a newer version of the application (schema {found});"
            f" this version knows schema {known}. Install the newer version to open it."
        )


class DiskFullError(StoreError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The disk is full: the last change was not saved and nothing was half-written. "
            "Free some space and try again."
        )


class ReadOnlyDataError(StoreError):
    def __init__(self, folder: Path | str | None = None,
                 doing: str = "the change was not saved") -> None:
        self.folder = Path(folder) if folder else None
        where = f"The folder {self.folder}" if self.folder else "The clinic data folder"
        super().__init__(
            f"{where} is read-only: {doing}. "
            "Ask your administrator to make the folder writable again."
        )


class KeyringUnavailable(StoreError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "No secure key store (OS keyring) is available on this computer, so the database key"
            " cannot be kept for you. Open the clinic with its recovery secret instead."
            + (f" ({detail})" if detail else "")
        )


class Cancelled(PmsError):
    """Silent: work stopped on request."""
