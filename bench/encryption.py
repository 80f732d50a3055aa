"""Encryption overhead: the same indexed workload encrypted and not, in the same run.

Both databases are opened by the same SQLite library, the one inside sqlcipher3 that the
application uses: one with a raw 256-bit key (as the application), one without a key (plain
SQLite), and with the application's page authentication (``HMAC_ALGORITHM``). So the ratio is
the cost of the encryption alone; the system's ``sqlite3`` module is
another SQLite version with other build options (cache size, secure delete, lookaside), and
comparing with it measured those differences too, in both directions.

Both use the application's pragmas (WAL, synchronous=FULL) and the same schema shape: a patient
table with indexes and an FTS5 index, and an invoice table for a report query. The runs of the
two alternate, so that both see the same noise from other work on the machine. The ratio is
SQLCipher time / SQLite time per workload (medians). The note gives the CPU times too: a small
inserting transaction waits for its ``fsync``, whose cost on a shared machine varies from run
to run far more than the encryption's, which is CPU (about 85 us for the 6-7 pages of a 50-row
transaction here).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3

from pms_desktop.store.engine import HMAC_ALGORITHM

from .harness import Figure, ratio

SCHEMA = """
CREATE TABLE patient(id INTEGER PRIMARY KEY, given TEXT, family TEXT, dob TEXT, phone TEXT);
CREATE INDEX ix_family ON patient(family, given);
CREATE INDEX ix_dob ON patient(dob);
CREATE VIRTUAL TABLE patient_fts USING fts5(names, content='',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');
CREATE TABLE invoice(id INTEGER PRIMARY KEY, patient_id INTEGER, issued TEXT, total INTEGER);
CREATE INDEX ix_issued ON invoice(issued);
"""
FAMILIES = ["Murphy", "Kelly", "Byrne", "Ryan", "Walsh", "Nowak", "Garcia", "Chen", "Patel",
            "Okafor"]  # fmt: skip
INSERT_INVOICE = "INSERT INTO invoice VALUES (?,?,?,?)"


def _connect(path: Path, encrypted: bool) -> Any:
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    if encrypted:
        conn.execute("PRAGMA key = \"x'" + "ab" * 32 + "'\"")  # a raw key, as the application
        conn.execute(f"PRAGMA cipher_hmac_algorithm = {HMAC_ALGORITHM}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def _fill(conn: Any, n: int, rng: random.Random) -> None:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    for i in range(n):
        fam = rng.choice(FAMILIES) + str(i % 997)
        dob = f"19{i % 90 + 10}-0{i % 9 + 1}-1{i % 9}"
        conn.execute("INSERT INTO patient VALUES (?,?,?,?,?)",
                     (i, f"Given{i % 313}", fam, dob, f"087{i:07d}"))
        conn.execute("INSERT INTO patient_fts(rowid, names) VALUES (?, ?)",
                     (i, f"Given{i % 313} {fam}"))
        conn.execute(INSERT_INVOICE, (i, i, f"2026-{i % 12 + 1:02d}-15", 1000 + i % 500))
    conn.execute("COMMIT")


def workloads(conn: Any, rng: random.Random) -> dict[str, Callable[[], None]]:
    counter = [10_000_000]

    def inserts() -> None:
        conn.execute("BEGIN")
        for _ in range(50):
            counter[0] += 1
            conn.execute(INSERT_INVOICE, (counter[0], 1, "2026-06-01", 4200))
        conn.execute("COMMIT")

    def indexed() -> None:
        for _ in range(50):
            conn.execute("SELECT id FROM patient WHERE family = ? LIMIT 20",
                         (rng.choice(FAMILIES) + str(rng.randrange(997)),)).fetchall()

    def fts() -> None:
        for _ in range(20):
            conn.execute("SELECT rowid FROM patient_fts WHERE patient_fts MATCH ? LIMIT 50",
                         (f"{rng.choice(FAMILIES)[:3]}* giv*",)).fetchall()

    def report() -> None:
        conn.execute("SELECT substr(issued,1,7), count(*), sum(total) FROM invoice "
                     "WHERE issued BETWEEN '2026-01-01' AND '2026-12-31' GROUP BY 1").fetchall()

    return {"inserts in transactions": inserts, "indexed search": indexed, "FTS search": fts,
            "report query": report}


def _interleaved(a: Callable[[], None], b: Callable[[], None],
                 repeat: int) -> tuple[float, float, float, float]:
    """Median milliseconds of ``a`` and of ``b``, run alternately (order swapped each time):
    wall clock, then CPU time (which leaves out the wait for ``fsync`` and other programs)."""
    times: dict[int, list[float]] = {0: [], 1: []}
    cpu: dict[int, list[float]] = {0: [], 1: []}
    fns = (a, b)
    for i in range(repeat + 2):
        for k in ((0, 1) if i % 2 else (1, 0)):
            t0, c0 = time.perf_counter(), time.process_time()
            fns[k]()
            if i >= 2:  # two warm-up rounds
                times[k].append((time.perf_counter() - t0) * 1000)
                cpu[k].append((time.process_time() - c0) * 1000)
    return (statistics.median(times[0]), statistics.median(times[1]),
            statistics.median(cpu[0]), statistics.median(cpu[1]))


def measure(n: int, repeat: int) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        conns = {}
        for enc in (True, False):
            c = _connect(Path(tmp) / ("enc.db" if enc else "plain.db"), enc)
            _fill(c, n, random.Random(1))
            conns[enc] = c
        loads = {enc: workloads(c, random.Random(2)) for enc, c in conns.items()}
        total = {True: 0.0, False: 0.0}
        for name in loads[True]:
            reps = repeat * 40 if name.startswith("inserts") else repeat  # cheap, noisy (fsync)
            enc_ms, plain_ms, enc_cpu, plain_cpu = _interleaved(
                loads[True][name], loads[False][name], reps)
            total[True] += enc_ms
            total[False] += plain_ms
            figures.append(ratio(f"SQLCipher/SQLite: {name}", 1.3, enc_ms / max(plain_ms, 1e-6),
                                 note=f"{enc_ms:.2f} vs {plain_ms:.2f} ms "
                                      f"(CPU {enc_cpu:.3f} vs {plain_cpu:.3f})"))
        figures.append(ratio("SQLCipher/SQLite: whole workload", 1.3, total[True] / total[False]))
        for c in conns.values():
            c.close()
    return figures
