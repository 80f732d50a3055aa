"""The hash chain shared by workstation logs and the server's own access log.

An entry is a JSON object with ``seq`` (1, 2, 3 ...), ``prev_hash`` (the previous entry's hash;
64 zeros before the first) and any other fields. Its ``hash`` is the SHA-256 hex digest of the
UTF-8 bytes of ``json.dumps(entry_without_hash, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` -- ``prev_hash`` and ``seq`` included, ``hash`` left out.
Pure functions: no I/O.

That text is written by orjson (sorted keys) when the entry holds only strings, integers,
booleans, nulls, lists and objects: for those its bytes are the ``json`` module's, ~10x faster
(``tests/server/test_chain_canonical.py`` compares them on every code point and on generated
values). Floats (the two libraries write some differently), integers beyond 64 bits and
anything else go through ``json`` itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> bool:
    """Only values whose JSON text orjson writes exactly as ``json`` does."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item)):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _SCALARS and not _plain(item):
                return False
        return True
    return kind in _SCALARS


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    if _plain(fields):
        try:
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, deep nesting
            pass
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def canonical(fields: dict[str, Any]) -> str:
    return canonical_bytes(fields).decode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    fields = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


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
