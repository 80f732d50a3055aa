"""The store binds None, bool and bytes exactly as the driver always did (NULL, 0/1, a blob),
through adapters registered for speed (``store.engine``): what is written is what is read."""

from __future__ import annotations

from pathlib import Path

from pms_desktop.store.engine import open_engine
from pms_desktop.store.keys import new_database_key


def test_none_bool_and_bytes_are_stored_as_null_integer_and_blob(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "clinic.db", new_database_key())
    try:
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            raw.execute("CREATE TABLE t (a, b, c, d)")
            raw.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                            [(None, True, False, b"\x00sealed"), (None, False, True, b"")])
            rows = raw.execute("SELECT typeof(a), a, typeof(b), b, typeof(c), c, typeof(d), d"
                               " FROM t ORDER BY rowid").fetchall()
            assert rows == [("null", None, "integer", 1, "integer", 0, "blob", b"\x00sealed"),
                            ("null", None, "integer", 0, "integer", 1, "blob", b"")]
            # a None compared in a query is still NULL (matches nothing)
            assert raw.execute("SELECT count(*) FROM t WHERE a = ?", (None,)).fetchone() == (0,)
            assert raw.execute("SELECT count(*) FROM t WHERE b = ?", (True,)).fetchone() == (1,)
    finally:
        engine.dispose()
