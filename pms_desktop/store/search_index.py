"""The patient search index (FTS5 ``patient_search``, kept by triggers: migrations 0002, 0004)
paused for many writes in one transaction.

Every patient, identifier and phone row written rewrites the patient's index row; a pulled
page of new patients would rewrite each a few times. Between ``pause`` and ``resume``, in one
transaction, the triggers only note the patients written, and ``resume`` rewrites their index
rows once, in a few statements (the migration's ``patient_search_resume`` trigger). The pause
is a row of that transaction: a rollback or a crash removes it with the rest, and outside it
(every other writer of the store) the index is kept row by row as before.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

_PAUSE = text("INSERT INTO patient_search_pause(one) VALUES (1)")
_RESUME = text("DELETE FROM patient_search_pause")
_OPTIMIZE = text("INSERT INTO patient_search(patient_search) VALUES ('optimize')")


def pause(session: Session) -> None:
    """Until ``resume`` in this transaction, patients written are only noted. Raises an
    ``IntegrityError`` when the index is paused already (a pause not resumed is a bug)."""
    session.execute(_PAUSE)


def resume(session: Session) -> None:
    """Rewrite the index rows of the patients written since ``pause``; the index is kept row
    by row again. The session's pending changes are flushed first (they are written now)."""
    session.flush()
    session.execute(_RESUME)


def optimize(db: Session | Connection) -> None:
    """Merge the index's segments into one, dropping the entries of rewritten rows (FTS5's
    ``optimize``). After many writes (a demo built, a first pull) those entries are checked by
    every search: about a fifth of a search's work on a 100,000-patient store written row by
    row. About 1 s of CPU for 100,000 patients, in the caller's transaction."""
    db.execute(_OPTIMIZE)
