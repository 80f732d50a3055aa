"""Alembic environment: always run on a connection the application opened (it holds the key)."""

from __future__ import annotations

from alembic import context

from pms_desktop.store.models import Base

SEARCH_OBJECTS = {"patient_search", "patient_search_key"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # The FTS5 index and its shadow tables are made by hand in a migration, not by models.
    if type_ == "table" and (name in SEARCH_OBJECTS or (name or "").startswith("patient_search")):
        return False
    return True


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run only through pms_desktop.store.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    include_object=include_object,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
