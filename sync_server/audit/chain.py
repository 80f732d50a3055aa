"""The hash chain shared by workstation logs and the server's own access log.

An entry is a JSON object with ``seq`` (1, 2, 3 ...), ``prev_hash`` (the previous entry's hash;
64 zeros before the first) and any other fields. Its ``hash`` is the SHA-256 hex digest of the
UTF-8 bytes of ``json.dumps(entry_without_hash, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` -- ``prev_hash`` and ``seq`` included, ``hash`` left out.
Pure functions: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

GENESIS_HASH = "0" * 64
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict[str, Any]) -> str:
    fields = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def link_problem(entries: list[dict[str, Any]], *, start_seq: int = 1,
                 start_prev: str = GENESIS_HASH) -> str | None:
    """The first break in a stored chain that should begin at ``start_seq``, or None."""
    expected_seq, expected_prev = start_seq, start_prev
    for entry in entries:
        seq = entry.get("seq")
        if seq != expected_seq:
            return f"seq {expected_seq}: missing (found seq {seq})"
        if entry.get("prev_hash") != expected_prev:
            return f"seq {seq}: prev_hash does not match the entry before (fork or reorder)"
        if entry.get("hash") != entry_hash(entry):
            return f"seq {seq}: hash does not match the entry's content (edited entry)"
        expected_seq, expected_prev = expected_seq + 1, str(entry["hash"])
    return None
