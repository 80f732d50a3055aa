"""Bundles the server answers with: searchset and history, with paging links.

``base`` is the absolute FHIR base (``https://host/fhir``); ``query`` the request's own query
pairs, reused in the ``self`` and ``next`` links with only ``_offset`` changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sync_server.store.resources import Stored


def _link(base: str, path: str, pairs: list[tuple[str, str]], offset: int | None) -> str:
    kept = [(k, v) for k, v in pairs if k != "_offset"]
    if offset:
        kept.append(("_offset", str(offset)))
    return f"{base}/{path}" + (f"?{urlencode(kept)}" if kept else "")


def paging_links(base: str, path: str, pairs: list[tuple[str, str]], *, offset: int,
                 count: int, total: int) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": _link(base, path, pairs, offset)}]
    if count > 0 and offset + count < total:
        links.append({"relation": "next", "url": _link(base, path, pairs, offset + count)})
    if count > 0 and offset > 0:
        links.append({"relation": "previous",
                      "url": _link(base, path, pairs, max(0, offset - count))})
    return links


def searchset(base: str, path: str, pairs: list[tuple[str, str]], *, offset: int, count: int,
              total: int, matches: list[Stored]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle", "type": "searchset", "total": total,
        "link": paging_links(base, path, pairs, offset=offset, count=count, total=total),
        "entry": [{"fullUrl": f"{base}/{s.resource_type}/{s.resource_id}",
                   "resource": s.resource, "search": {"mode": "match"}} for s in matches],
    }


def history(base: str, path: str, pairs: list[tuple[str, str]], *, offset: int, count: int,
            total: int, versions: list[Stored]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle", "type": "history", "total": total,
        "link": paging_links(base, path, pairs, offset=offset, count=count, total=total),
        "entry": [_history_entry(base, s) for s in versions],
    }


def _history_entry(base: str, s: Stored) -> dict[str, Any]:
    url = f"{s.resource_type}/{s.resource_id}"
    entry: dict[str, Any] = {"fullUrl": f"{base}/{url}"}
    if s.deleted:
        entry["request"] = {"method": "DELETE", "url": url}
        entry["response"] = {"status": "410 Gone", "etag": s.etag, "lastModified": s.last_updated}
    else:
        entry["resource"] = s.resource
        entry["request"] = {"method": "POST" if s.version == 1 else "PUT",
                            "url": s.resource_type if s.version == 1 else url}
        entry["response"] = {"status": "201 Created" if s.version == 1 else "200 OK",
                             "etag": s.etag, "lastModified": s.last_updated}
    return entry
