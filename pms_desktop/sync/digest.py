"""After a sync: compare a cheap digest of what the workstation holds with the server's.

The server hashes the lines ``Type/id/version`` of every resource of the clinic, per type
(tombstones included). The workstation computes the same over the records it holds with a
server version, and the tombstones it knows. A type whose hash differs (drift from a bug or a
restored backup) is repaired: its id/version list is fetched and every record that differs is
re-read from the server and applied through the usual audited path (merging local edits).
Reading every record on both sides costs seconds on a large clinic, so the comparison is
skipped when the server's hash is the one last found equal and the sync moved nothing (for at
most ``RECHECK_AFTER``), and, while changes flow, when both were found equal less than
``RECHECK_MOVING`` ago; ``digest_ok`` then reports that last finding.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..store.models import SyncBase
from . import sync_state as st
from .remote_apply import RemoteApplier
from .resources import table_holding

if TYPE_CHECKING:
    from .engine import SyncEngine, SyncReport

MAX_REPAIRS = 5000
# A clinic whose digest matched and that nothing changed since is not compared record by
# record again before this long (a restored backup or a bug between syncs is found then, or
# at the clinic's next change, whichever comes first).
RECHECK_AFTER = timedelta(hours=6)
# While changes flow (a sync pushed or pulled), the records are compared at most this often.
RECHECK_MOVING = timedelta(minutes=10)


class DigestRepair:
    def __init__(self, engine: SyncEngine) -> None:
        self.e = engine

    def local(self) -> dict[str, dict[str, int]]:
        """{resource type: {id: version}} of what this workstation holds."""
        out: dict[str, dict[str, int]] = {}
        with self.e.sessions() as s:
            for table in self.e.rmap.tables:
                model = self.e.rmap.model(table)
                held = out.setdefault(model.__fhir_type__, {})
                for rid, version in s.execute(select(model.id, model.server_version)
                                              .where(model.server_version.is_not(None))):
                    held[rid] = int(version)
            for b in s.scalars(select(SyncBase).where(SyncBase.resource.like('{"deleted"%'))):
                if b.resource_type in out:
                    out[b.resource_type].setdefault(b.resource_id, b.version)
        return out

    def check(self, report: SyncReport) -> None:
        now = self.e.now()
        with self.e.sessions() as s:
            verified = json.loads(st.get(s, st.DIGEST_VERIFIED) or "{}")
        age = now - datetime.fromisoformat(verified["at"]) if verified else None
        moved = bool(report.pushed or report.pulled)
        if moved and age is not None and age < RECHECK_MOVING:
            # Changes are flowing and both sides were found equal moments ago: compare again
            # when this has gone on for a while (every record is read on both sides).
            report.digest_ok = True
            return
        server = self.e.client.digest()
        mark = str(server.get("hash"))  # not the seq: uploaded access logs move it too
        if not moved and verified.get("mark") == mark and age is not None and \
                age < RECHECK_AFTER:
            # Neither side moved since both were found equal (only a sync changes what the
            # digest covers here): the same answer, without reading every record again.
            report.digest_ok = True
            return
        local = self.local()
        differing = [t for t, held in local.items() if _hash(t, held) != _server_hash(server, t)]
        report.digest_ok = not differing
        for rtype in differing:
            report.repaired += self.repair(rtype, local[rtype], report)
        if differing:
            local = self.local()
            report.digest_ok = all(_hash(t, local[t]) == _server_hash(server, t)
                                   for t in differing)
        with self.e.sessions() as s, s.begin():
            st.put(s, st.DIGEST_VERIFIED, json.dumps({"mark": mark, "at": now.isoformat()})
                   if report.digest_ok and not differing else None)

    def repair(self, rtype: str, held: dict[str, int], report: SyncReport) -> int:
        remote: dict[str, tuple[int, bool]] = {}
        after: str | None = None
        while True:
            page = self.e.client.type_digest(rtype, after)
            for item in page["items"]:
                remote[item["id"]] = (int(item["version"]), bool(item["deleted"]))
            after = page.get("next_after")
            if not after:
                break
        todo = [(rid, v, d) for rid, (v, d) in remote.items() if held.get(rid) != v]
        repaired = 0
        for rid, version, deleted in todo[:MAX_REPAIRS]:
            resource = None if deleted else self.e.client.read(rtype, rid)
            with self.e.sessions() as s, s.begin():
                applier = RemoteApplier(s, self.e.rmap, self.e.ws, self.e.now)
                table = table_holding(s, self.e.rmap, rtype, rid)  # by id: types are shared
                row = s.get(self.e.rmap.model(table), rid) if table is not None else None
                if row is not None and (row.server_version or 0) > version:
                    row.server_version = version  # drift ahead of the server: realign
                if row is not None and row.server_version == version:
                    row.server_version = version - 1 if version > 1 else None
                op = "delete" if resource is None else "upsert"
                if applier.apply_guarded(rtype, rid, version, op, resource):
                    repaired += 1
                report.conflicts += applier.new_conflicts
        return repaired


def _hash(rtype: str, held: dict[str, int]) -> str:
    digest = hashlib.sha256()
    for rid in sorted(held):
        digest.update(f"{rtype}/{rid}/{held[rid]}\n".encode())
    return digest.hexdigest()


def _server_hash(server: dict[str, Any], rtype: str) -> str:
    return str((server.get("types", {}).get(rtype) or {}).get("hash", _hash(rtype, {})))
