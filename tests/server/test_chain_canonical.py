"""The chain's canonical text is the one docs/sync-protocol.md defines (``json.dumps`` with sorted
keys, compact separators, no ASCII escaping) whichever library writes it: a hash that differed
would refuse a workstation's honest log or accept an edited one."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync_server.audit.chain import canonical, entry_hash


def reference(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_every_code_point_in_keys_and_values_is_written_as_json_writes_it() -> None:
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 4096):
        chunk = points[start:start + 4096]
        fields = {f"k{c}": f"a{c}b\\\"{c}" for c in chunk}
        assert canonical(fields) == reference(fields), chunk[0]


def test_values_the_fast_writer_would_write_differently_go_through_json() -> None:
    for fields in ({"v": 1e-7}, {"v": 1e16}, {"v": 0.1, "w": [1.5]}, {"v": 2**70},
                   {"v": -(2**63) - 1}, {"v": {"deep": [{"x": 3.0}]}}, {"v": (1, "x")}):
        assert canonical(fields) == reference(fields)
    entry = {"seq": 1, "prev_hash": "0" * 64, "amount": 12.5, "huge": 2**80}
    text = reference(entry)
    assert entry_hash(entry) == hashlib.sha256(text.encode("utf-8")).hexdigest()


_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False), st.text(max_size=20))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), _values, max_size=8))
def test_generated_entries_are_written_and_hashed_as_json_does(fields: dict[str, Any]) -> None:
    assert canonical(fields) == reference(fields)
    assert entry_hash({**fields, "hash": "x"}) == hashlib.sha256(
        reference({k: v for k, v in fields.items() if k != "hash"}).encode("utf-8")).hexdigest()
