"""Schema upgrades with Alembic, on a connection that already holds the key.

On start the application calls ``upgrade_if_needed``: a database behind the code is backed up
(encrypted) and upgraded; one ahead of the code is refused with the version it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ..domain.errors import SchemaTooNewError

HERE = Path(__file__).parent


def alembic_config() -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def upgrade(engine: Engine, target: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def upgrade_if_needed(engine: Engine, backup: Callable[[str], Path | None]) -> str | None:
    """Bring the schema to head. ``backup(reason)`` runs first when an upgrade is needed.

    Returns the revision the database was at before (None if it was new or already current).
    """
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
