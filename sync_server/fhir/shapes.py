"""The same R4B validation as ``fhir.resources``, without its per-element Python work when a
resource's structure has been validated before.

``fhir.resources`` decides a resource's validity from two things: its *structure* (which keys
each element has, lists and their lengths, which values are null or JSON objects, and the
``resourceType`` values that choose a class) and each primitive value checked against its own
field's type (a date's pattern, a code's, a decimal's). Its model validators (required elements,
one of a choice, no null in a list of elements, a primitive's ``_x`` extension) look only at the
structure. The cost is in building a model for every nested element, about 25 of them in a
typical resource, each through several Python validators: ~0.65 ms a resource.

So the first resource of a structure is validated whole by ``fhir.resources``; when it passes,
its structure is kept (the *shape*, an exact tuple of tokens: no two structures share one) with a
*plan*: for every primitive value, in order, the pydantic schema of its field's own annotation
(what the model runs for that field), compiled into one validator of a tuple. A later resource
of the same shape passes when every primitive in the plan passes, as it would in the model.
Anything else goes the whole way: an unknown shape, a shape whose validity could depend on more
than that (a contained resource, whose class comes from a value; an element given as JSON text),
and every failure (so the error message is the library's, and a check stricter than the model's
could only cost time, never refuse a valid resource). ``tests/server/test_validation_shapes.py``
compares the decisions with the library's on resources with changed values.
"""

from __future__ import annotations

import threading
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from fhir_core.types import Date, DateTime, FhirBase, FhirElementOrResourceBase, Instant
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import CoreSchema, SchemaError, SchemaValidator, core_schema

Shape = tuple[Any, ...]

MAX_SHAPES = 2048  # per process; a full cache is emptied (the next pushes refill it)
MAX_NODES = 4000  # tokens; larger resources are validated whole, their shape not kept
# Keys whose value chooses a class or is checked against one: part of the shape, not a value.
_TYPE_KEYS = frozenset({"resourceType", "resource_type"})
_DICT, _LIST, _STR = dict, list, str


_UNKNOWN = object()  # a shape not met yet (None is a shape met but not kept)


class _Uncacheable(Exception):
    """The resource's validity may depend on more than its shape and primitive values."""


# A shape's tokens besides keys, types and type names: a dict or a list opens with its type (a
# scalar's token is its type: str, int, float, bool or NoneType, never dict or list), _END
# closes it, _NAMED says the next token is a type name. A key only follows a dict's opening or
# a key's value, a type name only follows _NAMED, and no other token is a string, so equal
# token tuples are equal structures.
_END, _NAMED = object(), object()


def shape_of(value: Any, values: list[Any]) -> Shape:
    """The structure of JSON data as a flat tuple of tokens (equal tuples: the same
    structure); its primitive values, nulls and type names aside, are appended to ``values``
    in order. Flat, one list for the whole walk: half the tuples of a nested shape to make,
    and hashing and comparing one tuple instead of a tree of them."""
    out: list[Any] = []
    _shape(value, out, values)
    return tuple(out)


def _shape(value: Any, out: list[Any], values: list[Any]) -> None:
    # Scalars are handled inline, not by a call each: this walk is most of what a known
    # shape costs.
    kind = type(value)
    if kind is _DICT:
        out.append(_DICT)
        for k, v in value.items():
            t = type(v)
            if t is _DICT or t is _LIST:
                out.append(k)
                _shape(v, out, values)
            elif t is _STR and k in _TYPE_KEYS:
                out += (k, _NAMED, v)
            else:
                if v is not None:
                    values.append(v)
                out += (k, t)
        out.append(_END)
    elif kind is _LIST:
        out.append(_LIST)
        for v in value:
            t = type(v)
            if t is _DICT or t is _LIST:
                _shape(v, out, values)
            else:
                if v is not None:
                    values.append(v)
                out.append(t)
        out.append(_END)
    else:
        if value is not None:
            values.append(value)
        out.append(kind)


class ShapeCache:
    """Plans of the shapes validated so far (thread-safe: the push runs in worker threads).

    A plan is one pydantic validator of a tuple: the value validators of the fields, in the
    order ``shape_of`` lists the values."""

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self._plans: dict[tuple[type, Shape], SchemaValidator | None] = {}
        self._max = max_shapes
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def validate(self, model: type, data: dict[str, Any],
                 validate_whole: Callable[[], Any]) -> None:
        """Validate ``data`` as ``model``: by its plan when its shape is known, otherwise (and
        on any doubt) with ``validate_whole``, which raises what the library raises."""
        values: list[Any] = []
        try:
            key = (model, shape_of(data, values))
        except RecursionError:
            validate_whole()
            return
        plan = self._plans.get(key, _UNKNOWN)  # one lookup: a shape's hash walks all of it
        if plan is not _UNKNOWN:
            if plan is not None and _passes(plan, values):  # type: ignore[arg-type]
                self.hits += 1
                return
            validate_whole()  # an uncacheable shape, or a value failed: the library decides
            return
        self.misses += 1
        validate_whole()
        if len(key[1]) > MAX_NODES:
            return
        new_plan = _compile(model, data, len(values))
        with self._lock:
            if len(self._plans) >= self._max:
                self._plans.clear()
            self._plans[key] = new_plan


def _passes(plan: SchemaValidator, values: list[Any]) -> bool:
    try:
        checked = plan.validate_python(values)
    except (PydanticValidationError, ValueError, TypeError):
        return False
    # A value the model would hold as null would not be of this shape (none do): refuse.
    # (``in`` compares in C: half the time of a generator over ~40 values.)
    return None not in checked


def _compile(model: type, data: dict[str, Any], count: int) -> SchemaValidator | None:
    """The plan of a resource the library accepted, None when its shape is not to be kept."""
    try:
        schemas = _plan(model, data)
        if len(schemas) != count:  # cannot happen; if it did, trust no plan
            return None
        return SchemaValidator(core_schema.tuple_schema(schemas))
    except (_Uncacheable, SchemaError):
        return None


def _plan(model: type, element: dict[str, Any]) -> list[CoreSchema]:
    """The schemas of an element's primitive values (in ``shape_of``'s order), for an element
    the library accepted as ``model``."""
    fields = _fields(model)
    out: list[CoreSchema] = []
    for key, value in element.items():
        if key in _TYPE_KEYS:
            if type(value) is not str:
                raise _Uncacheable
            continue
        name = fields.get(key)
        if name is None:
            raise _Uncacheable  # the library accepted a key we cannot place: keep out
        if value is None:
            continue  # null: part of the shape
        field = _field(model, name)
        if field is None:
            raise _Uncacheable
        kind, whole, item = field
        if kind == "primitive":
            if type(value) is list:
                if item is None:
                    raise _Uncacheable
                for entry in value:
                    if type(entry) in (dict, list):
                        raise _Uncacheable
                    if entry is not None:
                        out.append(item)
            elif type(value) is dict:
                raise _Uncacheable
            else:
                out.append(whole)
        elif type(value) is dict:
            out += _plan(whole, value)
        elif type(value) is list:
            for entry in value:
                if type(entry) is dict:
                    out += _plan(whole, entry)
                elif entry is not None:
                    raise _Uncacheable  # an element as JSON text, say: parsed by the library
        else:
            raise _Uncacheable
    return out


@cache
def _fields(model: type) -> dict[str, str]:
    """The field name of each key a model takes (its alias and its name)."""
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        out[name] = name
        if info.alias:
            out[info.alias] = name
    return out


@cache
def _field(model: type, name: str) -> tuple[str, Any, Any] | None:
    """How a field's value is checked: a primitive field by the schemas of its own annotation
    (of the value; of an item of its list), an element field by recursing into its model.
    None for a field of a resource chosen by a value (``contained``): shapes holding it are
    not kept. Built when first met (the metadata of R4B's fields is empty)."""
    return _field_entry(model.model_fields[name].annotation)  # type: ignore[attr-defined]


def _field_entry(annotation: Any) -> tuple[str, Any, Any] | None:
    leaves = _leaf_types(annotation)
    bases = [t for t in leaves if isinstance(t, type) and issubclass(t, FhirBase)]
    if not bases:
        lists = [a for a in _members(annotation) if typing.get_origin(a) is list]
        item = (_schema(typing.get_args(lists[0])[0])
                if len(lists) == 1 and len(typing.get_args(lists[0])) == 1 else None)
        return ("primitive", _schema(annotation), item)
    if len(bases) != 1 or issubclass(bases[0], FhirElementOrResourceBase):
        return None
    # Only X, list[X] and their optional forms, with X an element type.
    if any(t is not bases[0] and t is not type(None) for t in leaves):
        return None
    return ("element", bases[0].get_model_klass(), None)


def _schema(annotation: Any) -> CoreSchema:
    """The core schema pydantic builds for a field of this annotation (self-contained for the
    primitive types: a tuple of them compiles), its date types given a first try in Rust
    (``_with_fast_dates``)."""
    schema: CoreSchema = _with_fast_dates(TypeAdapter(annotation).core_schema)
    return schema


# The common forms of FHIR's date, dateTime and instant, each a subset of what its type's own
# pattern allows (years 1000-9999, a full date; a time to the second or finer with its zone;
# never a leap second): a string of that form passes the type's Python validator exactly
# when the type's inner date or datetime schema takes it, which is what the Python validator
# calls last. Rust's ``$`` is the end of the text (Python's also matches before a final
# newline), and its ``[0-9]`` is ASCII.
_FULL_DATE = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_FULL_TIME = (r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
              r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))")
_FAST_FORMS: dict[type, str] = {Date: f"^{_FULL_DATE}$", DateTime: f"^{_FULL_DATE}{_FULL_TIME}$",
                                Instant: f"^{_FULL_DATE}{_FULL_TIME}$"}


def _with_fast_dates(schema: Any) -> Any:
    """``schema`` with each FHIR date type's validator (Python: two regular expressions, a
    look for a leap second, the inner schema, checks of its result; ~3 us a value) tried after
    a check in Rust of the type's common form (``_FAST_FORMS``) through the same inner schema:
    a union left to right, so a value is accepted exactly when one of them accepts it, and the
    first accepts only what the second does."""
    if isinstance(schema, list):
        return [_with_fast_dates(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    form = _fast_form(schema)
    if form is not None:
        fast = core_schema.chain_schema([core_schema.str_schema(pattern=form),
                                         schema["schema"]])
        return core_schema.union_schema([fast, schema], mode="left_to_right")
    return {key: _with_fast_dates(value) if key in ("schema", "items_schema", "choices")
            else value for key, value in schema.items()}


def _fast_form(schema: dict[str, Any]) -> str | None:
    """The fast form of a FHIR date type's own validator schema, else None."""
    if schema.get("type") != "function-wrap" or "schema" not in schema:
        return None
    function = schema.get("function", {}).get("function")
    owner = getattr(function, "__self__", None)
    form = _FAST_FORMS.get(owner) if isinstance(owner, type) else None
    if form is None or function != owner._validate:  # type: ignore[union-attr]
        return None
    return form


def _members(annotation: Any) -> list[Any]:
    """The members of a union (optional included), or the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _leaf_types(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    return [t for arg in typing.get_args(annotation) for t in _leaf_types(arg)]
