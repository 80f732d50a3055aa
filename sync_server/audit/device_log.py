"""Accept a workstation's audit upload: check the chain, keep it, and mirror it as AuditEvents.

Checks, in order, each naming the offending ``seq``: every entry's hash recomputed (an edited
entry: 422); entries consecutive and linked inside the upload (a gap or fork: 422); entries the
server already acknowledged must be identical (a log cut back and rewritten: 409); the upload
must reach the acknowledged head (a workstation always sends up to its last entry, so one that
ends short of the head comes from a log cut back: 409); the first new entry must follow the
acknowledged head (a gap or fork against the server: 409). A broken upload is refused whole.
Overlap with acknowledged entries is fine, so a retry after a lost answer works.

A workstation restored from a backup has a log shorter than what was acknowledged, so it is
refused as above until a central admin allows a re-anchor (``pms-sync-server admin
device-re-anchor``). The device's next refused upload then re-anchors: the server finds the
last entry both copies share (the fork; an upload that stops short of the acknowledged head
while matching says whether it reaches the log's end, ``"last": true``) and the log goes on
after it in a new *stream* of the device (``AuditReanchor``): entries and head stored under the
stream's id. Nothing received before changes; the server's own chain records the re-anchor.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from sync_server.audit import server_log
from sync_server.audit.audit_event import to_audit_event
from sync_server.audit.chain import GENESIS_HASH, HEX64, canonical, entry_hash
from sync_server.auth.principal import Principal
from sync_server.errors import BadRequest, Conflict, PayloadTooLarge, Unprocessable
from sync_server.fhir.search_params import audit_event_rows
from sync_server.store.clock import now_instant
from sync_server.store.db import Database
from sync_server.store.models import AuditEntry, AuditHead, AuditReanchor
from sync_server.store.resources import ResourceWriter, bulk_insert, core_table

GENESIS_SEQS = (0, 1)
_NAMESPACE = uuid.UUID("6f1d3f0e-7a53-4c8e-9a51-0b3c6e1f7d21")


Lineage = list[tuple[str, int]]  # a device's streams, oldest first: (id, seq it starts after)


def upload(db: Database, principal: Principal, body: Any, *, max_entries: int
           ) -> dict[str, Any]:
    entries = _entries(body, max_entries)
    _check_upload(entries)
    clinic_id, device_id = str(principal.clinic_id), principal.id
    with db.write() as session:
        # The clinic lock comes first, always; the AuditEvents are written at once (buffered).
        writer = ResourceWriter(session, clinic_id, buffered=True)
        lineage = streams(session, device_id)
        stream = lineage[-1][0]
        head = session.execute(select(AuditHead).where(AuditHead.device_id == stream)
                               .with_for_update()).scalar_one_or_none()
        reanchored = None
        try:
            fresh = _check_against_head(session, lineage, head, entries)
        except Conflict:
            allowed = session.execute(select(AuditReanchor).where(
                AuditReanchor.device_id == device_id, AuditReanchor.done_at.is_(None))
                .order_by(AuditReanchor.id).limit(1)).scalar_one_or_none()
            if allowed is None or head is None:
                raise
            fork = _fork(session, lineage, head, entries, bool(body.get("last")))
            if fork is None and entries[-1]["seq"] >= head.seq:
                raise  # not a log cut back: nothing to re-anchor
            if fork is None:  # all shared so far: the rest of the log comes next
                return {"accepted": 0, "head": {"seq": entries[-1]["seq"],
                                                "hash": entries[-1]["hash"]}}
            head = _reanchor(session, allowed, lineage, head, fork)
            reanchored = {"fork_seq": fork["seq"], "stream_id": head.device_id}
            lineage = [*lineage, (head.device_id, fork["seq"])]
            stream = head.device_id
            fresh = _check_against_head(session, lineage, head, entries)
        stamp = now_instant()
        texts = [canonical(entry) for entry in fresh]  # kept as it is, and in each event
        if fresh:
            bulk_insert(session, core_table(AuditEntry), [
                {"device_id": stream, "seq": entry["seq"], "clinic_id": clinic_id,
                 "hash": entry["hash"], "prev_hash": entry["prev_hash"],
                 "entry": text, "received_at": stamp} for entry, text in zip(fresh, texts,
                                                                             strict=True)])
        for entry, text in zip(fresh, texts, strict=True):
            event_id = str(uuid.uuid5(_NAMESPACE, f"{stream}:{entry['seq']}"))
            event = to_audit_event(entry, device_id, stamp, verbatim=text)
            writer.save("AuditEvent", event_id, event, None, index=audit_event_rows(event))
        writer.flush()
        if fresh:
            last = fresh[-1]
            if head is None:
                head = AuditHead(device_id=device_id, clinic_id=clinic_id, seq=0, hash="",
                                 updated_at=stamp)
                session.add(head)
            head.seq, head.hash, head.updated_at = last["seq"], last["hash"], stamp
        result: dict[str, Any] = {"accepted": len(fresh), "head": {
            "seq": head.seq, "hash": head.hash} if head else None}
        if reanchored:
            result["reanchored"] = reanchored
    return result


def streams(session: Any, device_id: str) -> Lineage:
    """The streams of a device's log, oldest first: the device's own id (from the genesis),
    then one per re-anchor done, starting after its fork."""
    done = session.execute(select(AuditReanchor.stream_id, AuditReanchor.fork_seq).where(
        AuditReanchor.device_id == device_id, AuditReanchor.done_at.is_not(None))
        .order_by(AuditReanchor.id)).all()
    return [(device_id, -1), *[(str(s), int(f)) for s, f in done]]


def _stored(session: Any, lineage: Lineage, low: int, high: int) -> dict[int, str]:
    """The hashes the server holds for seqs ``low..high`` of the device's log as it stands:
    each seq from the newest stream that holds it (a stream holds the seqs after its fork)."""
    out: dict[int, str] = {}
    upper = high
    for stream, after in reversed(lineage):
        start = max(low, after + 1)
        if start <= upper:
            out.update(session.execute(select(AuditEntry.seq, AuditEntry.hash).where(
                AuditEntry.device_id == stream,
                AuditEntry.seq.between(start, upper))).all())
        upper = min(upper, after)
        if upper < low:
            break
    return out


def _fork(session: Any, lineage: Lineage, head: AuditHead, entries: list[dict[str, Any]],
          reaches_end: bool) -> dict[str, Any] | None:
    """The last entry of the upload that the server holds as it is (where the restored log
    parts from it), or None when all match and more of the log follows."""
    held = _stored(session, lineage, entries[0]["seq"], min(entries[-1]["seq"], head.seq))
    if held.get(entries[0]["seq"]) != entries[0]["hash"]:
        seq = entries[0]["seq"]
        raise Conflict(f"seq {seq}: a re-anchor needs an upload that starts at an entry the "
                       "server holds", expression=f"seq {seq}")
    shared = entries[0]
    for entry in entries[1:]:
        if entry["seq"] > head.seq:
            return None  # every acknowledged entry is there: not cut back
        if held.get(entry["seq"]) != entry["hash"]:
            return shared
        shared = entry
    return shared if reaches_end and shared["seq"] < head.seq else None


def _reanchor(session: Any, allowed: AuditReanchor, lineage: Lineage, head: AuditHead,
              fork: dict[str, Any]) -> AuditHead:
    """Start the device's new stream after ``fork``; the old head and entries stay."""
    stamp = now_instant()
    stream = str(uuid.uuid5(_NAMESPACE, f"{allowed.device_id}:stream:{allowed.id}"))
    allowed.done_at, allowed.stream_id = stamp, stream
    allowed.fork_seq, allowed.fork_hash = fork["seq"], fork["hash"]
    new_head = AuditHead(device_id=stream, clinic_id=allowed.clinic_id, seq=fork["seq"],
                         hash=fork["hash"], updated_at=stamp)
    session.add(new_head)
    session.flush()
    server_log.append_in(session, {
        "at": stamp, "actor": f"device:{allowed.device_id}", "clinic_id": allowed.clinic_id,
        "interaction": "audit-re-anchored", "device_id": allowed.device_id,
        "reanchor_id": allowed.id, "stream_id": stream, "from_stream_id": lineage[-1][0],
        "fork": {"seq": fork["seq"], "hash": fork["hash"]},
        "old_head": {"seq": head.seq, "hash": head.hash}})
    return new_head


def _entries(body: Any, max_entries: int) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("entries"), list):
        raise BadRequest("the body must be an object with a list of entries",
                         expression="entries")
    entries: list[dict[str, Any]] = body["entries"]
    if not entries:
        raise BadRequest("no entries to upload")
    if len(entries) > max_entries:
        raise PayloadTooLarge(f"at most {max_entries} entries per upload")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BadRequest(f"entries[{index}] must be an object")
        seq = entry.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**62:
            raise BadRequest(f"entries[{index}].seq must be a non-negative integer")
        for key in ("hash", "prev_hash"):
            if not isinstance(entry.get(key), str) or not HEX64.match(entry[key]):
                raise BadRequest(f"entries[{index}] (seq {seq}): {key} must be 64 hex digits")
    return entries


def _check_upload(entries: list[dict[str, Any]]) -> None:
    previous: dict[str, Any] | None = None
    for entry in entries:
        seq = entry["seq"]
        if entry["hash"] != entry_hash(entry):
            raise Unprocessable(f"seq {seq}: hash does not match the entry's content "
                                "(edited entry)", expression=f"seq {seq}")
        if previous is not None:
            if seq != previous["seq"] + 1:
                raise Unprocessable(f"seq {seq}: gap or reorder after seq {previous['seq']}",
                                    expression=f"seq {seq}")
            if entry["prev_hash"] != previous["hash"]:
                raise Unprocessable(f"seq {seq}: prev_hash does not match seq "
                                    f"{previous['seq']} (fork)", expression=f"seq {seq}")
        previous = entry


def _check_against_head(session: Any, lineage: Lineage, head: AuditHead | None,
                        entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries not yet acknowledged, after checking the rest match what was."""
    known_seq = head.seq if head else -1
    if head is not None and entries[-1]["seq"] < head.seq:
        # A workstation's upload always reaches its log's last entry; one that stops short of
        # what was acknowledged comes from a log that has been cut back since.
        seq = entries[-1]["seq"]
        raise Conflict(f"seq {seq}: the log ends before the acknowledged seq {head.seq} (log cut "
                       "back)", expression=f"seq {seq}")
    old = [e for e in entries if e["seq"] <= known_seq]
    if old:
        stored = _stored(session, lineage, old[0]["seq"], old[-1]["seq"])
        for entry in old:
            if stored.get(entry["seq"]) != entry["hash"]:
                seq = entry["seq"]
                raise Conflict(f"seq {seq}: differs from the entry acknowledged before (log cut "
                               "back or rewritten)", expression=f"seq {seq}")
    fresh = [e for e in entries if e["seq"] > known_seq]
    if not fresh:
        return []
    first = fresh[0]
    if head is None:
        if first["seq"] not in GENESIS_SEQS or first["prev_hash"] != GENESIS_HASH:
            raise Conflict(f"seq {first['seq']}: the server holds nothing for this device; the "
                           "first upload starts at seq 1 with prev_hash of 64 zeros (gap)",
                           expression=f"seq {first['seq']}")
    elif first["seq"] != head.seq + 1:
        raise Conflict(f"seq {first['seq']}: gap after acknowledged seq {head.seq}",
                       expression=f"seq {first['seq']}")
    elif first["prev_hash"] != head.hash:
        raise Conflict(f"seq {first['seq']}: prev_hash does not match acknowledged seq "
                       f"{head.seq} (fork or rewritten log)", expression=f"seq {first['seq']}")
    return fresh
