"""The ``Mapper`` record: how one syncable table becomes a FHIR resource and back.

A mapper's ``to_fhir`` builds the resource body (without ``id``/``meta``, which ``mapping``
adds for every table) and ``from_fhir`` returns the column values and, for tables with child
rows, the child rows' values in order. Mappers never write to the session; ``mapping`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from .secret_box import ClinicSecretBox

Json = dict[str, Any]
Values = dict[str, Any]
Parsed = tuple[Values, dict[str, list[Values]] | None]  # children by relationship


@dataclass(frozen=True)
class Context:
    """What a mapper may need besides the row: the session (look-ups) and the clinic key."""

    session: Session
    secrets: ClinicSecretBox | None = None


@dataclass(frozen=True)
class Mapper:
    table: str
    model: type[Any]
    resource_type: str
    to_fhir: Callable[[Context, Any], Json]
    from_fhir: Callable[[Context, Json, Any], Parsed]  # (ctx, resource, existing row or None)
    # Child rows: relationship attribute -> child model (replaced as a whole on apply).
    children: tuple[tuple[str, type[Any]], ...] = ()
    # Appends a resource type's extra resources (a signed note's Provenance).
    extras: Callable[[Context, Any], list[Json]] | None = None


def columns(row: Any, names: tuple[str, ...]) -> Values:
    return {n: getattr(row, n) for n in names}
