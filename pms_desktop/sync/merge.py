"""Three-way merge of two FHIR resources, field by field, against their common base.

A *field* is a top-level element of the resource, except that ``extension`` is split per
extension URL (each of our extensions carries one local column). ``id``, ``resourceType`` and
``meta`` are bookkeeping, and the "who changed it last and when" extensions are not fields
a person edits: the merge takes the later of the two. Pure functions: no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
BOOKKEEPING = frozenset({"id", "resourceType", "meta"})
STAMP_SUFFIXES = ("updated-by", "record-updated", "sync-column-updated_by",
                  "sync-column-updated_at")
MISSING: Any = None  # an absent field and a null one mean the same to a person


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    local: Any
    remote: Any


@dataclass(frozen=True)
class MergeResult:
    merged: Json
    conflicts: tuple[FieldConflict, ...]
    remote_changed: tuple[str, ...]  # fields taken from the remote side


def fields_of(resource: Json | None, derived: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The mergeable fields: top-level elements, and one entry per extension URL."""
    out: dict[str, Any] = {}
    for key, value in (resource or {}).items():
        if key in BOOKKEEPING or key in derived:
            continue
        if key == "extension" and isinstance(value, list):
            for e in value:
                url = str(e.get("url", ""))
                if not url.endswith(STAMP_SUFFIXES):
                    out[f"extension:{url}"] = {k: v for k, v in e.items() if k != "url"}
        else:
            out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def three_way(base: Json | None, local: Json, remote: Json,
              derived: frozenset[str] = frozenset()) -> MergeResult:
    """Merge ``local`` and ``remote`` against ``base`` (None: no agreed version yet).

    A field changed on one side only takes that side's value; changed on both sides to the
    same value, that value; to different values, the local value stays and a conflict keeps
    both, for a person to choose.
    """
    b, lo, re_ = fields_of(base, derived), fields_of(local, derived), fields_of(remote, derived)
    merged = dict(lo)
    conflicts: list[FieldConflict] = []
    taken: list[str] = []
    for name in sorted(set(b) | set(lo) | set(re_)):
        bv, lv, rv = b.get(name, MISSING), lo.get(name, MISSING), re_.get(name, MISSING)
        if _same(lv, rv):
            continue
        local_changed = not _same(bv, lv) or base is None
        remote_changed = not _same(bv, rv) or base is None
        if remote_changed and not local_changed:
            taken.append(name)
            if rv is MISSING:
                merged.pop(name, None)
            else:
                merged[name] = rv
        elif remote_changed and local_changed:
            conflicts.append(FieldConflict(name, bv, lv, rv))
    return MergeResult(_rebuild(local, merged, remote, derived), tuple(conflicts), tuple(taken))


def _rebuild(local: Json, fields: dict[str, Any], remote: Json, derived: frozenset[str]) -> Json:
    """A resource from merged fields, keeping bookkeeping and the later change stamp."""
    out: Json = {k: v for k, v in local.items() if k in BOOKKEEPING or k in derived}
    stamps = _stamps(local)
    if _stamp_time(remote) > _stamp_time(local):
        stamps = _stamps(remote)
    extensions = list(stamps)
    for name, value in fields.items():
        if name.startswith("extension:"):
            extensions.append({"url": name[len("extension:"):], **value})
        else:
            out[name] = value
    if extensions:
        out["extension"] = extensions
    return out


def _stamps(resource: Json) -> list[Json]:
    return [e for e in resource.get("extension") or ()
            if str(e.get("url", "")).endswith(STAMP_SUFFIXES)]


def _stamp_time(resource: Json) -> str:
    for e in _stamps(resource):
        url = str(e.get("url", ""))
        if url.endswith(("record-updated", "sync-column-updated_at")):
            return str(e.get("valueDateTime") or e.get("valueInstant") or e.get("valueString") or "")
    return ""


def set_field(resource: Json, name: str, value: Any) -> Json:
    """A copy of ``resource`` with one merge field set (None removes it)."""
    out = dict(resource)
    if name.startswith("extension:"):
        url = name[len("extension:"):]
        ext = [e for e in out.get("extension") or () if e.get("url") != url]
        if value is not None:
            ext.append({"url": url, **value})
        out["extension"] = ext
    elif value is None:
        out.pop(name, None)
    else:
        out[name] = value
    return out


def field_label(name: str) -> str:
    """A readable name of a merge field for people ("family", "birth date" ...)."""
    tail = name.rsplit("/", 1)[-1].removeprefix("sync-column-")
    return tail.replace("_", " ")
