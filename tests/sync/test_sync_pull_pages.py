"""A new workstation's first pull over several pages, against the real server: one access-log
entry per page naming every record it applied (none tied to a patient, so a patient's access
report lists people, not the copying of their file), a record changed elsewhere while the pull
runs arriving again and applied as an update (never as a second new record), the access log
made durable before it is uploaded, and a long pull's store settings put back afterwards."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pms_desktop.context import AppContext, build_context
from pms_desktop.fhir.mapping import SYNCABLE_TABLES
from pms_desktop.services.audit_service import verify_database
from pms_desktop.services.patients_dto import PatientDraft
from pms_desktop.store import engine as store_engine
from pms_desktop.store.database import ClinicDatabase
from pms_desktop.store.models import AuditEntry, Patient, SyncBase
from pms_desktop.sync import engine as sync_engine
from pms_desktop.sync import page_apply, sync_state
from pms_desktop.sync.transport import SyncClient
from tests.sync.conftest import SyncServer, _actor, _copy
from tests.sync.sync_server_helpers import fhir_holdings

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 10 changes (the feed of a few patients spans several), and a pull of 20 or
    more counted as long (``bulk_writing``)."""
    monkeypatch.setattr(sync_engine, "PULL_FIRST_PAGE", 10)
    monkeypatch.setattr(sync_engine, "PULL_PAGE", 10)
    monkeypatch.setattr(sync_engine, "PULL_OPTIMIZE_AFTER", 20)


@pytest.fixture
def clinic(_template: tuple[Path, bytes], tmp_path: Path,
           sync_server: SyncServer) -> Iterator[tuple[AppContext, str, dict[str, PatientDraft]]]:
    """A synced clinic workstation with 15 patients (their drafts by id): 23 records."""
    from tests.sync.test_sync_first_pull import _queue_unsynced

    clinic_id = sync_server.new_clinic("Paged pull clinic")
    a = _copy(_template, tmp_path / "alpha", "alpha")
    try:
        a.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                            code=sync_server.enrol_code(clinic_id), device_name="alpha")
        _queue_unsynced(a)
        desk, drafts = _actor(a, "paul"), {}
        for i in range(15):
            draft = PatientDraft(given=f"Aoife{i}", family="Ní Bhriain",
                                 birth_date=f"1985-02-{i + 10}", sex="female",
                                 phone=f"08798765{i:02d}", mrn=f"PG-{i}")
            drafts[a.patients.register_patient(desk, draft=draft).id] = draft  # type: ignore[attr-defined]
        assert a.sync.run_sync().quarantined == 0  # type: ignore[attr-defined]
        yield a, clinic_id, drafts
    finally:
        a.close()


def _new_workstation(a: AppContext, clinic_id: str, folder: Path,
                     sync_server: SyncServer) -> AppContext:
    code = a.sync.issue_clinic_key_code(_actor(a, "admin"))  # type: ignore[attr-defined]
    db, _secret = ClinicDatabase.create(folder)
    b = build_context(db)
    b.sync.enrol_device(server_url=sync_server.url,  # type: ignore[attr-defined]
                        code=sync_server.enrol_code(clinic_id), device_name="bravo",
                        clinic_key_code=code)
    return b


def _named_once(ctx: AppContext) -> dict[str, int]:
    """Every record the pages' ``sync.apply`` entries name ("Type/id" -> version), each named
    by one page only (a record applied twice fails here)."""
    named: dict[str, int] = {}
    for entry in _applies(ctx):
        for ref, version in json.loads(entry.detail or "{}").get("applied", {}).items():
            assert ref not in named, f"{ref} named by two pages"
            named[ref] = version
    return named


def _applies(ctx: AppContext) -> list[AuditEntry]:
    with ctx.db.sessions()() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sync.apply")
                              .order_by(AuditEntry.seq)))


def _watch(monkeypatch: pytest.MonkeyPatch, method: str,
           note: Callable[..., Any]) -> list[Any]:
    """What ``note(*args)`` says of each call of the engine's ``method`` (which then runs)."""
    seen: list[Any] = []
    real = getattr(sync_engine.SyncEngine, method)

    def watched(self: Any, *args: Any) -> Any:
        seen.append(note(*args))
        return real(self, *args)

    monkeypatch.setattr(sync_engine.SyncEngine, method, watched)
    return seen


def _careful_pages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cursors of the pages applied change by change (the store refused the page)."""
    return _watch(monkeypatch, "_apply_page_carefully", lambda _page, cursor: cursor)


def _page_transactions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The transaction each page was applied in (held: no id reused)."""
    return _watch(monkeypatch, "_apply_page", lambda s, *_: s.get_transaction())


@pytest.mark.usefixtures("small_pages")
def test_each_page_is_one_entry_naming_every_record_it_applied(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer) -> None:
    a, clinic_id, _ = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    try:
        report = b.sync.run_sync()  # type: ignore[attr-defined]
        assert report.pulled >= 20 and report.new_conflicts == 0

        entries = _applies(b)
        assert len(entries) >= report.pulled // 10  # one a page of 10, not one a record
        for entry in entries:
            assert entry.patient_id is None and entry.resource_id is None
            detail = json.loads(entry.detail or "{}")
            assert detail["next_cursor"] > detail["cursor"]
        named = _named_once(b)
        assert len(named) == report.pulled
        # Every record the pull brought is named with the version it holds.
        with b.db.sessions()() as s:
            patients = {f"Patient/{p.id}": p.server_version for p in s.scalars(select(Patient))}
            assert verify_database(s).intact
        assert patients and all(named[ref] == v for ref, v in patients.items())
        # A patient's access report lists no copying of their file.
        pid = next(iter(patients)).split("/")[1]
        with b.db.sessions()() as s:
            assert not list(s.scalars(select(AuditEntry).where(
                AuditEntry.patient_id == pid, AuditEntry.action == "sync.apply")))
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_record_changed_during_the_pull_arrives_again_as_an_update(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    a, clinic_id, drafts = clinic
    pid, draft = next(iter(drafts.items()))  # the feed's first patient: on an early page
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    pulls = [0]
    real_pull = SyncClient.pull

    def pull(self: SyncClient, cursor: int, limit: int) -> Any:
        pulls[0] += 1
        if pulls[0] == 3:  # pages already applied on bravo: the patient is edited on alpha
            a.patients.update_patient(  # type: ignore[attr-defined]
                _actor(a, "paul"), patient_id=pid, draft=replace(draft, city="Sligeach"))
            assert a.sync.run_sync().pushed == 1  # type: ignore[attr-defined]
        return real_pull(self, cursor, limit)

    monkeypatch.setattr(SyncClient, "pull", pull)
    careful = _careful_pages(monkeypatch)
    try:
        report = b.sync.run_sync()  # type: ignore[attr-defined]
        assert pulls[0] > 3 and report.new_conflicts == 0
        assert careful == [], "a page was refused by the store and applied change by change"
        with b.db.sessions()() as s:
            held = s.get(Patient, pid)
            assert held is not None and held.city == "Sligeach"
        twice = [e for e in _applies(b)
                 if f"Patient/{pid}" in json.loads(e.detail or "{}").get("applied", {})]
        assert len(twice) == 2  # brought by two pages: added, then updated
        assert fhir_holdings(b)[f"patient/{pid}"] == fhir_holdings(a)[f"patient/{pid}"]
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_the_log_is_durable_before_upload_and_settings_are_put_back(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    a, clinic_id, _ = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    events: list[str] = []
    real_fsync, real_upload = store_engine._fsync, SyncClient.upload_audit

    def fsync(path: Path) -> None:
        events.append(f"fsync {Path(path).name}")
        real_fsync(path)

    def upload(self: SyncClient, entries: list[Any], **kwargs: Any) -> Any:
        events.append(f"upload {entries[-1]['seq']}")
        return real_upload(self, entries, **kwargs)

    monkeypatch.setattr(store_engine, "_fsync", fsync)
    monkeypatch.setattr(SyncClient, "upload_audit", upload)
    try:
        b.sync.run_sync()  # type: ignore[attr-defined]
        uploads = [i for i, e in enumerate(events) if e.startswith("upload")]
        assert uploads
        for i in uploads:  # the log's file synced since the previous upload, before this one
            before = events[(max([j for j in uploads if j < i], default=-1) + 1):i]
            assert "fsync clinic.db-wal" in before, events
        with b.db.engine.connect() as conn:  # the pull's large cache given back
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == \
                -store_engine.CACHE_KIB
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == \
                store_engine.CHECKPOINT_PAGES
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_download_applies_pages_together_and_a_page_that_fails_waits_as_a_conflict(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        _template: tuple[Path, bytes],
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new workstation downloading the clinic applies several pages in one transaction. The
    same MRN registered on another workstation offline makes one page fail in the store: that
    transaction's pages are applied again one by one, the failing one change by change, and
    everything arrives once: both patients held and flagged, every record named once in the
    access log, the chain intact."""
    a, clinic_id, drafts = clinic
    mrn = next(iter(drafts.values())).mrn
    c = _copy(_template, tmp_path / "charlie", "charlie")  # a workstation of the clinic,
    try:  # offline until its patient with the same MRN is registered
        c.sync.enrol_device(  # type: ignore[attr-defined]
            server_url=sync_server.url, code=sync_server.enrol_code(clinic_id),
            device_name="charlie",
            clinic_key_code=a.sync.issue_clinic_key_code(_actor(a, "admin")))  # type: ignore[attr-defined]
        twin = c.patients.register_patient(_actor(c, "paul"), draft=PatientDraft(  # type: ignore[attr-defined]
            given="Aoibhe", family="Ní Bhriain", birth_date="1990-07-01", sex="female",
            mrn=mrn)).id
        c.sync.run_sync()  # type: ignore[attr-defined]
    finally:
        c.close()
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    monkeypatch.setattr(sync_engine, "PULL_DOWNLOAD_TXN_SECONDS", 600.0)  # all pages at once
    # (and each next page waited for: on a loaded machine one can take longer than 50 ms)
    monkeypatch.setattr(sync_engine, "PULL_DOWNLOAD_WAIT_SECONDS", 30.0)
    transactions = _page_transactions(monkeypatch)
    alone = _watch(monkeypatch, "_page_alone", lambda _page, cursor, *_: cursor)
    careful = _careful_pages(monkeypatch)
    bar: list[tuple[int, int]] = []
    try:
        report = b.sync.run_sync(  # type: ignore[attr-defined]
            progress=lambda phase, done, total: bar.append((done, total)) if phase == "pull"
            else None)
        first = transactions[0]
        together = [t for t in transactions if t is first]
        assert len(together) > 2, "the download's pages were applied in a transaction each"
        # The bar moved with the pages applied together, never back, to its end.
        assert len(bar) >= len(together) - 1
        assert [d for d, _ in bar] == sorted(d for d, _ in bar) and bar[-1][0] == bar[-1][1]
        assert len(alone) == len(together) and len(careful) == 1
        with b.db.sessions()() as s:
            held = {p.id for p in s.scalars(select(Patient))}
            assert verify_database(s).intact
        assert held >= {*drafts, twin}
        [flag] = b.sync.conflicts(_actor(b, "admin"))  # type: ignore[attr-defined]
        assert flag.kind == "possible-duplicate"
        assert len(_named_once(b)) == report.pulled
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_long_pull_into_a_workstation_in_use_is_a_transaction_a_page(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workstation that already holds patients (people work on it) pulls many changes: each
    page commits with its cursor, so a person's save waits for one page at most."""
    a, clinic_id, drafts = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    try:
        b.sync.run_sync()  # type: ignore[attr-defined]
        for pid, draft in drafts.items():
            a.patients.update_patient(_actor(a, "paul"), patient_id=pid,  # type: ignore[attr-defined]
                                      draft=replace(draft, city="Tralee"))
        a.sync.run_sync()  # type: ignore[attr-defined]
        monkeypatch.setattr(sync_engine, "PULL_OPTIMIZE_AFTER", 10)  # a long pull
        monkeypatch.setattr(sync_engine, "PULL_DOWNLOAD_TXN_SECONDS", 600.0)
        transactions = _page_transactions(monkeypatch)
        assert b.sync.run_sync().pulled >= len(drafts)  # type: ignore[attr-defined]
        assert len(transactions) >= 2
        assert len({id(t) for t in transactions}) == len(transactions)
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_patient_edited_after_their_appointment_was_booked_arrives_before_it(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed keeps a record before the records that refer to it, even when the record
    changed after them: a new workstation's download holds the booking and the edited patient,
    with no page refused by the store and no conflict (a feed giving each record only at its
    latest position sent the appointment before its patient)."""
    a, clinic_id, drafts = clinic
    pid, draft = next(iter(drafts.items()))
    desk = _actor(a, "paul")
    practitioner = a.scheduling.practitioners(desk)[0].id  # type: ignore[attr-defined]
    booked = a.scheduling.book(desk, patient_id=pid,  # type: ignore[attr-defined]
                               practitioner_id=practitioner,
                               start_at=datetime(2027, 2, 3, 10, 0, tzinfo=UTC),
                               duration_minutes=30).id
    for other, other_draft in list(drafts.items())[1:]:  # the edit pages after the booking
        a.patients.update_patient(desk, patient_id=other,  # type: ignore[attr-defined]
                                  draft=replace(other_draft, city="Sligeach"))
    a.patients.update_patient(desk, patient_id=pid,  # type: ignore[attr-defined]
                              draft=replace(draft, city="Béal an Átha"))
    assert a.sync.run_sync().quarantined == 0  # type: ignore[attr-defined]
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    careful = _careful_pages(monkeypatch)
    try:
        report = b.sync.run_sync()  # type: ignore[attr-defined]
        assert report.new_conflicts == 0 and careful == []
        assert fhir_holdings(b)[f"patient/{pid}"] == fhir_holdings(a)[f"patient/{pid}"]
        assert fhir_holdings(b)[f"appointment/{booked}"] == \
            fhir_holdings(a)[f"appointment/{booked}"]
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_download_writes_its_merge_bases_made_on_the_fetching_thread(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new workstation downloading the clinic writes each record's merge base as the
    fetching thread wrote it while the page before was applied (only the first page, fetched
    before the others, has its bases written on the pull's thread); each base is the record
    as pulled."""
    a, clinic_id, _ = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    written: list[tuple[str, str, str, str]] = []  # (thread, type, id, text)
    real = sync_state.base_text

    def base_text(resource: dict[str, Any]) -> str:
        text = real(resource)
        written.append((threading.current_thread().name, str(resource.get("resourceType")),
                        str(resource.get("id")), text))
        return text

    monkeypatch.setattr(sync_state, "base_text", base_text)
    fetched: set[tuple[str, str]] = set()  # the records of the pages after the first
    real_fetch = sync_engine.SyncEngine._fetch

    def fetch(self: Any, *args: Any) -> Any:
        page, made = real_fetch(self, *args)
        fetched.update((c["resource_type"], c["id"]) for c in page["changes"])
        return page, made

    monkeypatch.setattr(sync_engine.SyncEngine, "_fetch", fetch)
    pulling = threading.current_thread().name
    try:
        report = b.sync.run_sync()  # type: ignore[attr-defined]
        assert report.pulled >= 20 and report.new_conflicts == 0
        here = {(t, i) for thread, t, i, _ in written if thread == pulling}
        apart = {(t, i): text for thread, t, i, text in written if thread != pulling}
        assert len(fetched) >= 10 and not here & fetched, "bases written on the pull's thread"
        with b.db.sessions()() as s:
            bases = {(r.resource_type, r.resource_id): r.resource for r in s.scalars(
                select(SyncBase))}
        assert all(bases[k] == apart[k] for k in fetched)
        assert all(json.loads(bases[k])["id"] == k[1] for k in fetched)
    finally:
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_downloads_applied_pages_are_freed_on_the_fetching_thread(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a transaction of a download is committed, its pages' appliers (and the records
    they hold) are freed on the fetching thread, not on the pull's (except the last ones':
    the pull's end drops what the fetching thread has not started), and every record
    arrives."""
    a, clinic_id, drafts = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    monkeypatch.setattr(sync_engine, "PULL_DOWNLOAD_TXN_SECONDS", 0.0)  # a page each
    monkeypatch.setattr(sync_engine, "PULL_FIRST_PAGE", 5)
    monkeypatch.setattr(sync_engine, "PULL_PAGE", 5)
    freed: list[str] = []
    watching: list[Any] = []  # the weak references (a callback runs only while one is held)
    real = sync_engine.SyncEngine._apply_page

    def apply_page(self: Any, *args: Any) -> Any:
        applier, pulled = real(self, *args)
        watching.append(weakref.ref(applier, lambda _: freed.append(
            threading.current_thread().name)))
        return applier, pulled

    monkeypatch.setattr(sync_engine.SyncEngine, "_apply_page", apply_page)
    gc.disable()  # freed when let go of, not by the collector (on whichever thread)
    try:
        pulling = threading.current_thread().name
        report = b.sync.run_sync()  # type: ignore[attr-defined]
        assert report.pulled >= 20 and len(watching) >= 5
        assert len(freed) == len(watching) and freed.count(pulling) <= 2, freed
        with b.db.sessions()() as s:
            assert {p.id for p in s.scalars(select(Patient))} >= set(drafts)
    finally:
        gc.enable()
        b.close()


@pytest.mark.usefixtures("small_pages")
def test_a_downloads_merge_bases_are_the_same_made_apart_or_not(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two new workstations download the same clinic, some of whose patients are at their
    second and third versions: one with the merge bases the fetching thread wrote, one with
    none written apart (the pull's thread makes them all). Every merge base is the same,
    text for text, and each is of the version held (a later edit merges against it)."""
    a, clinic_id, drafts = clinic
    desk = _actor(a, "paul")
    edited = list(drafts)[:4]
    for round_ in range(2):  # versions 2 and 3 of four patients, each synced
        for pid in edited:
            a.patients.update_patient(  # type: ignore[attr-defined]
                desk, patient_id=pid, draft=replace(drafts[pid], city=f"Town {round_}"))
        assert a.sync.run_sync().quarantined == 0  # type: ignore[attr-defined]

    def bases_of(ctx: AppContext) -> dict[tuple[str, str], tuple[int, str]]:
        with ctx.db.sessions()() as s:
            return {(r.resource_type, r.resource_id): (r.version, r.resource)
                    for r in s.scalars(select(SyncBase)) if r.resource_type != "Device"}

    apart = _new_workstation(a, clinic_id, tmp_path / "apart", sync_server)
    try:
        assert apart.sync.run_sync().new_conflicts == 0  # type: ignore[attr-defined]
        made_apart = bases_of(apart)
    finally:
        apart.close()
    real_of = page_apply.MadeApart.of
    monkeypatch.setattr(page_apply.MadeApart, "of", classmethod(
        lambda cls, changes, rmap: cls(real_of(changes, rmap).records, {})))
    here = _new_workstation(a, clinic_id, tmp_path / "here", sync_server)
    try:
        assert here.sync.run_sync().new_conflicts == 0  # type: ignore[attr-defined]
        made_here = bases_of(here)
        with here.db.sessions()() as s:
            held = {p.id: p.server_version for p in s.scalars(select(Patient))}
    finally:
        here.close()
    assert made_apart == made_here
    assert {pid: made_here[("Patient", pid)][0] for pid in edited} == {pid: 3 for pid in edited}
    assert all(made_here[("Patient", pid)][0] == v for pid, v in held.items())
    assert all(json.loads(made_here[("Patient", pid)][1])["address"][0]["city"] == "Town 1"
               for pid in edited)


@pytest.mark.usefixtures("small_pages")
def test_a_downloads_log_is_copied_apart_and_starts_again(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a new workstation downloads the clinic, the store's log is copied into it on a
    thread and a connection of their own after each transaction (the pull's commits do no
    checkpoint of their own), and it starts again from its beginning every few transactions,
    so it stays short; everything arrives, and the connection goes with the pull."""
    a, clinic_id, drafts = clinic
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    monkeypatch.setattr(sync_engine, "PULL_DOWNLOAD_TXN_SECONDS", 0.0)  # a page a transaction
    monkeypatch.setattr(sync_engine, "PULL_FIRST_PAGE", 3)  # pages of 3: several transactions
    monkeypatch.setattr(sync_engine, "PULL_PAGE", 3)
    monkeypatch.setattr(store_engine.LogCheckpoints, "RESTART_EVERY", 2)
    runs: list[tuple[str, Any]] = []
    real = store_engine.LogCheckpoints._checkpoint

    def checkpoint(self: store_engine.LogCheckpoints) -> Any:
        time.sleep(0.2)  # a slow disk: the pull's next transaction begins meanwhile
        done = real(self)
        runs.append((threading.current_thread().name, done))
        return done

    monkeypatch.setattr(store_engine.LogCheckpoints, "_checkpoint", checkpoint)
    automatic = _watch(monkeypatch, "_apply_page", lambda s, *_: s.connection().exec_driver_sql(
        "PRAGMA wal_autocheckpoint").scalar())
    try:
        pulled = b.sync.run_sync().pulled  # type: ignore[attr-defined]
        assert pulled >= len(drafts) and len(automatic) >= 6
        assert automatic == [0] * len(automatic)
        assert len(runs) == len(automatic)
        assert all(name.startswith("store-checkpoint") for name, _ in runs)
        logs = [done[1] for _, done in runs]
        assert all(done is not None and done[0] == 0 and done[1] == done[2] for _, done in runs)
        assert any(later < before for before, later in zip(logs, logs[1:], strict=False)), \
            f"the log never started again: {logs}"
        with b.db.sessions()() as s:
            assert {p.id for p in s.scalars(select(Patient))} >= set(drafts)
            assert verify_database(s).intact
    finally:
        b.close()
    assert not (tmp_path / "bravo" / "clinic.db-wal").exists()  # no connection left open


@pytest.mark.usefixtures("small_pages")
def test_a_downloads_new_records_kept_at_once_are_those_of_the_longer_way(
        clinic: tuple[AppContext, str, dict[str, PatientDraft]], tmp_path: Path,
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two new workstations download the same clinic: one keeps the records no earlier change
    brought at once (``PageApplier._new_at_once``), the other takes every record the longer
    way. Their records, merge bases and pages' access-log entries are the same."""
    a, clinic_id, _ = clinic
    short: list[bool] = []
    real = page_apply.PageApplier._new_at_once

    def new_at_once(self: Any, *args: Any) -> bool:
        short.append(real(self, *args))
        return short[-1]

    def held(ctx: AppContext) -> dict[str, list[Any]]:
        """Every record (but the workstations': each holds its own, and the second pulls the
        first's) and merge base."""
        with ctx.db.sessions()() as s:
            out = {t: sorted(tuple(r) for r in s.connection().exec_driver_sql(
                f"SELECT * FROM {t}")) for t in SYNCABLE_TABLES  # noqa: S608 - known names
                if t != "workstation"}
            out["sync_base"] = sorted(tuple(r) for r in s.execute(select(
                SyncBase.resource_type, SyncBase.resource_id, SyncBase.version,
                SyncBase.resource).where(SyncBase.resource_type != "Device")))
        return out

    def clinical(named: dict[str, int]) -> dict[str, int]:
        return {ref: v for ref, v in named.items() if not ref.startswith("Device/")}

    monkeypatch.setattr(page_apply.PageApplier, "_new_at_once", new_at_once)
    b = _new_workstation(a, clinic_id, tmp_path / "bravo", sync_server)
    try:
        assert b.sync.run_sync().pulled >= 20  # type: ignore[attr-defined]
        kept, named = held(b), _named_once(b)
    finally:
        b.close()
    assert short.count(True) >= 10
    monkeypatch.setattr(page_apply.PageApplier, "_new_at_once", lambda *_: False)
    c = _new_workstation(a, clinic_id, tmp_path / "charlie", sync_server)
    try:
        assert c.sync.run_sync().pulled >= 20  # type: ignore[attr-defined]
        assert held(c) == kept and clinical(_named_once(c)) == clinical(named)
    finally:
        c.close()
