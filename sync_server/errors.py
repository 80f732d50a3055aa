"""The server's error tree; ``api/errors.py`` maps it to ``OperationOutcome`` responses.

    ServerError                      base: status 500, never shown with details
      ClientError                    a message safe to show the caller
        BadRequest          400      malformed JSON, bad parameters, invalid resource
        Unauthorized        401      no or unknown credential (revoked devices included)
        Forbidden           403      authenticated but not allowed (scope, read-only type)
        NotFound            404      unknown id, or another clinic's id (never 403: ids do not leak)
        MethodNotAllowed    405
        Conflict            409      a business conflict (reused change id, broken audit chain)
        Gone                410      the resource was deleted
        PreconditionFailed  412      a stale If-Match, an ambiguous conditional create
        PayloadTooLarge     413
        UnsupportedMedia    415
        Unprocessable       422      well-formed but refused by a business rule
        RateLimited         429      too many authentication attempts
        Unavailable         503      the store (or the audit log) cannot be written now

A ``ClientError`` carries a FHIR issue code and an optional ``expression`` (where in the input).
Messages must not contain patient data: they reach the structured log.
"""

from __future__ import annotations


class ServerError(Exception):
    """Base of every error the server raises on purpose."""

    status = 500
    code = "exception"

    def __init__(self, message: str = "internal error", *, expression: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.headers = headers or {}


class ClientError(ServerError):
    status = 400
    code = "invalid"


class BadRequest(ClientError):
    status = 400
    code = "invalid"


class Unauthorized(ClientError):
    status = 401
    code = "login"

    def __init__(self, message: str = "authentication required", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="pms-sync"')


class Forbidden(ClientError):
    status = 403
    code = "forbidden"


class NotFound(ClientError):
    status = 404
    code = "not-found"


class MethodNotAllowed(ClientError):
    status = 405
    code = "not-supported"


class Conflict(ClientError):
    status = 409
    code = "conflict"


class Gone(ClientError):
    status = 410
    code = "deleted"


class PreconditionFailed(ClientError):
    status = 412
    code = "conflict"


class PayloadTooLarge(ClientError):
    status = 413
    code = "too-costly"


class UnsupportedMedia(ClientError):
    status = 415
    code = "not-supported"


class Unprocessable(ClientError):
    status = 422
    code = "processing"


class RateLimited(ClientError):
    status = 429
    code = "throttled"


class Unavailable(ServerError):
    status = 503
    code = "transient"
