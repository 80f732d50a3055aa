"""Exported access logs (JSON Lines) and the checks that go beyond the chain itself.

A file holds one entry a line (every field, ``hash`` and ``prev_hash`` included), then one
closing *anchor* line ``{"record": "anchor", ...}`` naming the entry count, the head hash and
the database's high-water mark at export time, sealed with an HMAC whose key stays in the
encrypted database. The chain catches an edited, removed or reordered entry; the anchor
catches a cut tail, also when new, correctly chained entries were appended after the cut.
Without the database (``audit verify --file`` alone) the seal cannot be checked and the
report says so; everything else is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from .chain import ChainReport, verify_chain

ANCHOR = "anchor"


def anchor_record(
    count: int, head: tuple[int, str] | None, high_water: tuple[int, str] | None,
    mac_key: bytes | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "record": ANCHOR,
        "count": count,
        "head_seq": head[0] if head else 0,
        "head_hash": head[1] if head else None,
        "high_water_seq": high_water[0] if high_water else None,
        "high_water_hash": high_water[1] if high_water else None,
    }
    if mac_key is not None:
        body["mac"] = _mac(mac_key, body)
    return body


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    fields = {k: v for k, v in body.items() if k != "mac"}
    data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def write_jsonl(entries: Iterable[Mapping[str, Any]], out: IO[str], *,
                high_water: tuple[int, str] | None, mac_key: bytes | None) -> int:
    count, head = 0, None
    for entry in entries:
        out.write(json.dumps(dict(entry), sort_keys=True, ensure_ascii=False) + "\n")
        count, head = count + 1, (int(entry["seq"]), str(entry["hash"]))
    out.write(json.dumps(anchor_record(count, head, high_water, mac_key), sort_keys=True) + "\n")
    return count


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int | None]:
    """Entries, the anchor (None if absent) and the line of anything after the anchor."""
    entries: list[dict[str, Any]] = []
    anchor: dict[str, Any] | None = None
    stray: int | None = None
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            if anchor is not None and stray is None:
                stray = lineno
            if data.get("record") == ANCHOR:
                anchor = anchor if anchor is not None else data
            else:
                entries.append(data)
    return entries, anchor, stray


def check_high_water(report: ChainReport, entries: Iterable[Mapping[str, Any]],
                     high_water: tuple[int, str] | None) -> ChainReport:
    """An intact chain must still contain the highest entry ever written, unchanged."""
    if not report.intact or high_water is None:
        return report
    seq, expected = high_water
    for entry in entries:
        if entry.get("seq") == seq:
            if entry.get("hash") == expected:
                return report
            return ChainReport(report.count, seq, "the log was cut back and rewritten from here: "
                               "this entry differs from the one first recorded with this number")
    return ChainReport(report.count, min(seq, report.count + 1),
                       f"the log ends before entry {seq}, which was written earlier (tail cut)")


def verify_file(path: Path, mac_key: bytes | None = None) -> tuple[ChainReport, bool]:
    """Check an exported file. Returns the report and whether the anchor's seal was checked."""
    try:
        entries, anchor, stray = read_jsonl(path)
    except (OSError, ValueError) as e:
        return ChainReport(0, 1,
                           f"the file cannot be read as JSON Lines ({type(e).__name__})"), False
    report = verify_chain(entries)
    if not report.intact:
        return report, False
    if anchor is None:
        return ChainReport(report.count, report.count + 1,
                           "the closing anchor line is missing (the file was cut)"), False
    if stray is not None:
        return ChainReport(report.count, report.count + 1,
                           f"entries were appended after the closing anchor (line {stray})"), False
    sealed = False
    if mac_key is not None:
        if not hmac.compare_digest(str(anchor.get("mac", "")), _mac(mac_key, anchor)):
            return ChainReport(report.count, report.count + 1,
                               "the closing anchor does not carry this clinic's seal"), True
        sealed = True
    head = (entries[-1]["seq"], entries[-1]["hash"]) if entries else (0, None)
    anchored = (anchor.get("head_seq"), anchor.get("head_hash"))
    if anchor.get("count") != report.count or anchored != head:
        first = _first_divergence(entries, anchor)
        return ChainReport(report.count, first,
                           f"the file was cut or extended: the anchor names {anchor.get('count')} "
                           f"entries ending at entry {anchor.get('head_seq')}"), sealed
    hw = anchor.get("high_water_seq")
    mark = (int(hw), str(anchor.get("high_water_hash"))) if hw is not None else None
    return check_high_water(report, entries, mark), sealed


def _first_divergence(entries: list[dict[str, Any]], anchor: Mapping[str, Any]) -> int:
    head_seq = int(anchor.get("head_seq") or 0)
    if len(entries) < head_seq:
        return len(entries) + 1
    if head_seq and entries[head_seq - 1].get("hash") != anchor.get("head_hash"):
        return head_seq
    return head_seq + 1
