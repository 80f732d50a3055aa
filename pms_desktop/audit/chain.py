"""Hash chain of access-log entries.

An entry's ``hash`` is the SHA-256 (hex) of the canonical JSON of all its other fields, its
``prev_hash`` included: ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8. The first entry's ``prev_hash`` is 64 zeros. The server
recomputes the same (docs/sync-protocol.md), so the two must never drift.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

FIELDS = (
    "seq", "id", "at", "workstation_id", "user_id", "username", "role", "action",
    "resource_type", "resource_id", "patient_id", "outcome", "break_glass", "reason", "detail",
    "prev_hash",
)


def canonical(entry: Mapping[str, Any]) -> bytes:
    fields = {k: entry.get(k) for k in FIELDS}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    count: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(entries: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk the entries in stored order; name the first that breaks the chain and why."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for entry in entries:
        seq = entry.get("seq")
        if seq != expected_seq:
            return ChainReport(count, seq if isinstance(seq, int) else expected_seq,
                               f"expected entry {expected_seq} here, found entry {seq}"
                               " (an entry was removed, reordered or inserted)")
        if entry.get("prev_hash") != prev_hash:
            return ChainReport(count, expected_seq,
                               "its previous-hash link does not match the entry before it")
        if entry_hash(entry) != entry.get("hash"):
            return ChainReport(count, expected_seq, "its content does not match its hash (edited)")
        prev_hash = str(entry["hash"])
        expected_seq += 1
        count += 1
    return ChainReport(count)
