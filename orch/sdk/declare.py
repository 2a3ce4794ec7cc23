"""Declaring activities: typed inputs, typed published data, metadata.

An activity is an async function ``fn(ctx, inputs) -> published`` decorated
with :func:`activity`. ``inputs`` is an :class:`Inputs` Struct (its fields are
the activity's properties); the return value is a :class:`Published` Struct,
a list of them (multi-valued data: one item each), or — for activities whose
fields depend on their properties, such as ``initialize_data`` — a
``dict[str, str]`` / ``list[dict[str, str]]`` with ``dynamic_fields`` given.

Field descriptions (shown in the generated JSON Schemas, ``orch ip`` and
``docs/activities.md``): either an attribute docstring right below the field
(the standard activities' style) or ``Annotated[T, msgspec.Meta(description=...)]``;
when a field has both, the ``Meta`` description wins. See :mod:`orch.sdk.schema`.

Monitors (``monitor=True``) start a runbook and keep watching: declare one as
an async *generator* ``async def fn(ctx, inputs) -> AsyncIterator[MyData]``
whose every yielded value is a trigger (the rest of the runbook runs once
per trigger, as a new instance of the monitor's job), or as a coroutine that
calls ``await ctx.trigger(data)``. A monitor that returns ends its job; one
that is stopped is cancelled like any activity.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect

COMMON_FIELDS: frozenset[str] = frozenset(
    {"Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"}
)


class Inputs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for an activity's input properties (unknown properties are rejected)."""


class Published(msgspec.Struct, kw_only=True):
    """Base for an activity's published data; every field is published as text."""


class NoData(Published):
    """Published data of an activity with no fields of its own (it still
    publishes the common fields, and its path goes on)."""


SECRET_MARK = "orch_secret"

Secret = Annotated[
    str,
    msgspec.Meta(
        description="secret: never logged, published or returned",
        extra_json_schema={"format": "password", "writeOnly": True},
        extra={SECRET_MARK: True},
    ),
]
"""Type of a secret input (``password: Secret``): text that is never logged,
published or shown in events. An ``Annotated[str, ...]`` so msgspec converts
it like ``str``; :func:`secret_fields` finds the fields that use it."""


def secret_fields(inputs: type[Inputs]) -> frozenset[str]:
    """Names of the fields of an Inputs Struct declared as :data:`Secret`."""
    info = msgspec.inspect.type_info(inputs)
    names: set[str] = set()
    for field in getattr(info, "fields", ()):
        if _is_secret(field.type):
            names.add(field.name)
    return frozenset(names)


def _is_secret(t: msgspec.inspect.Type) -> bool:
    if isinstance(t, msgspec.inspect.Metadata):
        return bool((t.extra or {}).get(SECRET_MARK)) or _is_secret(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_is_secret(x) for x in t.types)
    return False


ActivityFn = Callable[[Any, Any], Awaitable[Any]]
FieldsHook = Callable[[Mapping[str, Any]], "frozenset[str] | None"]
SeveralHook = Callable[[Mapping[str, Any]], bool]
Role = Literal["activity", "junction"]


class ActivityType(msgspec.Struct, kw_only=True, frozen=True):
    """A registered activity type (the runtime's and the validator's view of it)."""

    name: str
    fn: ActivityFn
    inputs: type[Inputs]
    published: type[Published] | None
    """None: fields are dynamic (see ``dynamic_fields``)."""
    multi_valued: bool = False
    pack: str = "core"
    display_name: str = ""
    description: str = ""
    category: str = ""
    rerunnable: bool = False
    """Safe to run again after a crash left it in flight (no side effect, or idempotent)."""
    monitor: bool = False
    default_timeout: float | None = None
    role: Role = "activity"
    dynamic_fields: FieldsHook | None = None
    several_items: SeveralHook | None = None
    """For a multi-valued type: whether a run may publish several items with
    these properties (``run_program`` only with ``split_output``); None: it may."""

    @property
    def qualified_name(self) -> str:
        return f"{self.pack}:{self.name}"

    def fields(self, properties: Mapping[str, Any]) -> frozenset[str] | None:
        """Published field names (without the common ones) or None when unknowable."""
        if self.published is not None:
            return frozenset(self.published.__struct_fields__)
        if self.dynamic_fields is not None:
            return self.dynamic_fields(properties)
        return None

    def may_publish_several(self, properties: Mapping[str, Any]) -> bool:
        """Whether one run may publish more than one item (the validator's view,
        which decides what a reference past a junction may mean)."""
        if not self.multi_valued:
            return False
        if self.several_items is None:
            return True
        try:
            return bool(self.several_items(properties))
        except Exception:  # a pack's hook must not crash validation
            return True


def activity(
    name: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    category: str = "",
    rerunnable: bool = False,
    monitor: bool = False,
    default_timeout: float | None = None,
    role: Role = "activity",
    dynamic_fields: FieldsHook | None = None,
    several_items: SeveralHook | None = None,
) -> Callable[[ActivityFn], ActivityType]:
    """Declare an activity from ``async def fn(ctx: Context, inputs: MyInputs) -> MyData``.

    The input and output types are read from the annotations.
    """

    def wrap(fn: Any) -> ActivityType:
        generator = inspect.isasyncgenfunction(fn)
        if generator and not monitor:
            raise TypeError(f"activity {name!r}: only a monitor may be an async generator")
        if not generator and not inspect.iscoroutinefunction(fn):
            raise TypeError(f"activity {name!r}: {fn.__qualname__} must be an async function")
        hints = typing.get_type_hints(fn)
        params = list(inspect.signature(fn).parameters)
        if len(params) != 2:
            raise TypeError(f"activity {name!r}: expected fn(ctx, inputs)")
        inputs = hints.get(params[1])
        if not (isinstance(inputs, type) and issubclass(inputs, Inputs)):
            raise TypeError(f"activity {name!r}: inputs must be annotated with an Inputs Struct")
        ret = hints.get("return")
        if generator:
            ret = _yielded(name, ret)
        published, multi = _published_type(name, ret)
        if published is None and dynamic_fields is None and role != "junction":
            # dynamic data with no hook: fields are unknowable at check-in
            pass
        doc = inspect.getdoc(fn) or ""
        return ActivityType(
            name=name,
            fn=_monitor_runner(fn) if generator else fn,
            inputs=inputs,
            published=published,
            multi_valued=multi,
            display_name=display_name or name.replace("_", " ").title(),
            description=description if description is not None else doc,
            category=category,
            rerunnable=rerunnable,
            monitor=monitor,
            default_timeout=default_timeout,
            role=role,
            dynamic_fields=dynamic_fields,
            several_items=several_items,
        )

    return wrap


def _yielded(name: str, ann: Any) -> Any:
    """``X`` of a monitor's ``AsyncIterator[X]`` / ``AsyncGenerator[X, None]`` annotation."""
    origin = typing.get_origin(ann)
    if origin in (
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.AsyncIterable,
    ):
        return typing.get_args(ann)[0]
    raise TypeError(f"activity {name!r}: a monitor generator must be annotated AsyncIterator[X]")


def _monitor_runner(gen_fn: Callable[[Any, Any], Any]) -> ActivityFn:
    """The coroutine the runtime awaits for a generator monitor: each yield is a trigger.

    When the generator ends the monitor publishes no item, so nothing below it
    runs in the monitor's own instance (each trigger had its own instance).
    """

    @functools.wraps(gen_fn)
    async def run(ctx: Any, inputs: Any) -> list[Any]:
        agen = gen_fn(ctx, inputs)
        try:
            async for data in agen:
                await ctx.trigger(data)
        finally:
            await agen.aclose()
        return []

    return run


def _published_type(name: str, ann: Any) -> tuple[type[Published] | None, bool]:
    if ann is None or ann is type(None):
        return None, False
    origin = typing.get_origin(ann)
    if origin in (list, typing.List):  # noqa: UP006
        (inner,) = typing.get_args(ann)
        published, _ = _published_type(name, inner)
        return published, True
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"activity {name!r}: return type must not be a union")
    if isinstance(ann, type) and issubclass(ann, Published):
        return ann, False
    if ann is dict or origin is dict:
        return None, False
    raise TypeError(f"activity {name!r}: return a Published Struct, a list of them, or a dict")
