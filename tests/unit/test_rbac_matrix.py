"""RBAC as a table: every registered service operation against every role.

Generated from ``services.base.REGISTRY`` and ``domain.permissions.POLICY``: a new operation is
in the matrix as soon as it exists, and one without a declared permission fails unless it is on
the short allow-list below (things every signed-in person may do to themselves, or reference
data with no patient or money in it). Arguments are made from each signature; an operation that
then fails on them (NotFound, ValidationError ...) was still *allowed*: the point here is the
permission decision, and a refusal must leave a refused entry in the access log.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

import pms_desktop.services as services_pkg
from pms_desktop.domain.enums import Role
from pms_desktop.domain.errors import PermissionDenied
from pms_desktop.domain.permissions import allows
from pms_desktop.services.base import REGISTRY, OperationSpec
from pms_desktop.store.models import AuditEntry

for _mod in pkgutil.walk_packages(services_pkg.__path__, services_pkg.__name__ + "."):
    importlib.import_module(_mod.name)

# Operations every signed-in user may call: on their own session/account, or reference data.
ALLOWED_WITHOUT_PERMISSION = {
    "AccountsService.record_lock", "AccountsService.sign_out", "AccountsService.my_account",
    "AccountsService.change_password", "AccountsService.begin_totp_enrolment",
    "AccountsService.confirm_totp_enrolment",
    # Reference data of the appointment book (no patient, no money).
    "SchedulingService.hours", "SchedulingService.practitioners",
    "SchedulingService.appointment_types",
}

OPERATIONS = sorted(REGISTRY)


def _bound(ctx: Any, spec: OperationSpec) -> Any:
    for svc in ctx.services.values():
        for attr in dir(type(svc)):
            if getattr(getattr(type(svc), attr, None), "__operation__", None) is spec:
                return getattr(svc, attr)
    return None


def _value(name: str, param: inspect.Parameter, patient_id: str, tmp: Path) -> Any:
    ann = str(param.annotation)
    if "patient_id" in name:
        return patient_id
    if "Path" in ann:
        return tmp / f"{name}.out"
    if ann.startswith("int"):
        return 1
    if ann.startswith("bool"):
        return False
    if "datetime" in ann:
        return datetime.now(UTC)
    if ann.startswith("date"):
        return date.today()
    if "Decimal" in ann:
        return Decimal("1")
    if "Role" in ann:
        return Role.RECEPTION
    if any(t in ann for t in ("list", "tuple", "Sequence", "Iterable")):
        return []
    if "dict" in ann or "Mapping" in ann:
        return {}
    if name.endswith("_id") or name.endswith("_ids"):
        return str(uuid.uuid4())
    if "str" in ann:
        return "x"
    return None


def _arguments(method: Any, patient_id: str, tmp: Path) -> dict[str, Any]:
    params = list(inspect.signature(inspect.unwrap(method)).parameters.values())[2:]
    return {p.name: _value(p.name, p, patient_id, tmp)
            for p in params if (p.default is inspect.Parameter.empty or p.name == "patient_id")
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def test_every_operation_declares_a_permission_or_is_on_the_allow_list() -> None:
    undeclared = sorted(n for n, s in REGISTRY.items() if s.permission is None)
    assert set(undeclared) <= ALLOWED_WITHOUT_PERMISSION, (
        f"operations without a permission: {sorted(set(undeclared) - ALLOWED_WITHOUT_PERMISSION)}")


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_against_every_role(name: str, ctx, actors, make_patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = REGISTRY[name]
    method = _bound(ctx, spec)
    assert method is not None, f"{name} is not reachable from the application context"
    patient_id = make_patient()
    for role in Role:
        actor = actors[role]
        expected = spec.permission is None or allows(role, spec.permission)
        kwargs = _arguments(method, patient_id, tmp_path)
        with ctx.db.sessions()() as s:
            before = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        refused = False
        try:
            method(actor, **kwargs)
        except PermissionDenied:
            refused = True
        except sa_exc.TimeoutError:  # not bad arguments: the operation deadlocks the store
            raise AssertionError(f"{name} waited for the store's one connection (a second "
                                 "session opened inside its transaction)") from None
        except Exception:  # noqa: BLE001,S110 - after the permission check: allowed
            pass
        wanted = "allowed" if expected else "refused"
        assert refused is not expected, f"{name} for {role.value}: expected {wanted}"
        with ctx.db.sessions()() as s:
            new = s.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
        # Refusals by the policy (a refusal the work decides on these made-up arguments, e.g.
        # "that conflict was already resolved", is logged too, naming its kind).
        refusals = [e for e in new if e.outcome == "refused" and e.user_id == actor.user_id
                    and json.loads(e.detail or "{}").get("refused", "PermissionDenied")
                    == "PermissionDenied"]
        if refused:
            assert [(e.action, e.role) for e in refusals] == [(spec.action, role.value)], name
            if spec.patient_scoped:
                assert refusals[0].patient_id == patient_id
        else:
            assert not refusals, f"{name} for {role.value} was allowed but logged a refusal"
