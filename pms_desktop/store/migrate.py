"""Schema upgrades with Alembic, on a connection that already holds the key.

On start the application calls ``upgrade_if_needed``: a database behind the code is backed up
(encrypted) and upgraded; one ahead of the code is refused with the version it needs.

A database already at the head revision (every start but the first after an upgrade of the
application) is told from one read of ``alembic_version`` and the revision lines of the
migration files (``plain_head``), without importing Alembic (about 0.1-0.2 s of a cold start's
CPU); anything else, or files that cannot be read that way, goes through Alembic as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, exc

from ..domain.errors import SchemaTooNewError

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
VERSIONS = HERE / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=\n]*)?=\s*(['\"])([^'\"\n]+)\1\s*$", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=\n]*)?=\s*(?:None|(['\"])([^'\"\n]+)\1)\s*$", re.M)


def plain_head(versions: Path = VERSIONS) -> str | None:
    """The head revision read from the migration files' ``revision`` and ``down_revision``
    lines, or None when they cannot be read plainly (a line in another form, a branch, a merge,
    no files): then only Alembic can say. Never a revision that is not the head: every file
    must be read, and the chain must have exactly one end."""
    revisions: dict[str, str | None] = {}
    for path in versions.glob("*.py"):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(rev) != 1 or len(down) != 1 or rev[0][1] in revisions:
            return None
        revisions[rev[0][1]] = down[0][1] or None
    pointed_to = set(revisions.values())
    heads = [r for r in revisions if r not in pointed_to]
    roots = [r for r, down in revisions.items() if down is None]
    if len(heads) != 1 or len(roots) != 1 or not pointed_to - {None} <= revisions.keys():
        return None
    return heads[0]


def _stored_revision(engine: Engine) -> str | None:
    """``alembic_version``'s one row, read without Alembic; None when there is none (a new
    database, or a table that is not as Alembic keeps it: the caller asks Alembic then)."""
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except exc.OperationalError as e:
        if "no such table" in str(e.orig):
            return None
        raise  # a locked or unreadable store: as Alembic's own read would have raised
    return str(rows[0][0]) if len(rows) == 1 else None


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def upgrade(engine: Engine, target: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def upgrade_if_needed(engine: Engine, backup: Callable[[str], Path | None]) -> str | None:
    """Bring the schema to head. ``backup(reason)`` runs first when an upgrade is needed.

    Returns the revision the database was at before (None if it was new or already current).
    """
    stored = _stored_revision(engine)
    if stored is not None and stored == plain_head():
        return None
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    if current is not None and current not in known_revisions():
        raise SchemaTooNewError(found=current, known=head)
    if current is not None:
        backup(f"pre-upgrade-{current}")
    upgrade(engine)
    return current
