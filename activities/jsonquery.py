"""``query_json``: pick values out of JSON text with a JSON path."""

from __future__ import annotations

from activities import _jsonpath
from orch.sdk import ActivityError, Context, Inputs, Published, activity


class QueryJsonInputs(Inputs):
    json: str
    """The JSON text (for example a web service's ``ResponseBody``)."""
    path: str
    """A JSON path: ``$.a.b[0]``, ``$.items[*].name``, ``$..id``, ``$['key with spaces']``;
    ``$.items.0`` and ``$.items.*`` also index arrays."""
    fail_if_none: bool = False
    """Fail when the path selects nothing; otherwise no items are published."""


class JsonValue(Published):
    Value: str
    """The selected value: a string as is, null as empty text, anything else as JSON."""


@activity("query_json", display_name="Query JSON", category="Utilities", rerunnable=True)
async def query_json(ctx: Context, inputs: QueryJsonInputs) -> list[JsonValue]:
    """Publish one item per value the JSON path selects, in document order.

    Nothing selected means no items (the path below ends), unless
    ``fail_if_none`` makes it a failure.
    """
    document = _jsonpath.decode(inputs.json, "json")
    values = _jsonpath.query(document, inputs.path)
    if not values and inputs.fail_if_none:
        raise ActivityError(f"property path: {inputs.path} selects nothing")
    return [JsonValue(Value=_jsonpath.value_text(v)) for v in values]
