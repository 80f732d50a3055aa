"""Check every chain the server keeps: each device's uploaded log and the server's own log.

Used by ``pms-sync-server admin audit verify``. Recomputes every hash from the stored canonical
entry, checks sequence continuity and links from the genesis, and checks each chain ends at the
head the server acknowledged. Reports the first problem of each chain. A device's log
re-anchored after a restore (``reanchor.py``) is checked stream by stream: a later stream starts
after its fork, linked to the fork entry, which an earlier stream of the device must hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sync_server.audit.chain import GENESIS_HASH, link_problem
from sync_server.store.db import Database
from sync_server.store.models import (
    AuditEntry,
    AuditHead,
    AuditReanchor,
    ServerAuditEntry,
    ServerAuditHead,
)


@dataclass(frozen=True)
class ChainReport:
    name: str
    entries: int
    problem: str | None


def _checked(stored: Iterator[tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
    """Entries as stored, with a column/JSON disagreement marked so the link check trips."""
    for raw, hash_column, prev_column in stored:
        entry = json.loads(raw)
        if entry.get("hash") != hash_column or entry.get("prev_hash") != prev_column:
            entry["hash"] = "column-mismatch"
        yield entry


def _chain(name: str, entries: list[dict[str, Any]], head: tuple[int, str] | None,
           fork: tuple[int, str] | None = None) -> ChainReport:
    if fork is not None:  # a re-anchored stream: after its fork, linked to it
        problem = link_problem(entries, start_seq=fork[0] + 1, start_prev=fork[1])
        end = (entries[-1]["seq"], entries[-1]["hash"]) if entries else fork
        if problem is None and head is not None and end != head:
            problem = f"seq {head[0]}: the acknowledged head is missing or differs (cut back)"
        return ChainReport(name, len(entries), problem)
    start = entries[0].get("seq", 1) if entries and entries[0].get("seq") in (0, 1) else 1
    problem = link_problem(entries, start_seq=start, start_prev=GENESIS_HASH)
    last = (entries[-1]["seq"], entries[-1]["hash"]) if entries else None
    if problem is None and head is not None and last != head and head[0] > 0:
        problem = f"seq {head[0]}: the acknowledged head is missing or differs (cut back)"
    return ChainReport(name, len(entries), problem)


def _held_before(session: Any, forks: dict[str, AuditReanchor], stream: AuditReanchor,
                 fork: tuple[int, str]) -> bool:
    """Whether an earlier stream of the device holds the fork entry (a second re-anchor may
    part from a log the first one started, or further back)."""
    earlier = [stream.device_id, *[s for s, r in forks.items()
                                   if r.device_id == stream.device_id and r.id < stream.id]]
    held = session.execute(select(AuditEntry.hash).where(
        AuditEntry.device_id.in_(earlier), AuditEntry.seq == fork[0])).scalars().all()
    return fork[1] in held


def verify_all(db: Database) -> list[ChainReport]:
    reports = []
    with db.read() as session:
        heads = {h.device_id: (h.seq, h.hash) for h in session.execute(select(AuditHead))
                 .scalars()}
        forks = {str(r.stream_id): r for r in session.execute(select(AuditReanchor).where(
            AuditReanchor.done_at.is_not(None))).scalars()}
        devices = sorted(set(heads) | set(session.execute(
            select(AuditEntry.device_id).distinct()).scalars()))
        for device_id in devices:
            rows = session.execute(select(AuditEntry.entry, AuditEntry.hash, AuditEntry.prev_hash)
                                   .where(AuditEntry.device_id == device_id)
                                   .order_by(AuditEntry.seq))
            again = forks.get(device_id)
            if again is None:
                reports.append(_chain(f"device {device_id}", list(_checked(iter(rows))),
                                      heads.get(device_id)))
                continue
            fork = (int(again.fork_seq or 0), str(again.fork_hash))
            report = _chain(f"device {again.device_id} after its re-anchor at seq {fork[0]} "
                            f"(stream {device_id})", list(_checked(iter(rows))),
                            heads.get(device_id), fork)
            if report.problem is None and not _held_before(session, forks, again, fork):
                report = ChainReport(report.name, report.entries,
                                     f"seq {fork[0]}: the re-anchor's fork entry is not held")
            reports.append(report)
        head = session.execute(select(ServerAuditHead.seq, ServerAuditHead.hash)
                               .where(ServerAuditHead.id == 1)).one_or_none()
        rows = session.execute(select(ServerAuditEntry.entry, ServerAuditEntry.hash,
                                      ServerAuditEntry.prev_hash)
                               .order_by(ServerAuditEntry.seq))
        reports.append(_chain("server access log", list(_checked(iter(rows))),
                              (int(head[0]), str(head[1])) if head else None))
    return reports
