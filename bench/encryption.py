"""Encryption overhead: the same workloads encrypted and not, in the same run.

Both sides are opened by the same SQLite library, the one inside sqlcipher3 that the application
uses: one with a raw 256-bit key and the application's page authentication (``HMAC_ALGORITHM``),
as the application, one without a key (plain SQLite), both with the application's pragmas (WAL,
synchronous=FULL). So the ratio is the cost of the encryption alone; the system's ``sqlite3``
module is another SQLite version with other build options (cache size, secure delete,
lookaside), and comparing with it measured those differences too, in both directions. The runs
of the two alternate, so that both see the same noise from other work on the machine. The ratio
is SQLCipher time / SQLite time per workload (medians); the note gives the CPU times too.

``measure``: a small schema of our own, SQLite's own cost laid bare: a patient table with
indexes and an FTS5 index, and an invoice table for a report query. A small inserting
transaction waits for its ``fsync``, whose cost on a shared machine varies from run to run far
more than the encryption's, which is CPU (about 85 us for the 6-7 pages of a 50-row transaction
here).

``measure_store``: the application's own transactions and searches, through its services, on a
copy of the demo clinic's store and on a plain copy of it.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from pms_desktop.domain.enums import Role
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store import engine
from pms_desktop.store.engine import DB_FILENAME, HMAC_ALGORITHM

from .harness import Figure, ratio
from .workstation import actor, sample_patients

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


def measure(n: int, repeat: int, where: Path | None = None) -> list[Figure]:
    """``where``: the folder to write the two databases in; the demo store's, so that their
    ``fsync`` is the disk's where the application keeps its data (the system's temporary folder
    may be in memory, where an ``fsync`` costs nothing)."""
    figures = []
    with tempfile.TemporaryDirectory(dir=where, prefix="encryption-") as tmp:
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


def measure_store(data_dir: Path, repeat: int) -> list[Figure]:
    """The application's own work on two copies of the store in ``data_dir``: registering a
    patient, saving a note draft, recording vitals (each one durable transaction with its access
    log, change feed and search-index rows), and the reception's searches (name parts, date of
    birth, phone) of patients not looked up before, as a day at the desk goes: their pages are
    read and, on the encrypted side, decrypted and authenticated.

    Both copies are written by the same ``sqlcipher_export`` of the store, one in the
    application's format under its key and opened as the application opens it, one plain and
    opened with the application's pragmas: the same pages in the same order, so the ratio is the
    encryption's alone. Runs alternate, as in ``measure``.
    """
    from pms_desktop.context import build_context
    from pms_desktop.store.database import ClinicDatabase

    source = ClinicDatabase.open(data_dir)
    key = source.key
    source.close()
    with tempfile.TemporaryDirectory(dir=data_dir.parent, prefix="encryption-") as tmp:
        enc_dir, plain_dir = Path(tmp) / "encrypted", Path(tmp) / "plain"
        _export_copies(data_dir, key, enc_dir, plain_dir)
        enc_db = ClinicDatabase.open(enc_dir)
        plain_db = ClinicDatabase(plain_dir, _plain_engine(plain_dir / DB_FILENAME), enc_db.info,
                                  key, enc_db.keystore)
        contexts = (build_context(enc_db), build_context(plain_db))
        try:
            people = sample_patients(contexts[0], 2 * repeat + 40, random.Random(5))
            enc_loads, plain_loads = (_store_workloads(c, people) for c in contexts)
            figures = []
            for name in enc_loads:
                reps = 2 * repeat if name.startswith("patient search") else repeat
                enc_ms, plain_ms, enc_cpu, plain_cpu = _interleaved(
                    enc_loads[name], plain_loads[name], reps)
                figures.append(ratio(f"SQLCipher/SQLite, the store: {name}", 1.3,
                                     enc_ms / max(plain_ms, 1e-6),
                                     note=f"{enc_ms:.2f} vs {plain_ms:.2f} ms "
                                          f"(CPU {enc_cpu:.2f} vs {plain_cpu:.2f})"))
            return figures
        finally:
            for c in contexts:
                c.close()


def _export_copies(data_dir: Path, key: bytes, enc_dir: Path, plain_dir: Path) -> None:
    for d in (enc_dir, plain_dir):
        (d / "backups").mkdir(parents=True)
        shutil.copy(data_dir / "keyinfo.json", d)
    conn = engine._raw_connect(data_dir / DB_FILENAME, engine.raw_key_literal(key),
                               engine.HMAC_ALGORITHM)
    try:
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for name, d, key_sql in (("enc", enc_dir, f'"{engine.raw_key_literal(key)}"'),
                                 ("plain", plain_dir, "''")):
            conn.execute(f"ATTACH DATABASE ? AS {name} KEY {key_sql}", (str(d / DB_FILENAME),))
            if name == "enc":
                conn.execute(f"PRAGMA enc.cipher_hmac_algorithm = {engine.HMAC_ALGORITHM}")
            conn.execute(f"SELECT sqlcipher_export('{name}')")
            conn.execute(f"PRAGMA {name}.user_version = {user_version}")
            conn.execute(f"DETACH DATABASE {name}")
    finally:
        conn.close()
    with (plain_dir / DB_FILENAME).open("rb") as f:
        assert f.read(16) == engine.PLAIN_SQLITE_MAGIC, "the plain copy is not plain SQLite"


def _plain_engine(path: Path) -> Engine:
    """As ``engine.make_engine`` opens the store (one pooled connection, the same pragmas on
    connect and at each BEGIN), on a file without a key."""
    plain = create_engine(
        "sqlite+pysqlite://", module=sqlcipher3.dbapi2, poolclass=QueuePool, pool_size=1,
        max_overflow=0, pool_timeout=60,
        creator=lambda: sqlcipher3.connect(str(path), check_same_thread=False, timeout=15))
    event.listen(plain, "connect", engine._on_connect)
    event.listen(plain, "begin", engine._on_begin)
    return plain


def _store_workloads(ctx: Any, people: list[Any]) -> dict[str, Callable[[], None]]:
    doctor = actor(ctx, Role.CLINICIAN)
    desk = actor(ctx, Role.RECEPTION)
    rng = random.Random(3)
    note = ctx.clinical.create_draft(doctor, patient_id=people[0].id)
    counter = iter(range(10**9))
    unseen = iter(people[1:])  # each search finds a patient not searched for before

    def register() -> None:
        i, p = next(counter), rng.choice(people)
        ctx.patients.register_patient(desk, draft=PatientDraft(
            given=p.given, family=p.family, birth_date=f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
            sex="unknown", phone=f"089{i:07d}"))

    def save_note() -> None:
        ctx.clinical.save_draft(doctor, note_id=note.id, subjective=f"typed text {next(counter)}")

    def record_vitals() -> None:
        ctx.clinical.record_vitals(
            doctor, patient_id=rng.choice(people).id,
            values={"systolic": "124", "diastolic": "82", "heart_rate": "71"})

    def search() -> None:
        p = next(unseen)
        ctx.patients.search(desk, f"{p.given[:4]} {p.family[:4]}")
        ctx.patients.search(desk, p.birth_date.strftime("%d/%m/%Y"))
        ctx.patients.search(desk, p.phone_digits[-7:])

    return {"register a patient": register, "save a note draft": save_note,
            "record vitals": record_vitals, "patient search (name, birth date, phone)": search}
