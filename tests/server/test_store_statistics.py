"""The server says at start when PostgreSQL never analyses its store (autovacuum off): the
planner then reads all of a clinic's rows of a type for a push's look-ups (docs/server.md)."""

from __future__ import annotations

from sqlalchemy import text

from sync_server.store.db import Database


def test_a_store_never_analysed_is_named(database_url: str) -> None:
    db = Database(database_url)
    try:
        warning = db.statistics_warning()
        if db.is_sqlite:
            assert warning is None
            return
        with db.engine.connect() as conn:
            analysed = conn.execute(text("SELECT current_setting('autovacuum') = 'on' AND "
                                         "current_setting('track_counts') = 'on'")).scalar()
        if analysed:
            assert warning is None
        else:
            assert warning is not None
            assert "autovacuum is off" in warning and "ANALYZE" in warning
    finally:
        db.dispose()
