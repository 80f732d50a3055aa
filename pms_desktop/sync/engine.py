"""The sync engine: push the outbox, pull the clinic's changes, ship the access log, check drift.

One ``run()`` is one sync. Every step commits its own small transactions, so a crash or a lost
connection at any point loses nothing: a change's exact body is recorded before it is sent and
resent verbatim under the same change id; a pulled page and its cursor commit together. Nothing
here knows Qt; the service and the background controller call it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn, cast

import orjson
from sqlalchemy import Row, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..domain.enums import OutboxStatus
from ..domain.errors import NotFound, PmsError, StoreError, UserError, ValidationError
from ..domain.ids import new_id
from ..store import search_index
from ..store.audit_log import entry_dict
from ..store.engine import RELAXED, LogCheckpoints, bulk_writing, sync_relaxed
from ..store.models import AuditEntry, OutboxChange, SyncBase, SyncConflict
from . import finite_numbers
from . import sync_state as st
from .collect_less import collecting_less
from .digest import DigestRepair
from .merge import FieldConflict
from .merge_cycles import settle_rings
from .page_apply import FreshTables, MadeApart, PageApplier
from .remote_apply import RemoteApplier
from .resources import FallbackMap, ResourceMap
from .transport import SyncClient, SyncRefused

Json = dict[str, Any]
Progress = Callable[[str, int, int], None]  # (phase, done, total)
# What the fetching thread made of a page a new workstation downloads (``_fetch``).
Records = MadeApart | None
PUSH_BATCH = 1000  # changes per push: the protocol's most
PUSH_BYTES = 4 << 20  # and about this much JSON at most (the server takes up to 8 MiB)
PUSH_AHEAD_FROM = 200  # a batch this big is sent from a thread while the next is recorded
# A batch's answers are recorded this many to a transaction: 1,000 held the store's one
# connection (a person's save waits for it) ~1.5 s on a loaded 2-core machine.
ACK_CHUNK = 250
PULL_PAGE = 1000  # the most asked for at once (the server's most)
# A pulled page is applied in one transaction on the store's one connection, so every other
# database call of the workstation (the person's) waits for it: pages are sized from the last
# one's speed to take about PULL_TXN_SECONDS, starting small (a first sync of a slow machine).
# A page costs ~8 ms of client CPU (and as much of the server's) besides ~0.2 ms a resource:
# a first page of 20 was 60 % fixed cost; 100 take ~30 ms, the bar moves at once.
PULL_TXN_SECONDS = 0.25
PULL_FIRST_PAGE, PULL_MIN_PAGE = 100, 10
PULL_OPTIMIZE_AFTER = 5000  # pulled records after which the search index is optimized
# A new workstation downloading the clinic applies pages in transactions of about this long
# (``_pull_pages``): its first sync's progress window is in front; a save waits for one at most.
PULL_DOWNLOAD_TXN_SECONDS = 2.0
PULL_DOWNLOAD_WAIT_SECONDS = 0.05  # a next page not here by then: the transaction commits first
AUDIT_BATCH = 500
# An upload's entries stop at about this much detail text (a pulled page's entry names its
# records: ~60 bytes each), well inside the server's body limit (8 MiB by default).
AUDIT_UPLOAD_BYTES = 2 * 1024 * 1024
# The database failing (a full disk, a lost lock) stops the sync; anything else raised while a
# change's body is built is that change's fault and sets it aside.
_THE_DATABASE = (SQLAlchemyError, StoreError)
log = logging.getLogger(__name__)
_OUTBOX = cast(Table, OutboxChange.__table__)
# What a push reads of an outbox change (columns: an ORM object only where one is changed alone)
_CHANGE_COLUMNS = tuple(_OUTBOX.c[name] for name in (
    "seq", "change_id", "resource_type", "table_name", "resource_id", "op", "base_version",
    "sent_body"))


@dataclass
class _Batch:
    bodies: list[str] = field(default_factory=list)  # recorded, in outbox order
    last_seq: int = 0
    records: Any = field(default_factory=set)  # ids of the records its changes change


@dataclass
class _Answered:
    """The outbox changes some answers of a push are about, and what handling them needs."""

    changes: dict[str, OutboxChange]  # by change id
    later: dict[tuple[str, str], list[OutboxChange]]  # pending changes of their records
    rows: list[Any]  # their records, held: the session's identity map keeps them only weakly


@dataclass
class _PullState:
    """What one pull carries from page to page."""

    merged: set[str] | None = None  # merged-away patients (``None``: read again)
    fresh: FreshTables | None = None  # tables empty when a pull from the feed's start began
    checkpoints: LogCheckpoints | None = None  # while downloading (``_pull_pages``)


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    quarantined: int = 0
    audit_shipped: int = 0
    repaired: int = 0
    digest_ok: bool | None = None
    problems: list[str] = field(default_factory=list)


class SyncEngine:
    def __init__(self, sessions: sessionmaker[Session], client: SyncClient, workstation_id: str,
                 *, rmap: ResourceMap | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 progress: Progress | None = None) -> None:
        self.sessions, self.client, self.ws = sessions, client, workstation_id
        self.rmap = rmap or FallbackMap()
        self.now, self.progress = clock, progress or (lambda *_: None)
        self._sending: tuple[_Batch, Future[list[Json]]] | None = None  # sent, not handled
        self._sender: ThreadPoolExecutor | None = None

    @collecting_less
    def run(self) -> SyncReport:
        report = SyncReport()
        # Every pending change goes in this sync, and a change queued after a conflict was
        # merged goes too: a few rounds more than the batches (bounded: merges cannot loop).
        with self.sessions() as s:
            pending = s.scalar(select(func.count()).select_from(OutboxChange).where(
                OutboxChange.status == OutboxStatus.PENDING)) or 0
        try:
            for _ in range(5 + -(-pending // PUSH_BATCH)):
                if not self.push(report, ahead=True):
                    break
            self.finish_push(report)
        finally:
            if self._sender is not None:
                self._sender.shutdown(wait=True)  # an answer in flight after an error
                self._sender = None
        # The access log written since the last sync (that sync's own entries, at least) is
        # uploaded while the pull runs: one round trip less for a sync with nothing to do.
        # The pull's own entries follow once it is done (a second upload, only if there are).
        shipping = ThreadPoolExecutor(1, thread_name_prefix="sync-audit")
        aside = shipping.submit(self.ship_audit, report)
        try:
            self.pull(report)
        finally:
            shipping.shutdown(wait=True)
        refused = None
        try:
            aside.result()
            if self._audit_behind():
                self.ship_audit(report)
        except AuditLogRefused as e:  # the records synced: said once the rest is done
            refused = e
        DigestRepair(self).check(report)
        with self.sessions() as s, s.begin():
            st.put(s, st.LAST_SYNC, self.now().isoformat())
            st.put(s, st.LAST_ERROR, None)
        if refused is not None:
            raise refused
        return report

    # -- push --------------------------------------------------------------------------------

    def push(self, report: SyncReport, *, ahead: bool = False) -> int:
        """Push one batch and handle its answers; 0 when nothing is pending. ``ahead``: a big
        batch's successor is read and recorded while the server works on it, and sent before
        its answers are handled (the two never change the same record), so the workstation
        and the server work at the same time; ``finish_push`` handles a batch still on its
        way."""
        if self._sending is None:
            batch = self._prepare_batch(report)
            if not batch.bodies:
                return 0
            self._sending = (batch, self._send(batch))
        batch, sending = self._sending
        following = None
        if ahead and len(batch.bodies) >= PUSH_AHEAD_FROM:
            try:
                following = self._prepare_batch(report, after=batch.last_seq,
                                                busy=batch.records)
            finally:
                results = sending.result()
        else:
            results = sending.result()
        self._sending = (following, self._send(following)) if following and \
            following.bodies else None
        for start in range(0, len(results), ACK_CHUNK):
            self._record_answers(results[start:start + ACK_CHUNK], report)
        report.pushed += sum(1 for r in results if r.get("status") == "applied")
        self.progress("push", report.pushed, report.pushed)
        return len(results)

    def _record_answers(self, results: list[Json], report: SyncReport) -> None:
        """Some of a batch's answers, recorded in one short transaction (the write lock is
        held briefly, and a crash loses at most these: the rest are resent under the same
        change ids and answered as the first time). A change applied whose record no other
        answer here is about (nearly all) is recorded with a few statements for all of them
        (``_applied_together``); the rest change by change, as ORM objects."""
        with self.sessions() as s, s.begin():
            changes = self._answered_changes(s, results)
            records = Counter((c.table_name, c.resource_id) for c in changes.values())
            together: list[tuple[Row[Any], int]] = []
            one_by_one: list[Json] = []
            for result in results:
                change = changes.pop(str(result.get("change_id")), None)
                if change is None:
                    continue  # not (or no longer) pending here, or answered twice: before
                if result.get("status") == "applied" and \
                        records[change.table_name, change.resource_id] == 1:
                    together.append((change, int(result["version"])))
                else:
                    one_by_one.append(result)
            if one_by_one:
                applier = RemoteApplier(s, self.rmap, self.ws, self.now)
                answered = self._load_answered(s, one_by_one)
                for result in one_by_one:
                    self._handle_result(s, applier, answered, result, report)
                report.conflicts += applier.new_conflicts
            self._applied_together(s, together)

    def _answered_changes(self, s: Session, results: list[Json]) -> dict[str, Row[Any]]:
        """The pending outbox changes some answers are about, by change id (columns)."""
        ids = [str(r.get("change_id")) for r in results]
        out: dict[str, Row[Any]] = {}
        for start in range(0, len(ids), 500):
            out.update((c.change_id, c) for c in s.execute(select(*_CHANGE_COLUMNS).where(
                _OUTBOX.c.change_id.in_(ids[start:start + 500]),
                _OUTBOX.c.status == OutboxStatus.PENDING)))
        return out

    def _applied_together(self, s: Session, applied: list[tuple[Row[Any], int]]) -> None:
        """What ``_applied`` records, for many changes whose records no other change of these
        answers is about, as a few executemany statements: the changes sent, the versions
        agreed on as merge bases, the records' server versions, and the base version of
        their records' later pending changes."""
        if not applied:
            return
        db = s.connection()
        db.execute(update(_OUTBOX).where(_OUTBOX.c.seq == bindparam("b_seq")).values(
            status=OutboxStatus.SENT.value, last_error=None),
            [{"b_seq": c.seq} for c, _ in applied])
        by_table: dict[str, list[tuple[Row[Any], int]]] = {}
        for c, version in applied:
            by_table.setdefault(c.table_name, []).append((c, version))
        later: list[dict[str, Any]] = []
        for table, some in by_table.items():
            rows = self.rmap.model(table).__table__
            db.execute(update(rows).where(rows.c.id == bindparam("b_id")).values(
                server_version=bindparam("b_version")),
                [{"b_id": c.resource_id, "b_version": v} for c, v in some])
            versions = {c.resource_id: (c.seq, v) for c, v in some}
            ids = list(versions)
            for start in range(0, len(ids), 500):
                for seq, rid in db.execute(select(_OUTBOX.c.seq, _OUTBOX.c.resource_id).where(
                        _OUTBOX.c.table_name == table, _OUTBOX.c.resource_id.in_(
                            ids[start:start + 500]), _OUTBOX.c.status == OutboxStatus.PENDING)):
                    if seq > versions[rid][0]:
                        later.append({"b_seq": seq, "b_version": versions[rid][1]})
        if later:
            db.execute(update(_OUTBOX).where(_OUTBOX.c.seq == bindparam("b_seq")).values(
                base_version=bindparam("b_version")), later)
        self._bases_together(s, [(c.resource_type, c.resource_id, v, _sent_resource(
            c.sent_body, v) or {"deleted": True}) for c, v in applied])

    @staticmethod
    def _bases_together(s: Session, bases: list[tuple[str, str, int, Json]]) -> None:
        """Merge bases set for records none of which another base here is about: the
        existing ones updated, the others added."""
        table = cast(Table, SyncBase.__table__)
        held: set[tuple[str, str]] = set()
        by_type: dict[str, list[str]] = {}
        for rtype, rid, _, _ in bases:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, rids in by_type.items():
            for start in range(0, len(rids), 500):
                held.update((rtype, rid) for rid in s.scalars(select(table.c.resource_id).where(
                    table.c.resource_type == rtype, table.c.resource_id.in_(
                        rids[start:start + 500]))))
        known = [b for b in bases if (b[0], b[1]) in held]
        if known:
            s.connection().execute(update(table).where(
                table.c.resource_type == bindparam("b_type"),
                table.c.resource_id == bindparam("b_id")).values(
                version=bindparam("b_version"), resource=bindparam("b_resource")),
                [{"b_type": t, "b_id": i, "b_version": v, "b_resource": st.base_text(r)}
                 for t, i, v, r in known])
        st.add_bases(s, [b for b in bases if (b[0], b[1]) not in held])

    def finish_push(self, report: SyncReport) -> None:
        """Handle the answers of a batch still on its way (sending nothing more)."""
        while self._sending is not None:
            self.push(report)

    def _send(self, batch: _Batch) -> Future[list[Json]]:
        if len(batch.bodies) < PUSH_AHEAD_FROM:  # a small batch: sent from this thread
            done: Future[list[Json]] = Future()
            try:
                done.set_result(self.client.push(batch.bodies))
            except BaseException as e:  # noqa: BLE001 - raised where its answer is read
                done.set_exception(e)
            return done
        if self._sender is None:
            self._sender = ThreadPoolExecutor(1, thread_name_prefix="sync-push")
        return self._sender.submit(self.client.push, batch.bodies)  # sent as recorded

    def _prepare_batch(self, report: SyncReport, after: int = 0,
                       busy: frozenset[str] = frozenset()) -> _Batch:
        """Record each change's exact body before it leaves (resent verbatim after a crash).
        The records of a batch are read together, a few queries per table. ``after`` and
        ``busy``: the batch on its way (its changes, and the records they change: a later
        change of one waits for its answer, which sets its base version)."""
        with self.sessions() as s, s.begin():
            query = select(*_CHANGE_COLUMNS).where(
                _OUTBOX.c.status == OutboxStatus.PENDING,
                _OUTBOX.c.table_name.in_(self.rmap.tables), _OUTBOX.c.seq > after)
            if busy:
                query = query.where(_OUTBOX.c.resource_id.not_in(busy))
            changes = s.execute(query.order_by(_OUTBOX.c.seq).limit(PUSH_BATCH)).all()
            wanted: dict[str, list[str]] = {}
            for change in changes:
                if change.sent_body is None and change.op != "delete":
                    wanted.setdefault(change.table_name, []).append(change.resource_id)
            resources = {table: self._resources(s, table, ids) for table, ids in wanted.items()}
            batch = _Batch()
            sending: list[dict[str, Any]] = []
            size = 0
            for change in changes:
                body = change.sent_body
                if body is None:
                    try:
                        body = self._body(change, resources)
                    except _THE_DATABASE:
                        raise
                    except Exception as e:  # noqa: BLE001 - this change's, not the sync's
                        self._unsendable(s, s.get_one(OutboxChange, change.seq), e)
                        report.quarantined += 1
                        continue
                size += len(body)
                if batch.bodies and size > PUSH_BYTES:
                    break  # the rest go in the next push, their recorded bodies unchanged
                sending.append({"b_seq": change.seq, "b_body": body})
                batch.bodies.append(body)
                batch.last_seq = change.seq
                batch.records.add(change.resource_id)
            if sending:  # a recorded body is never changed
                s.connection().execute(update(_OUTBOX).where(
                    _OUTBOX.c.seq == bindparam("b_seq")).values(
                    attempts=_OUTBOX.c.attempts + 1,
                    sent_body=func.coalesce(_OUTBOX.c.sent_body, bindparam("b_body"))), sending)
        batch.records = frozenset(batch.records)
        return batch

    def _resources(self, s: Session, table: str, ids: list[str]
                   ) -> dict[str, Json | Exception]:
        """The records' resources, read together; when one cannot be built (its mapper
        raises), each is built alone and a failure stands in for its resource, so the others
        still go."""
        try:
            return dict(self.rmap.resources_for(s, table, ids))
        except _THE_DATABASE:
            raise
        except Exception:  # noqa: BLE001 - found record by record below
            out: dict[str, Json | Exception] = {}
            for rid in ids:
                try:
                    out.update(self.rmap.resources_for(s, table, [rid]))
                except _THE_DATABASE:
                    raise
                except Exception as e:  # noqa: BLE001 - this record's
                    out[rid] = e
            return out

    def _unsendable(self, s: Session, change: OutboxChange, error: Exception) -> None:
        """A change whose body cannot be built stays here, out of the way of the changes
        behind it, and waits as a conflict a person sees (like one the server refuses)."""
        if isinstance(error, PmsError):
            reason = str(error)
        else:  # a fault of this version: its message may hold patient data, its kind not
            log.error("sync: a %s record could not be made into FHIR (%s)", change.table_name,
                      type(error).__name__)
            reason = ("This version of the application could not put the record into the "
                      f"form the sync server takes ({type(error).__name__}).")
        change.status, change.last_error = OutboxStatus.QUARANTINED, reason[:500]
        s.add(SyncConflict(kind="unsendable", resource_type=change.resource_type,
                           resource_id=change.resource_id, field=None, detail=reason,
                           local_value=None, created_at=self.now()))

    def _body(self, change: Row[Any], resources: dict[str, dict[str, Json | Exception]]
              ) -> str:
        resource = None
        if change.op != "delete":
            found = resources.get(change.table_name, {}).get(change.resource_id)
            if isinstance(found, Exception):
                raise found
            if found is None:
                raise NotFound(f"The {change.resource_type} record is no longer on this "
                               "workstation.")
            resource = found
            resource.pop("meta", None)
        body = {"change_id": change.change_id, "resource_type": change.resource_type,
                "resource_id": change.resource_id, "op": change.op,
                "base_version": None if change.base_version is None else str(change.base_version),
                "resource": resource}
        return canonical_json(body)

    def _load_answered(self, s: Session, results: list[Json]) -> _Answered:
        """The outbox changes a push answered, with what handling them needs (their records,
        merge bases and later pending changes), read in a few queries for the whole batch."""
        ids = [str(r.get("change_id")) for r in results]
        batch: dict[str, OutboxChange] = {}
        for start in range(0, len(ids), 500):
            batch.update((c.change_id, c) for c in s.scalars(select(OutboxChange).where(
                OutboxChange.change_id.in_(ids[start:start + 500]))))
        by_table: dict[str, list[str]] = {}
        for c in batch.values():
            by_table.setdefault(c.table_name, []).append(c.resource_id)
        answered = _Answered(batch, {}, [])
        for table, rids in by_table.items():
            model = self.rmap.model(table)
            for start in range(0, len(rids), 500):
                chunk = rids[start:start + 500]
                answered.rows += s.scalars(select(model).where(model.id.in_(chunk))).all()
                for later in s.scalars(select(OutboxChange).where(
                        OutboxChange.table_name == table, OutboxChange.resource_id.in_(chunk),
                        OutboxChange.status == OutboxStatus.PENDING)):
                    answered.later.setdefault((table, later.resource_id), []).append(later)
        st.load_bases(s, ((c.resource_type, c.resource_id) for c in batch.values()))
        return answered

    def _handle_result(self, s: Session, applier: RemoteApplier, answered: _Answered,
                       result: Json, report: SyncReport) -> None:
        change = answered.changes.get(str(result.get("change_id")))
        if change is None or change.status != OutboxStatus.PENDING:
            return
        status = result.get("status")
        if status == "applied":
            self._applied(s, change, int(result["version"]), answered)
        elif status == "conflict":
            self._conflicted(s, applier, change, result)
        else:
            reason = _reason(result)
            change.status, change.last_error = OutboxStatus.QUARANTINED, reason
            s.add(SyncConflict(kind="rejected", resource_type=change.resource_type,
                               resource_id=change.resource_id, field=None, detail=reason,
                               local_value=change.sent_body, created_at=self.now()))
            report.quarantined += 1

    def _applied(self, s: Session, change: OutboxChange, version: int,
                 answered: _Answered) -> None:
        change.status, change.last_error = OutboxStatus.SENT, None
        st.set_base(s, change.resource_type, change.resource_id, version,
                    _sent_resource(change.sent_body, version))
        row = s.get(self.rmap.model(change.table_name), change.resource_id)
        if row is not None:
            row.server_version = version
        for later in answered.later.get((change.table_name, change.resource_id), ()):
            if later.status == OutboxStatus.PENDING and later.seq > change.seq:
                later.base_version = version

    def _conflicted(self, s: Session, applier: RemoteApplier, change: OutboxChange,
                    result: Json) -> None:
        change.status, change.last_error = OutboxStatus.SENT, "merged after a conflict"
        current = result.get("current")
        if current is None:  # the server does not know it (any more): send it as new
            self._requeue(s, change, None)
            return
        version_n = int(result["current_version"])
        if result.get("current_deleted"):
            local = self.rmap.resource_for(s, change.table_name, change.resource_id)
            applier.record_conflict(change.resource_type, change.resource_id, version_n,
                                    FieldConflict("(deleted elsewhere)", None, local, None),
                                    kind="deleted")
            return
        others = [c for c in applier.pending(change.table_name, change.resource_id)
                  if c.seq != change.seq]
        differs = applier.merge_into_local(change.table_name, change.resource_id, current,
                                           version_n, others)
        if change.table_name == "appointment":
            applier.check_double_booking(change.resource_id)
        if differs and not any(c.sent_body is None for c in others):
            self._requeue(s, change, version_n)

    def _requeue(self, s: Session, change: OutboxChange, base_version: int | None) -> None:
        row = s.get(self.rmap.model(change.table_name), change.resource_id)
        s.add(OutboxChange(change_id=new_id(), resource_type=change.resource_type,
                           table_name=change.table_name, resource_id=change.resource_id,
                           op=change.op, base_version=base_version,
                           local_revision=getattr(row, "local_revision", 1) or 1,
                           created_at=self.now(), status=OutboxStatus.PENDING))

    # -- pull --------------------------------------------------------------------------------

    def pull(self, report: SyncReport, total_hint: int | None = None) -> None:
        with self.sessions() as s:
            cursor = int(st.get(s, st.PULL_CURSOR, "0") or 0)
        # The next page is asked for while this one is applied (the server reads it as the
        # workstation writes): a page is only data until its own transaction applies it, with
        # its cursor, so a crash or a lost answer loses nothing. Its size follows the page
        # before (one page late).
        fetcher = ThreadPoolExecutor(1, thread_name_prefix="sync-pull")
        bulk: list[bool] = []  # a long pull's settings taken (``bulk_writing``)
        try:
            self._pull_pages(report, fetcher, cursor, total_hint, bulk)
        except BaseException:
            if bulk:  # put back if the store lets us; the pull's own error is what is said
                try:
                    self._usual_settings()
                except _THE_DATABASE:
                    log.warning("the store's usual settings could not be put back after a pull")
            raise
        else:
            if bulk:
                self._usual_settings()
        finally:
            fetcher.shutdown(wait=False, cancel_futures=True)  # after an error: dropped
        with self.sessions() as s, s.begin():  # a clash corrected since heals at this sync
            retrying = RemoteApplier(s, self.rmap, self.ws, self.now)
            report.pulled += retrying.after_pull()
            report.conflicts += retrying.new_conflicts
        if report.pulled or report.conflicts:
            with self.sessions() as s, s.begin():  # two workstations merged a pair both ways
                report.conflicts += settle_rings(s, self.rmap, self.ws, self.now)
        if report.pulled >= PULL_OPTIMIZE_AFTER:  # a first pull, say: the search index's
            with self.sessions() as s, s.begin():  # segments of every page merged into one
                search_index.optimize(s)

    def _usual_settings(self) -> None:
        with self.sessions() as s, s.begin():  # after a long pull: the page cache freed
            bulk_writing(s, False)

    def _pull_pages(self, report: SyncReport, fetcher: ThreadPoolExecutor, cursor: int,
                    total_hint: int | None, bulk: list[bool]) -> None:
        """The pages, each with its cursor in a transaction; a long pull takes ``bulk_writing``'s
        settings and says so in ``bulk`` (the caller puts the usual ones back).

        A new workstation downloading the clinic (a long pull from the feed's start into a
        store holding no patient: nobody has worked here yet) applies several pages in one
        transaction, of about ``PULL_DOWNLOAD_TXN_SECONDS``: every transaction writes each
        index page it touched once more (encrypted) to the log, and a pulled page's records
        touch the same index pages all over (random ids): pages of 1,000 wrote ~22x the
        store's size to disk. A page that fails takes its transaction's pages back and they
        are applied again one by one (the one that failed carefully). The transaction is never
        held open while the network is waited for: a next page not fetched yet ends it. The
        store's log is copied into it on a thread of its own meanwhile (``LogCheckpoints``)."""
        state = _PullState()
        try:
            self._pages(report, fetcher, cursor, total_hint, bulk, state)
        finally:
            if state.checkpoints is not None:
                state.checkpoints.close()

    def _pages(self, report: SyncReport, fetcher: ThreadPoolExecutor, cursor: int,
               total_hint: int | None, bulk: list[bool], state: _PullState) -> None:
        start, limit = cursor, min(PULL_FIRST_PAGE, PULL_PAGE)
        if cursor == 0:  # the feed from its start: a new workstation's tables are empty
            with self.sessions() as s:
                state.fresh = FreshTables.at_start(s, self.rmap)
        downloading = state.fresh is not None and "patient" in state.fresh.tables
        page, asked, records = self.client.pull(cursor, limit), limit, None
        total: int | None = None
        while True:
            if total is None:  # in sequence numbers: the server's latest one is the end
                total = max(total_hint or 0, int(page.get("latest_seq") or 0),
                            int(page["next_cursor"])) - start
                if total >= PULL_OPTIMIZE_AFTER:
                    bulk.append(True)
            began = time.monotonic()
            taken: list[tuple[Json, int, Records]] = []  # this transaction's pages, cursors...
            applied: list[tuple[RemoteApplier, int]] = []
            if state.checkpoints is not None:
                state.checkpoints.before_begin()
            try:
                with self.sessions() as s, s.begin():
                    self._page_settings(s, bulk)
                    together = downloading and bool(bulk)
                    if together:  # the log's checkpoints on a thread of their own
                        if state.checkpoints is None:
                            state.checkpoints = LogCheckpoints.open(s)
                        if state.checkpoints is not None:
                            LogCheckpoints.writing(s)
                    while True:
                        following = fetcher.submit(self._fetch, int(page["next_cursor"]),
                                                   limit, downloading) \
                            if page.get("more") else None
                        following_asked, page_began = limit, time.monotonic()
                        taken.append((page, cursor, records))
                        applied.append(self._apply_page(s, page, cursor, state, records))
                        cursor = int(page["next_cursor"])
                        st.put(s, st.PULL_CURSOR, str(cursor))
                        limit = _next_limit(asked, len(page["changes"]),
                                            time.monotonic() - page_began)
                        if following is None or not together or \
                                time.monotonic() - began >= PULL_DOWNLOAD_TXN_SECONDS:
                            break
                        # The bar moves with every page (a failed transaction's pages are
                        # applied again, up to the same point: it never goes back).
                        self.progress("pull", min(cursor - start, total), total)
                        try:  # never held open while the network is waited for
                            following.result(timeout=PULL_DOWNLOAD_WAIT_SECONDS)
                        except FutureTimeout:
                            break
                        (page, records), asked = following.result(), following_asked
                if state.checkpoints is not None:
                    state.checkpoints.committed()
            except (IntegrityError, ValidationError):
                # A change this workstation cannot hold: the transaction's pages again, one by
                # one, so that it waits as a conflict instead of stopping every later sync here.
                state.merged = None
                applied = [self._page_alone(p, c, state, bulk, r) for p, c, r in taken]
                cursor = int(taken[-1][0]["next_cursor"])
            _count(report, applied)
            # The end is kept for the whole pull: what arrives meanwhile (this sync's own access
            # log, uploaded while it pulls, takes sequence numbers too) is pulled as well, but a
            # bar whose end moves away as it fills would tell a person nothing.
            self.progress("pull", min(cursor - start, total) if following else total, total)
            if following is None:
                return
            (page, records), asked = following.result(), following_asked
            # The transaction's pages, with their records and appliers, are freed on the
            # fetching thread, while this one is in SQLite (freeing them was ~5 % of its time).
            # Their session is closed by then; nothing bound to a thread (a cursor, a Qt
            # object) may be held by an applier, or it would be freed there too.
            done = [taken, applied]
            del taken, applied
            fetcher.submit(done.clear)

    def _fetch(self, cursor: int, limit: int, premap: bool) -> tuple[Json, Records]:
        """The page from ``cursor`` (on the fetching thread). While a new workstation downloads
        the clinic, its new records' rows and its merge bases' text are made here too
        (``MadeApart``), while the pull's thread waits for the store: the page it applies
        meanwhile spends about half its time in SQLite, which lets other threads run Python."""
        page = self.client.pull(cursor, limit)
        return page, (MadeApart.of(page["changes"], self.rmap) if premap else None)

    @staticmethod
    def _page_settings(s: Session, bulk: list[bool]) -> None:
        # Committed without waiting for the disk (store.engine.RELAXED): a page lost to a
        # power cut is lost with its cursor, and pulled again.
        s.connection(execution_options={RELAXED: True})
        if bulk:
            bulk_writing(s, True)  # (again: the connection may be a new one)

    def _apply_page(self, s: Session, page: Json, cursor: int, state: _PullState,
                    records: Records = None) -> tuple[RemoteApplier, int]:
        """One pulled page, in the caller's transaction: its changes, conflicts settled, its
        access-log entry. Returns its applier and how many changes it applied."""
        search_index.pause(s)  # the page's patients are indexed once, at its end
        applier = PageApplier(s, self.rmap, self.ws, self.now)
        applier.merged_patients, applier.fresh = state.merged, state.fresh
        applier.made_apart = records
        applier.prefetch(page["changes"])
        pulled = 0
        for c in page["changes"]:
            if applier.apply(c["resource_type"], c["id"], int(c["version"]), c["op"],
                             c.get("resource")):
                pulled += 1
        applier.finish()
        state.merged = applier.merged_patients
        applier.settle()
        search_index.resume(s)
        applier.log_page(cursor, int(page["next_cursor"]), len(page["changes"]))
        return applier, pulled

    def _page_alone(self, page: Json, cursor: int, state: _PullState, bulk: list[bool],
                    records: Records = None) -> tuple[RemoteApplier, int]:
        """One page in a transaction of its own; carefully (change by change) if it fails."""
        try:
            with self.sessions() as s, s.begin():
                self._page_settings(s, bulk)
                done = self._apply_page(s, page, cursor, state, records)
                st.put(s, st.PULL_CURSOR, str(int(page["next_cursor"])))
            return done
        except (IntegrityError, ValidationError):
            state.merged = None
            return self._apply_page_carefully(page, cursor)

    def _apply_page_carefully(self, page: Json, cursor: int) -> tuple[RemoteApplier, int]:
        pulled = 0
        with self.sessions() as s, s.begin():
            applier = RemoteApplier(s, self.rmap, self.ws, self.now)
            applier.page_log = {}
            for c in page["changes"]:
                if applier.apply_guarded(c["resource_type"], c["id"], int(c["version"]),
                                         c["op"], c.get("resource")):
                    pulled += 1
            applier.settle()
            applier.log_page(cursor, int(page["next_cursor"]), len(page["changes"]))
            st.put(s, st.PULL_CURSOR, str(int(page["next_cursor"])))
        return applier, pulled

    # -- access log --------------------------------------------------------------------------

    def ship_audit(self, report: SyncReport) -> None:
        while True:
            with self.sessions() as s:
                head = int(st.get(s, st.AUDIT_HEAD, "0") or 0)
                # Entries committed without waiting for the disk (a read's, a pulled page's)
                # are made durable before the server acknowledges them: a power cut must not
                # leave this log shorter than what the server holds. After the transaction
                # began (it holds the write lock): nothing it reads is committed after the sync.
                sync_relaxed(s)
                # Every upload starts again at the acknowledged head (or at the log's last entry
                # if the log no longer reaches it): the server compares it with what it holds,
                # so a log cut back and rewritten is refused even when nothing new follows.
                anchor = s.scalars(select(AuditEntry).where(AuditEntry.seq <= head)
                                   .order_by(AuditEntry.seq.desc()).limit(1)).all() if head else []
                rows = s.scalars(select(AuditEntry).where(AuditEntry.seq > head)
                                 .order_by(AuditEntry.seq).limit(AUDIT_BATCH)).all()
                sent = _within_bytes(rows, AUDIT_UPLOAD_BYTES)
                last = len(rows) < AUDIT_BATCH and len(sent) == len(rows)
                entries = [entry_dict(r) for r in [*anchor, *sent]]
            if not entries:
                return
            try:
                answer = self.client.upload_audit(entries, last=last)
            except SyncRefused as e:
                if e.status != 409:
                    raise
                self._audit_refused(e)
            # Never past what was sent: after a re-anchor is allowed, the server answers an
            # upload that matches what it holds but stops short of its head with that upload.
            shipped = min(int((answer.get("head") or {}).get("seq") or entries[-1]["seq"]),
                          entries[-1]["seq"])
            with self.sessions() as s, s.begin():
                st.put(s, st.AUDIT_HEAD, str(shipped))
                st.put(s, st.AUDIT_REFUSED, None)
            report.audit_shipped += int(answer.get("accepted", 0))
            if last:
                return


    def _audit_behind(self) -> bool:
        """Entries written after the last one the server acknowledged."""
        with self.sessions() as s:
            head = int(st.get(s, st.AUDIT_HEAD, "0") or 0)
            return s.scalar(select(AuditEntry.seq).where(AuditEntry.seq > head).limit(1)) \
                is not None

    def _audit_refused(self, error: SyncRefused) -> NoReturn:
        with self.sessions() as s, s.begin():
            device = st.get(s, st.DEVICE_ID) or "(see Administration > Sync)"
            refused = AuditLogRefused(device, str(error))
            st.put(s, st.AUDIT_REFUSED, str(refused)[:1000])
        raise refused


class AuditLogRefused(UserError):
    """The server refuses the access log: it is shorter than what the server acknowledged (the
    workstation was restored from a backup, or the log was cut back). Records still sync; a
    central admin re-anchors the device, and the next sync goes on with the log."""

    def __init__(self, device_id: str, server_says: str) -> None:
        self.device_id = device_id
        super().__init__(
            "The sync server refused this workstation's access log: it is shorter than the log "
            "the server already holds (it was cut back: restored from a backup?). Patient "
            "records still sync, and nothing is lost here. Ask the central administrator to "
            f"run 'pms-sync-server admin device-re-anchor {device_id}'; the next sync then "
            f"continues the log. (The server said: {server_says})")


_DECIMAL_MARK = secrets.token_hex(12)  # unguessable: no text a person typed can hold it
_DECIMAL_TEXT = re.compile(f'"{_DECIMAL_MARK}([^"]*)"')


# dates and dataclasses are not JSON: raised (through ``exact``), as ``json`` does
_AS_JSON_TYPES = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | \
    orjson.OPT_PASSTHROUGH_DATACLASS


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; a ``Decimal`` (money, quantities) is written as a JSON
    number digit for digit, never through a float. Written by orjson (the same text as
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, several times
    faster), by ``json`` where orjson refuses (an integer beyond 64 bits, a key not text).
    A NaN or infinite number, float or Decimal, is refused (``NonFiniteNumber``, naming where):
    never written as ``null`` (orjson) or ``NaN`` (``json``), neither of which FHIR takes."""
    def exact(item: Any) -> str:
        if isinstance(item, Decimal):
            if item.is_finite():
                return _DECIMAL_MARK + format(item, "f")
            finite_numbers.check(value)  # raises, naming where
        raise TypeError(f"{type(item).__name__} cannot be written as JSON")

    try:
        text = orjson.dumps(value, default=exact, option=_AS_JSON_TYPES).decode()
    except TypeError:
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False, allow_nan=False, default=exact)
        except ValueError:  # a non-finite float
            finite_numbers.check(value)
            raise
    else:  # orjson wrote a non-finite float as null: FHIR has none of its own (finite_numbers)
        if text.count("null") > finite_numbers.top_nulls(value):
            finite_numbers.check(value)
    return _DECIMAL_TEXT.sub(r"\1", text) if _DECIMAL_MARK in text else text


def _sent_resource(body: str | None, version: int) -> Json | None:
    """The resource a recorded body sent, with ``version`` as its ``meta`` (as the merge base
    of that version); None for a deletion. Read by ``json``: orjson reads an integer beyond
    64 bits as a float, and looking for one first costs more than json's slower reading."""
    sent = json.loads(body or "{}")
    resource = sent.get("resource")
    if resource is not None:
        resource["meta"] = {"versionId": str(version)}
    return resource  # type: ignore[no-any-return]


def _reason(result: Json) -> str:
    issues = (result.get("outcome") or {}).get("issue") or [{}]
    text = issues[0].get("diagnostics") or (issues[0].get("details") or {}).get("text")
    return str(text or f"refused ({result.get('http_status')})")


def _within_bytes(rows: Sequence[AuditEntry], budget: int) -> Sequence[AuditEntry]:
    """The first of ``rows`` whose detail text fits in ``budget`` (always at least one)."""
    used = 0
    for n, row in enumerate(rows):
        used += len(row.detail or "")
        if used > budget and n:
            return rows[:n]
    return rows


def _count(report: SyncReport, applied: list[tuple[RemoteApplier, int]]) -> None:
    """What a transaction's pages applied, added to the report."""
    for applier, pulled in applied:
        report.pulled += pulled
        report.conflicts += applier.new_conflicts


def _next_limit(limit: int, applied: int, seconds: float) -> int:
    """The next page's size, for a transaction of about ``PULL_TXN_SECONDS`` (at most 4x more)."""
    if applied < limit or seconds <= 0:
        return limit  # a last page, or too quick to measure: nothing to learn
    wanted = int(limit * min(4.0, PULL_TXN_SECONDS / seconds))
    return max(min(PULL_MIN_PAGE, PULL_PAGE), min(PULL_PAGE, wanted))
