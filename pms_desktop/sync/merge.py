"""Three-way merge of two FHIR resources, unit by unit, against their common base.

A *unit* is what a person decides as one thing, and so what one conflict holds:

* by default a top-level element ("address" is one unit, not its line, city and postcode), and
  one unit per extension URL (each of our extensions carries one local column);
* a list element whose entries are decided apart is split (``SPLITS``): a patient's phones and
  email, an appointment's patient and practitioner, each SOAP section of a note;
* elements decided together are grouped (``GROUPS``): an appointment's start and end are its
  "Time"; a note's status, date, attester and hash are its "Signature"; the phone search key
  goes with the phones it is computed from;
* a part that merely follows another (``FOLLOWERS``: FHIR's coarse appointment status and the
  arrival times next to our exact status) is no unit of its own: it comes from the side whose
  leader the merge took, so that checking in on two workstations is not a conflict.

``id``, ``resourceType`` and ``meta`` are bookkeeping, and the "who changed it last and when"
stamps are not edits: a merge that ends equal to the remote resource *is* the remote resource,
stamps included; otherwise it is a new local version and keeps the local stamps. Nothing here
reads a clock or orders by time, so every workstation merges the same inputs the same way.

A *sealed* resource (a signed note, ``SEALED``) is never pieced together: the merge takes it
whole from the side that sealed it, and the other side's edits become conflicts of kind
``signed`` (kept for a person, who adds them as an addendum).

Pure functions: no I/O.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
BOOKKEEPING = frozenset({"id", "resourceType", "meta"})
STAMP_SUFFIXES = ("updated-by", "record-updated", "sync-column-updated_by",
                  "sync-column-updated_at")
MISSING: Any = None  # an absent field and a null one mean the same to a person


def _actor_type(entry: Json) -> str:
    ref = str((entry.get("actor") or {}).get("reference") or "")
    return ref.rsplit("/", 2)[-2] if ref.count("/") else "other"


def _section_code(entry: Json) -> str:
    return str((((entry.get("code") or {}).get("coding") or [{}])[0]).get("code") or "other")


# (resource type, list element) -> the key that splits its entries into separate parts.
SPLITS: dict[tuple[str, str], Callable[[Json], str]] = {
    ("Patient", "telecom"): lambda e: "email" if e.get("system") == "email" else "phone",
    ("Appointment", "participant"): _actor_type,
    ("Composition", "section"): _section_code,
}
# unit name -> its parts; a part is an element, "ELEMENT#KEY" (a split) or "ext:NAME" (the
# extension whose URL ends with /NAME). A unit of one part is that part under a better name.
GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "Patient": {"phone": ("telecom#phone", "ext:phone-digits"), "email": ("telecom#email",)},
    "Appointment": {"time": ("start", "end", "minutesDuration"),
                    "status": ("ext:appointment-status",),
                    "patient": ("participant#Patient",),
                    "practitioner": ("participant#Practitioner",)},
    "Composition": {"signature": ("status", "date", "attester", "ext:signed-by",
                                  "ext:content-hash"),
                    "subjective": ("section#61150-9",), "objective": ("section#61149-1",),
                    "assessment": ("section#51848-0",), "plan": ("section#18776-5",)},
}
# follower part -> the part it is computed from
FOLLOWERS: dict[str, dict[str, str]] = {
    "Appointment": {"status": "ext:appointment-status", "ext:arrived-at": "ext:appointment-status",
                    "ext:started-at": "ext:appointment-status",
                    "ext:completed-at": "ext:appointment-status"},
}
# resource type -> (is it sealed?, the units that make the seal rather than the content)
SEALED: dict[str, tuple[Callable[[Json], bool], frozenset[str]]] = {
    "Composition": (lambda r: r.get("status") in ("final", "amended", "entered-in-error"),
                    frozenset({"signature"})),
}
LABELS = {
    "name": "Name", "phone": "Phone", "email": "Email", "address": "Address",
    "birthDate": "Date of birth", "gender": "Sex", "identifier": "Identifiers",
    "active": "Active", "link": "Merged into", "deceasedDateTime": "Date of death",
    "communication": "Language", "managingOrganization": "Clinic", "time": "Time",
    "status": "Status", "patient": "Patient", "practitioner": "Practitioner",
    "comment": "Note", "cancelationReason": "Cancellation reason",
    "appointmentType": "Appointment type", "signature": "Signature",
    "subjective": "Subjective", "objective": "Objective", "assessment": "Assessment",
    "plan": "Plan", "(deleted elsewhere)": "Deleted elsewhere",
    "practitioner time": "Double booking", "rejected": "Refused by the server",
    "unsendable": "Could not be sent",
}


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    local: Any
    remote: Any
    kind: str = "field"  # field | signed (sealed on the other side) | merged (merged away)


@dataclass(frozen=True)
class MergeResult:
    merged: Json
    conflicts: tuple[FieldConflict, ...]
    remote_changed: tuple[str, ...]  # units taken from the remote side
    same_as_remote: bool = False  # the merge is the remote resource itself


# -- parts and units ---------------------------------------------------------------------------


def _parts(resource: Json | None, derived: frozenset[str]) -> dict[str, Any]:
    """Element name (or ``extension:URL``, ``ELEMENT#KEY``) -> value; no bookkeeping, stamps."""
    out: dict[str, Any] = {}
    rtype = str((resource or {}).get("resourceType"))
    for key, value in (resource or {}).items():
        if key in BOOKKEEPING or key in derived:
            continue
        split = SPLITS.get((rtype, key))
        if key == "extension" and isinstance(value, list):
            for e in value:
                url = str(e.get("url", ""))
                if not url.endswith(STAMP_SUFFIXES):
                    out[f"extension:{url}"] = {k: v for k, v in e.items() if k != "url"}
        elif split is not None and isinstance(value, list):
            for e in value:
                out.setdefault(f"{key}#{split(e)}", []).append(e)
        else:
            out[key] = value
    return out


def _matches(spec: str, part: str) -> bool:
    if spec.startswith("ext:"):
        return part.startswith("extension:") and part.endswith("/" + spec[4:])
    return spec == part


def _unit_of(rtype: str, part: str) -> str | None:
    """The unit a part belongs to; None for a follower."""
    if any(_matches(f, part) for f in FOLLOWERS.get(rtype, {})):
        return None
    for unit, members in GROUPS.get(rtype, {}).items():
        if any(_matches(m, part) for m in members):
            return unit
    return part


def _grouped(rtype: str, unit: str) -> bool:
    return len(GROUPS.get(rtype, {}).get(unit, ())) > 1


def units_of(resource: Json | None, derived: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The mergeable units of a resource: unit name -> value (a grouped unit: {part: value})."""
    rtype = str((resource or {}).get("resourceType"))
    out: dict[str, Any] = {}
    for part, value in _parts(resource, derived).items():
        unit = _unit_of(rtype, part)
        if unit is None:
            continue
        if _grouped(rtype, unit):
            out.setdefault(unit, {})[part] = value
        else:
            out[unit] = value
    return out


def _followers(resource: Json | None, derived: frozenset[str]) -> dict[str, Any]:
    rtype = str((resource or {}).get("resourceType"))
    return {p: v for p, v in _parts(resource, derived).items() if _unit_of(rtype, p) is None}


def _leader_unit(rtype: str, follower: str) -> str:
    for spec, leader in FOLLOWERS.get(rtype, {}).items():
        if _matches(spec, follower):
            return _unit_of(rtype, leader) or leader
    return follower


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# -- the merge ---------------------------------------------------------------------------------


def three_way(base: Json | None, local: Json, remote: Json,
              derived: frozenset[str] = frozenset()) -> MergeResult:
    """Merge ``local`` and ``remote`` against ``base`` (None: no agreed version yet).

    A unit changed on one side only takes that side's value; changed on both sides to the
    same value, that value; to different values, the local value stays and a conflict keeps
    both, for a person to choose.
    """
    sealed = _sealed_merge(base, local, remote, derived)
    if sealed is not None:
        return sealed
    b, lo, re_ = (units_of(base, derived), units_of(local, derived),
                  units_of(remote, derived))
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
    return _result(local, remote, merged, derived, tuple(conflicts), tuple(taken))


def _sealed_merge(base: Json | None, local: Json, remote: Json,
                  derived: frozenset[str]) -> MergeResult | None:
    """A sealed record comes whole from the side that sealed it (local when both did)."""
    rule = SEALED.get(str(local.get("resourceType")))
    if rule is None:
        return None
    is_sealed, seal_units = rule
    local_sealed, remote_sealed = is_sealed(local), is_sealed(remote)
    if not (local_sealed or remote_sealed):
        return None
    winner, loser = (local, remote) if local_sealed else (remote, local)
    b, w, lo = (units_of(base, derived), units_of(winner, derived), units_of(loser, derived))
    lost = []
    for name in sorted(set(lo) | set(w)):
        if name in seal_units:
            continue
        bv, wv, lv = b.get(name, MISSING), w.get(name, MISSING), lo.get(name, MISSING)
        if not _same(lv, wv) and (base is None or not _same(lv, bv)):
            local_v, remote_v = (wv, lv) if winner is local else (lv, wv)
            lost.append(FieldConflict(name, bv, local_v, remote_v, kind="signed"))
    taken = () if winner is local else tuple(sorted(set(w) | set(lo)))
    return _result(local, remote, w, derived, tuple(lost), taken)


def _result(local: Json, remote: Json, merged_units: dict[str, Any], derived: frozenset[str],
            conflicts: tuple[FieldConflict, ...], taken: tuple[str, ...]) -> MergeResult:
    if _same(merged_units, units_of(remote, derived)):
        # Equal to the remote resource: be it exactly, stamps and derived parts included.
        exact = {k: v for k, v in remote.items() if k not in BOOKKEEPING and k not in derived}
        out = {k: v for k, v in local.items() if k in BOOKKEEPING or k in derived}
        return MergeResult({**out, **exact}, conflicts, taken, same_as_remote=True)
    followers = _merged_followers(local, remote, merged_units, derived)
    merged = _rebuild(local, merged_units, followers, _stamps(local), derived, remote)
    return MergeResult(merged, conflicts, taken)


def _merged_followers(local: Json, remote: Json, merged_units: dict[str, Any],
                      derived: frozenset[str]) -> dict[str, Any]:
    """Each follower from the side whose leader the merge kept (remote when both agree)."""
    rtype = str(local.get("resourceType"))
    lo, re_ = units_of(local, derived), units_of(remote, derived)
    lf, rf = _followers(local, derived), _followers(remote, derived)
    out = {}
    for part in sorted(set(lf) | set(rf)):
        leader = _leader_unit(rtype, part)
        kept = merged_units.get(leader, MISSING)
        side = rf if _same(kept, re_.get(leader, MISSING)) else lf
        if part in side:
            out[part] = side[part]
        elif not _same(kept, lo.get(leader, MISSING)) and part in lf:
            out[part] = lf[part]
    return out


def _rebuild(template: Json, units: dict[str, Any], followers: dict[str, Any],
             stamps: list[Json], derived: frozenset[str], *others: Json) -> Json:
    """A resource from units: bookkeeping and derived elements from ``template`` (``others``:
    where else to look up the URL of an extension the template lacks)."""
    rtype = str(template.get("resourceType"))
    out: Json = {k: v for k, v in template.items() if k in BOOKKEEPING or k in derived}
    parts: dict[str, Any] = {}
    for name, value in units.items():
        if _grouped(rtype, name) and isinstance(value, dict):
            parts.update(value)
        else:
            parts[_part_name((template, *others), rtype, name)] = value
    parts.update(followers)
    extensions = list(stamps)
    order = list(template)
    for part, value in sorted(parts.items(), key=lambda kv: _order(order, kv[0])):
        if part.startswith("extension:"):
            extensions.append({"url": part[len("extension:"):], **value})
        elif "#" in part:
            out.setdefault(part.split("#", 1)[0], []).extend(value)
        else:
            out[part] = value
    if extensions:
        out["extension"] = extensions
    return out


def _part_name(sources: tuple[Json, ...], rtype: str, unit: str) -> str:
    """The part a one-part unit stands for ("phone" -> "telecom#phone")."""
    members = GROUPS.get(rtype, {}).get(unit)
    if not members:
        return unit
    spec = members[0]
    if spec.startswith("ext:"):
        for source in sources:
            for e in source.get("extension") or ():
                if str(e.get("url", "")).endswith("/" + spec[4:]):
                    return f"extension:{e['url']}"
        raise KeyError(f"no extension URL known for {spec}")
    return spec


def _order(order: list[str], part: str) -> tuple[int, str]:
    element = part.split("#", 1)[0] if "#" in part else part
    return (order.index(element) if element in order else len(order), part)


def _stamps(resource: Json) -> list[Json]:
    return [e for e in resource.get("extension") or ()
            if str(e.get("url", "")).endswith(STAMP_SUFFIXES)]


def set_field(resource: Json, name: str, value: Any) -> Json:
    """A copy of ``resource`` with one merge unit set (None removes it)."""
    units = units_of(resource)
    if value is None:
        units.pop(name, None)
    else:
        units[name] = value
    return _rebuild(resource, units, _followers(resource, frozenset()), _stamps(resource),
                    frozenset())


def is_sealed(resource: Json | None) -> bool:
    rule = SEALED.get(str((resource or {}).get("resourceType")))
    return bool(rule and resource and rule[0](resource))


# -- words for people --------------------------------------------------------------------------


def field_label(name: str) -> str:
    """What a person calls a merge unit: "Address", "Phone", "Date of birth" ..."""
    if name in LABELS:
        return LABELS[name]
    text = name
    if text.startswith("extension:"):
        text = text.rsplit("/", 1)[-1].removeprefix("sync-column-")
    if "#" in text:
        element, key = text.split("#", 1)
        text = f"{element} {key}"
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:].lower() if text else "Value"


def display_value(value: Any, name: str | None = None) -> str:
    """A unit's value in plain words for the conflicts window ("(empty)" when absent)."""
    if isinstance(value, dict) and name and "extension:" not in name and any(
            k.startswith("extension:") for k in value) and any(
            not k.startswith("extension:") for k in value):
        # a group: what a person typed, not the search keys that go with it
        value = {k: v for k, v in value.items() if not k.startswith("extension:")}
        if len(value) == 1:
            value = next(iter(value.values()))
    if value is None or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list):
        return "; ".join(t for t in (display_value(v) for v in value) if t != "(empty)") \
            or "(empty)"
    return _display_dict(value)


def _display_dict(v: Json) -> str:
    for key, inner in v.items():  # an extension's payload, or a choice element
        if key.startswith("value") and key != "value":
            return display_value(inner)
    if "div" in v:  # a narrative: its text
        return html.unescape(re.sub(r"<[^>]+>", "", str(v["div"]))).strip() or "(empty)"
    if "text" in v and isinstance(v["text"], dict):  # a note's section
        return display_value(v["text"])
    if "emptyReason" in v:
        return "(empty)"
    if isinstance(v.get("text"), str):
        return str(v["text"])
    if "family" in v or "given" in v:
        words = [*v.get("prefix", []), *v.get("given", []), v.get("family", "")]
        return " ".join(w for w in words if w)
    if "system" in v and isinstance(v.get("value"), str):
        return f"{v['value']} ({v['use']})" if v.get("use") else str(v["value"])
    if any(k in v for k in ("line", "city", "postalCode", "country")):
        parts = [*(v.get("line") or []), v.get("city"), v.get("state"), v.get("postalCode"),
                 v.get("country")]
        return ", ".join(str(p) for p in parts if p)
    if "start" in v or "end" in v:
        return f"{v.get('start', '…')} – {v.get('end', '…')}"
    if "actor" in v:
        return display_value(v["actor"])
    if "reference" in v:
        return str(v.get("display") or v["reference"])
    if "coding" in v:
        return display_value(v["coding"])
    if "display" in v or "code" in v:
        return str(v.get("display") or v.get("code"))
    shown = [f"{field_label(k)}: {display_value(x)}" for k, x in v.items()
             if k not in ("id", "extension", "url")]
    return ", ".join(shown) or "(empty)"
