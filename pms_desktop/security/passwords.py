"""Password hashing (argon2id, memory-hard) and the password policy."""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12

# OWASP-recommended argon2id parameters (19 MiB would be the floor; we use 64 MiB).
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


@functools.cache
def breached_passwords() -> frozenset[str]:
    """The shipped list of the most common breached passwords (resources/)."""
    text = (resources.files("pms_desktop").joinpath("resources/breached-passwords.txt")
            .read_text("utf-8"))
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problems(password: str, *, username: str, display_name: str = "") -> list[str]:
    """What is wrong with a new password, in words a person can act on (empty: acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    lowered = password.lower()
    names = {username.lower()} | {p.lower() for p in display_name.split() if len(p) >= 3}
    if any(n and n in lowered for n in names):
        problems.append("Do not use your user name or your name in the password.")
    if lowered in breached_passwords() or lowered.rstrip("0123456789!") in breached_passwords():
        problems.append("This password is on a list of passwords known to attackers.")
    if len(set(password)) < 5:
        problems.append("Use more different characters.")
    return problems
