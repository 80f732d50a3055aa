"""The HTTP side of sync: the only module of the workstation that imports httpx.

``SyncClient`` speaks the wire contract of the sync server (docs/sync-protocol.md on the
server side): enrolment, push, pull, digest, resource read, the clinic key mailbox and the
access-log upload. Every request has a timeout; certificate verification is always on (a
clinic may name its own CA file); transport failures are retried a bounded number of times
and then raised as ``SyncOffline``, which callers treat as "try again later", never as data
loss.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import certifi
import httpx
import orjson

from ..domain.errors import PmsError, UserError

Json = dict[str, Any]


class SyncOffline(PmsError):
    """The server cannot be reached (or answered 5xx): nothing was lost; try again later."""


class SyncRefused(UserError):
    """The server refused the request (bad credential, revoked device, bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SyncUntrusted(UserError):
    """The server's certificate or TLS version is refused: not a network outage to wait out,
    but a wrong address, a missing CA file or someone in the middle."""


_TLS_REFUSALS = {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE",
                 "WRONG_VERSION_NUMBER"}


def _tls_refusal(error: BaseException) -> str | None:
    """Why the TLS handshake was refused, when that is what ``error`` comes from."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            return e.verify_message or "certificate verify failed"
        if isinstance(e, ssl.SSLError) and getattr(e, "reason", None) in _TLS_REFUSALS:
            return "the server does not speak TLS 1.2 or later" if e.reason != \
                "WRONG_VERSION_NUMBER" else "the server did not answer in TLS"
        e = e.__cause__ or e.__context__
    return None


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    clinic_id: str
    clinic_name: str
    token: str


@dataclass(frozen=True)
class TransportSettings:
    server_url: str
    ca_file: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 2
    retry_pause: float = 0.2


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates always checked, hostname included, and TLS 1.2 at least whatever the
    platform's defaults: against the public roots (certifi's, as httpx uses), or only against
    the clinic's own CA when the admin names its file. Made once per file and version of it
    (loading the roots takes tens of milliseconds, and every sync opens a client)."""
    path = str(ca_file) if ca_file else certifi.where()
    try:
        stat = os.stat(path)
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (0, 0)  # a missing file fails below, as it always did
    return _tls_context(path, *stamp)


@functools.lru_cache(maxsize=8)
def _tls_context(path: str, _mtime_ns: int, _size: int) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=path)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class SyncClient:
    def __init__(self, settings: TransportSettings, token: str | None = None) -> None:
        self.settings = settings
        verify = tls_context(settings.ca_file)
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=settings.server_url.rstrip("/"), verify=verify,
                                  timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the calls ---------------------------------------------------------------------------

    def enrol(self, code: str, device_name: str) -> Enrolment:
        body = self._call("POST", "/sync/enrol", json={"code": code, "device_name": device_name},
                          retry=False)
        return Enrolment(str(body["device_id"]), str(body["clinic_id"]),
                         str(body.get("clinic_name") or ""), str(body["token"]))

    def withdraw(self, device_id: str) -> Json:
        """Give this device's credential back (the server refuses it from then on)."""
        return self._call("POST", f"/sync/devices/{device_id}/withdraw", retry=False)

    def push(self, changes: Sequence[Json | str]) -> list[Json]:
        """Push changes: objects, or their JSON text as recorded (sent as it is: not parsed
        and written again)."""
        if changes and all(isinstance(c, str) for c in changes):
            body = '{"changes":[' + ",".join(cast(Sequence[str], changes)) + "]}"
            return list(self._call("POST", "/sync/push", content=body.encode("utf-8"),
                                   headers={"Content-Type": "application/json"})["results"])
        return list(self._call("POST", "/sync/push", json={"changes": list(changes)})["results"])

    def pull(self, cursor: int, limit: int) -> Json:
        return self._call("GET", "/sync/pull", params={"cursor": cursor, "limit": limit})

    def digest(self) -> Json:
        return self._call("GET", "/sync/digest")

    def type_digest(self, resource_type: str, after: str | None, limit: int = 10_000) -> Json:
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        return self._call("GET", f"/sync/digest/{resource_type}", params=params)

    def read(self, resource_type: str, resource_id: str) -> Json | None:
        """The current resource, or None when it is gone (deleted) or unknown. Read through the
        sync API, which also serves the staff accounts that the FHIR API never shows."""
        try:
            return self._call("GET", f"/sync/resource/{resource_type}/{resource_id}")
        except SyncRefused as e:
            if e.status in (404, 410):
                return None
            raise

    def get_clinic_key(self) -> Json | None:
        """The clinic key as wrapped by a workstation, or None when the clinic has none yet."""
        try:
            return self._call("GET", "/sync/clinic-key")
        except SyncRefused as e:
            if e.status == 404:
                return None
            raise

    def put_clinic_key(self, key_id: str, wrapped: Json, *, replacing: str | None = None) -> Json:
        """Leave the wrapped clinic key on the server (SyncRefused 409: another key is there).
        With ``replacing`` (a wrapping's nonce, its ETag), only in place of that wrapping
        (SyncRefused 412: another wrapping is there now)."""
        headers = {"If-Match": f'"{replacing}"'} if replacing is not None else None
        return self._call("PUT", "/sync/clinic-key", headers=headers,
                          json={"key_id": key_id, "wrapped": wrapped})

    def rename_device(self, device_id: str, name: str) -> Json:
        """This workstation's name as the central admin sees it (a device renames itself)."""
        return self._call("PUT", f"/sync/devices/{device_id}/name", json={"name": name})

    def upload_audit(self, entries: list[Json], *, last: bool = False) -> Json:
        """``last``: the upload reaches the log's last entry (a re-anchor needs to know)."""
        return self._call("POST", "/sync/audit", json={"entries": entries, "last": last})

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Json:
        attempts = 1 + (self.settings.retries if retry else 0)
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.settings.retry_pause * (2 ** (attempt - 1)))
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as e:
                why = _tls_refusal(e)
                if why is not None:
                    raise SyncUntrusted(
                        f"The sync server's connection is not trusted ({why}). Check the "
                        "server address; if the clinic uses its own certificate authority, "
                        "set its CA file in Administration > Sync."
                    ) from e
                last = e
                continue
            if response.status_code >= 500:
                last = SyncOffline(f"The sync server answered {response.status_code}.")
                continue
            if response.status_code >= 400:
                raise SyncRefused(response.status_code, _message(response))
            try:
                data = _json(response)
            except ValueError as e:  # not the server's JSON (a captive portal's page, say)
                last = e
                continue
            return data if isinstance(data, dict) else {"items": data}
        raise SyncOffline(f"The sync server cannot be reached ({type(last).__name__}).") from last


def _json(response: httpx.Response) -> Any:
    """The answer's JSON: read by orjson (a pulled page of a thousand resources in a few
    milliseconds), by ``json`` where orjson is stricter (an integer beyond 64 bits, another
    encoding); ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        issue = (body.get("issue") or [{}])[0]
        text = issue.get("diagnostics") or issue.get("details", {}).get("text")
    except (ValueError, AttributeError, IndexError):
        text = None
    why = text or response.reason_phrase
    return f"The sync server refused the request ({response.status_code}): {why}"
