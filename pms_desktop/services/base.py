"""The service core: unit of work, permission check, access log, outbox, operation registry.

``@operation(permission, action)`` declares what an operation needs. The registry it fills is
what the RBAC matrix test enumerates, so an operation without a declared permission cannot
slip in unnoticed.

A session of an account whose password an admin set (a new account, a reset:
``must_change_password``) may do nothing but what its operation declares
``before_password_change`` (its own password, sign-out, lock, its own MFA enrolment): the
check is made here, on the account's row in the operation's own transaction, so a caller that
skips the UI's forced dialog (or holds a session older than the reset) is refused the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from ..domain.enums import AuditOutcome, OutboxOp
from ..domain.errors import PasswordChangeRequired, PermissionDenied, UserError
from ..domain.permissions import BREAK_GLASS_GRANTS, Permission, allows
from ..domain.session import StaffSession
from ..store import audit_log, outbox
from ..store.engine import RELAXED, translate_errors
from ..store.models import BreakGlassGrant, StaffUser, SyncMixin

P = ParamSpec("P")
T = TypeVar("T")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OperationSpec:
    name: str
    permission: Permission | None  # None: allowed to every signed-in user (e.g. own profile)
    action: str
    patient_scoped: bool
    before_password_change: bool = False  # open to a session whose password must change


REGISTRY: dict[str, OperationSpec] = {}


@dataclass
class ServiceCore:
    """What every service needs: sessions, the clock, this workstation's id."""

    sessions: sessionmaker[Session]
    workstation_id: str
    clock: Clock = utc_now
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock()

    def notify(self, topic: str, **info: Any) -> None:
        """A "what changed" fact for open views (the UI turns it into a Qt signal)."""
        for listener in list(self.listeners):
            listener(topic, info)


class UnitOfWork:
    """One transaction: the work, its access-log entries and its outbox entries."""

    def __init__(self, core: ServiceCore, session: Session, actor: StaffSession | None) -> None:
        self.core = core
        self.session = session
        self.actor = actor
        self.audited = False
        self.break_glass_reason: str | None = None
        self.outbox_changes = 0

    def audit(
        self,
        action: str,
        *,
        outcome: AuditOutcome = AuditOutcome.SUCCESS,
        resource_type: str | None = None,
        resource_id: str | None = None,
        patient_id: str | None = None,
        break_glass: bool = False,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        a = self.actor
        self.audited = True
        if self.break_glass_reason is not None and outcome == AuditOutcome.SUCCESS:
            break_glass, reason = True, reason or self.break_glass_reason
        audit_log.append(
            self.session,
            workstation_id=self.core.workstation_id,
            at=self.core.now(),
            user_id=a.user_id if a else None,
            username=a.username if a else None,
            role=a.role.value if a else None,
            action=action,
            outcome=outcome.value,
            resource_type=resource_type,
            resource_id=resource_id,
            patient_id=patient_id,
            break_glass=break_glass,
            reason=reason,
            detail=detail,
        )

    def changed(self, row: SyncMixin, op: OutboxOp = OutboxOp.UPSERT) -> None:
        self.outbox_changes += 1
        self.session.flush()
        outbox.record_change(
            self.session,
            row,
            user_id=self.actor.user_id if self.actor else None,
            op=op,
            now=self.core.now(),
        )


def _break_glass_reason(core: ServiceCore, session: Session, actor: StaffSession,
                        patient_id: str) -> str | None:
    grant = session.scalars(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == actor.user_id,
            BreakGlassGrant.patient_id == patient_id,
            BreakGlassGrant.expires_at > core.now(),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
    ).first()
    return grant.reason if grant else None


READ_PERMISSIONS = frozenset(
    {Permission.READ_DEMOGRAPHICS, Permission.READ_CLINICAL, Permission.VIEW_AUDIT,
     Permission.REPORTS}
)


@contextmanager
def unit_of_work(
    core: ServiceCore, actor: StaffSession | None, *, durable: bool = True
) -> Iterator[UnitOfWork]:
    """One transaction. ``durable=False`` for reads: their access-log entry is committed with
    ``synchronous=NORMAL`` (atomic, survives a process crash; see store.engine).

    After a commit that queued outbox changes, ``outbox.changed`` is notified (the background
    sync sends them shortly after)."""
    with translate_errors(), core.sessions() as session, session.begin():
        session.connection(execution_options={RELAXED: not durable})
        uow = UnitOfWork(core, session, actor)
        yield uow
    if uow.outbox_changes:
        core.notify("outbox.changed", changes=uow.outbox_changes)


def operation(
    permission: Permission | None,
    action: str,
    *,
    patient_arg: str | None = None,
    resource_type: str | None = None,
    transactional: bool = True,
    refusals: tuple[type[UserError], ...] = (),
    resource_arg: str | None = None,
    before_password_change: bool = False,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Declare a service operation: its permission, its access-log action, its patient argument.

    The wrapped function receives ``(self, uow, *args, **kwargs)``; the actor is ``uow.actor``.
    A refusal is logged (in its own transaction, so that it survives) and raised.
    The operation itself is responsible for its success entry only when it needs detail;
    otherwise one is written for it.

    ``transactional=False`` is for long work that must not hold the write lock (backups, key
    rotation): the permission is checked (and a refusal logged) first, then the function gets
    ``(self, actor, ...)`` and opens its own units of work, writing its own audit entries.

    A refusal the work itself decides (``PermissionDenied``, and the errors named in
    ``refusals``, e.g. ``NotFound`` for "already resolved elsewhere") is logged the same way as
    the policy's: the work's transaction is rolled back, then the refusal is written in one of
    its own, with the error's kind and message (so an operation names in ``refusals`` only
    errors whose messages hold no patient data). ``resource_arg``: the keyword argument naming
    the record acted on, logged as the refusal's resource id.

    ``before_password_change``: the operation stays open to a session whose account must change
    the password an admin set (every other one refuses it with ``PasswordChangeRequired``,
    logged as a refusal).
    """
    refused_by_work: tuple[type[UserError], ...] = (PermissionDenied, *refusals)

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        name = fn.__qualname__
        REGISTRY[name] = OperationSpec(name, permission, action, patient_arg is not None,
                                       before_password_change)

        def log_refusal(core: ServiceCore, actor: StaffSession, kwargs: dict[str, Any],
                        error: UserError) -> None:
            detail: dict[str, Any] = {"permission": permission.value if permission else None,
                                      "refused": type(error).__name__, "why": str(error)[:200]}
            if isinstance(error, PermissionDenied):
                detail["permission"] = error.permission
            rid = kwargs.get(resource_arg) if resource_arg else None
            with unit_of_work(core, actor) as uow:
                uow.audit(action, outcome=AuditOutcome.REFUSED, resource_type=resource_type,
                          resource_id=rid if isinstance(rid, str) and len(rid) <= 36 else None,
                          patient_id=kwargs.get(patient_arg) if patient_arg else None,
                          detail=detail)
            error.audited = True  # type: ignore[attr-defined]  # an outer operation: once

        @functools.wraps(fn)
        def wrapper(self: Any, actor: StaffSession, *args: Any, **kwargs: Any) -> T:
            try:
                return work(self, actor, *args, **kwargs)
            except refused_by_work as e:
                if not getattr(e, "audited", False):
                    log_refusal(self.core, actor, kwargs, e)
                raise

        def work(self: Any, actor: StaffSession, *args: Any, **kwargs: Any) -> T:
            core: ServiceCore = self.core
            patient_id = kwargs.get(patient_arg) if patient_arg else None
            with unit_of_work(core, actor, durable=permission not in READ_PERMISSIONS) as uow:
                if not before_password_change and _must_change_password(uow.session, actor):
                    # rolled back, then logged by the wrapper; names the session refused
                    raise PasswordChangeRequired(session_id=actor.session_id)
                glass: str | None = None
                allowed = permission is None or allows(actor.role, permission)
                if not allowed and permission in BREAK_GLASS_GRANTS and patient_id:
                    glass = _break_glass_reason(core, uow.session, actor, patient_id)
                    allowed = glass is not None
                if not allowed:  # rolled back, then logged by the wrapper
                    raise PermissionDenied(permission.value if permission else "")
                if transactional:
                    uow.break_glass_reason = glass
                    result = fn(self, uow, *args, **kwargs)
                    if not uow.audited:
                        uow.audit(
                            action,
                            resource_type=resource_type,
                            resource_id=_result_id(result),
                            patient_id=patient_id,
                        )
            if not transactional:
                return fn(self, actor, *args, **kwargs)
            return result

        wrapper.__operation__ = REGISTRY[name]  # type: ignore[attr-defined]
        return wrapper

    return decorate


_STAFF = StaffUser.__table__
assert isinstance(_STAFF, Table)
# Read before every operation: the driver's statement (SQLCipher, qmark) costs ~17 us of CPU
# where the ORM select of the same column cost ~120 us, 4-5% of a 2-3 ms patient search.
_MUST_CHANGE_SQL = (f"SELECT {_STAFF.c.must_change_password.name} FROM {_STAFF.name} "
                    f"WHERE {_STAFF.c.id.name} = ?")


def _must_change_password(session: Session, actor: StaffSession) -> bool:
    """Whether the acting account still has the password an admin set (one primary-key read
    in the operation's transaction)."""
    row = session.connection().exec_driver_sql(_MUST_CHANGE_SQL, (actor.user_id,)).first()
    return bool(row[0]) if row is not None else False


def _result_id(result: Any) -> str | None:
    rid = getattr(result, "id", None)
    return rid if isinstance(rid, str) else None
