"""Unauthenticated entry points, all rate limited: device enrolment, admin sign-in, and the
OAuth2 client-credentials token endpoint for system clients; and the one way back out of an
enrolment: a device withdrawing its own credential.

Each attempt names the account it tried (an enrolment code by a prefix of its hash, never the
code) and the caller's address in the access record, so that the server's audit chain holds
every attempt, the refused ones included.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from sync_server.api.deps import DeviceCaller, access, call, client_ip, context, json_body
from sync_server.auth import service as auth
from sync_server.auth import tenancy
from sync_server.auth.secrets import code_hash
from sync_server.errors import BadRequest, Forbidden

router = APIRouter(tags=["auth"])


def _text(body: Any, key: str, *, limit: int = 200, required: bool = True) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"{key} must be a non-empty string of at most {limit} characters",
                         expression=key)
    return value


@router.post("/sync/enrol", status_code=201)
async def enrol(request: Request) -> JSONResponse:
    body = await json_body(request)
    code = _text(body, "code", limit=64)
    name = _text(body, "device_name", required=False) or "workstation"
    ctx = context(request)
    hashed = code_hash(code)
    _attempt(request, hashed[:16])
    await call(auth.check_rate, ctx.db, ctx.settings,
               [f"enrol-ip:{client_ip(request)}", f"enrol-code:{hashed}"])
    result = await call(auth.enrol, ctx.db, code, name)
    access(request).detail.update(clinic=result.clinic_id, device=result.device_id)
    return JSONResponse({"device_id": result.device_id, "clinic_id": result.clinic_id,
                         "clinic_name": result.clinic_name, "token": result.token,
                         "token_type": "Bearer"}, status_code=201)


@router.post("/sync/devices/{device_id}/withdraw")
async def withdraw_device(device_id: str, request: Request, who: DeviceCaller) -> JSONResponse:
    """A device gives its credential back (a workstation whose join was cancelled or failed
    after the enrolment code was spent): revoked as a central admin would, so no credential is
    left that no workstation holds. Authenticated by that credential, so a device withdraws
    itself only; the enrolment code stays spent. The access record puts it in the server's
    audit chain (refused attempts too)."""
    record = access(request)
    record.interaction = "device-withdraw"
    record.detail = {"device": device_id[:64]}
    if device_id != who.id:
        raise Forbidden("a device may withdraw only its own credential")
    await call(tenancy.revoke_device, context(request).db, who.id)
    return JSONResponse({"id": who.id, "withdrawn": True})


@router.post("/admin/token")
async def admin_token(request: Request) -> JSONResponse:
    body = await json_body(request)
    username, password = _text(body, "username", limit=100), _text(body, "password", limit=500)
    totp = _text(body, "totp", limit=10)
    ctx = context(request)
    _attempt(request, username)
    await call(auth.check_rate, ctx.db, ctx.settings,
               [f"admin-ip:{client_ip(request)}", f"admin-user:{username}"])
    issued = await call(auth.admin_login, ctx.db, ctx.settings, username, password, totp)
    return _token(issued)


@router.post("/auth/token")
async def client_token(request: Request) -> JSONResponse:
    """OAuth2 client credentials: form-encoded (or JSON) body, secret in the body or Basic."""
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        raise BadRequest("grant_type must be client_credentials")
    client_id, secret = _basic(request.headers.get("authorization"))
    client_id = client_id or _text(form, "client_id", limit=64)
    secret = secret or _text(form, "client_secret", limit=200)
    scope = _text(form, "scope", limit=2000, required=False) or None
    ctx = context(request)
    _attempt(request, client_id)
    await call(auth.check_rate, ctx.db, ctx.settings,
               [f"client-ip:{client_ip(request)}", f"client:{client_id}"])
    issued = await call(auth.client_credentials, ctx.db, ctx.settings, client_id, secret, scope)
    return _token(issued)


def _attempt(request: Request, account: str) -> None:
    record = access(request)
    record.interaction = "authenticate"
    record.detail = {"account": account, "ip": client_ip(request)}


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            raw = (await request.body()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("the form is not UTF-8") from exc
        return dict(parse_qsl(raw, keep_blank_values=True))
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("send a form or a JSON object")
    return {k: v for k, v in body.items() if isinstance(v, str)}


def _basic(header: str | None) -> tuple[str, str]:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("malformed Basic credentials") from exc
    return user, password


def _token(issued: auth.IssuedToken) -> JSONResponse:
    return JSONResponse({"access_token": issued.access_token, "token_type": "Bearer",
                         "expires_in": issued.expires_in, "scope": issued.scope},
                        headers={"Cache-Control": "no-store"})
