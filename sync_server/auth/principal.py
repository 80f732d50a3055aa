"""Who is calling: a device, a system client or a central admin, and what they may do.

A device acts for its clinic with full read and write of that clinic's resources. A system
client acts for its clinic within its SMART-style scopes (``system/Patient.read``,
``system/*.write``, ``system/*.*``; v2 letters ``system/*.rs`` are understood too). Admins
manage tenants and credentials; they do not read clinical data through the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_server.errors import Forbidden

KNOWN_SCOPE_ACTIONS = ("read", "write", "*")


@dataclass(frozen=True)
class Principal:
    kind: str  # device, system, admin
    id: str
    clinic_id: str | None
    scopes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    def may(self, resource_type: str, action: str) -> bool:
        """``action`` is read or write."""
        if self.kind == "device":
            return True
        if self.kind != "system":
            return False
        return any(_grants(scope, resource_type, action) for scope in self.scopes)

    def require(self, resource_type: str, action: str) -> None:
        if self.clinic_id is None or not self.may(resource_type, action):
            raise Forbidden(f"no {action} access to {resource_type}")


def _grants(scope: str, resource_type: str, action: str) -> bool:
    context, _, rest = scope.partition("/")
    target, _, verb = rest.partition(".")
    if context != "system" or target not in ("*", resource_type):
        return False
    if verb in ("*", action):
        return True
    letters = {"read": set("rs"), "write": set("cud")}[action]
    return bool(verb) and set(verb) <= set("cruds") and bool(letters & set(verb))


def valid_scope(scope: str) -> bool:
    context, _, rest = scope.partition("/")
    target, _, verb = rest.partition(".")
    ok_verb = verb in KNOWN_SCOPE_ACTIONS or (bool(verb) and set(verb) <= set("cruds"))
    return context == "system" and bool(target) and ok_verb
