"""The one body decoder's limits: depth, integer range, malformed JSON, duplicate keys."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orch.gateway.bodies import INT_MAX, INT_MIN, MAX_DEPTH, decode_json
from orch.gateway.errors import BodyRefused


def refused(body: bytes) -> BodyRefused:
    with pytest.raises(BodyRefused) as info:
        decode_json(body)
    assert info.value.status == 400
    return info.value


def nested(depth: int, kinds: str = "[{") -> bytes:
    """``depth`` levels, alternating through ``kinds``, a 1 innermost."""
    opened = [kinds[i % len(kinds)] for i in range(depth)]
    inner = b"1"
    for kind in reversed(opened):
        inner = b"[" + inner + b"]" if kind == "[" else b'{"k":' + inner + b"}"
    return inner


@pytest.mark.parametrize("kinds", ["[", "{", "[{"])
def test_the_depth_limit_is_exact(kinds: str) -> None:
    assert decode_json(nested(MAX_DEPTH, kinds)) is not None
    e = refused(nested(MAX_DEPTH + 1, kinds))
    assert e.code == "too-deep"
    assert e.path is not None and e.path.startswith("$")
    assert e.path.count("[") + e.path.count(".") == MAX_DEPTH  # the first value too deep


def test_the_path_names_the_first_value_too_deep() -> None:
    body = b'{"ok": [1, 2], "bad": ' + b"[" * (MAX_DEPTH) + b"]" * MAX_DEPTH + b"}"
    assert refused(body).path == "$.bad" + "[0]" * (MAX_DEPTH - 1)


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_thousands_of_levels_are_refused_not_a_recursion_error(depth: int) -> None:
    assert refused(b"[" * depth + b"]" * depth).code == "too-deep"
    assert refused(b'{"a":' * depth + b"1" + b"}" * depth).code == "too-deep"
    assert refused(b"[" * depth).code in ("too-deep", "malformed-json")


def test_brackets_inside_strings_do_not_count() -> None:
    text = "[" * 500 + '\\"' + "{" * 500
    body = b'{"a": "' + text.encode() + b'", "b": ["\\\\", "]"]}'
    assert decode_json(body) == {"a": text.replace('\\"', '"'), "b": ["\\", "]"]}


def test_many_shallow_containers_pass() -> None:
    body = b"[" + b",".join([b'{"a": [1, {"b": []}]}'] * 10_000) + b"]"
    assert len(decode_json(body)) == 10_000


@pytest.mark.parametrize("value", [INT_MAX, INT_MIN, 0, -1, 10**18, -(10**18)])
def test_integers_in_the_64_bit_range_pass(value: int) -> None:
    assert decode_json(b'{"n": [%d]}' % value) == {"n": [value]}


@pytest.mark.parametrize("text", [
    str(INT_MAX + 1), str(INT_MIN - 1), "18446744073709551616", "1" + "0" * 30,
    "1" + "0" * 5_000, "-" + "9" * 4_000,
])
def test_integers_past_64_bits_are_refused_with_their_path(text: str) -> None:
    e = refused(b'{"ok": 1, "list": [2, ' + text.encode() + b"]}")
    assert e.code == "number-out-of-range"
    # msgspec itself refuses thousands of digits, naming the path its own way ($[...][1])
    assert e.path == "$.list[1]" or (e.path or "").endswith("[1]")


@pytest.mark.parametrize("text", [
    b"1.0000000000000000000000001", b"12345678901234567890.5", b"1e300",
    b"-1.5e-300", b"0.12345678901234567890123e5", b'"12345678901234567890123"',
])
def test_floats_and_long_digit_strings_pass(text: bytes) -> None:
    decode_json(b"[" + text + b"]")


@pytest.mark.parametrize("body,code", [
    (b"[1e400]", "number-out-of-range"),
    (b"[-1e999]", "number-out-of-range"),
    (b"[NaN]", "malformed-json"),
    (b"[Infinity]", "malformed-json"),
    (b"[-Infinity]", "malformed-json"),
    (b'{"a": "\xff\xfe"}', "malformed-json"),
    (b'{"a": "\\ud800"}', "malformed-json"),
    (b'{"a": [1, 2', "malformed-json"),
    (b'{"a": 1', "malformed-json"),
    (b"[1, 2,]", "malformed-json"),
    (b"{'a': 1}", "malformed-json"),
])
def test_not_json_is_malformed(body: bytes, code: str) -> None:
    assert refused(body).code == code


def test_duplicate_keys_the_last_wins() -> None:
    assert decode_json(b'{"a": 1, "b": 2, "a": 3}') == {"a": 3, "b": 2}


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers(INT_MIN, INT_MAX) | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=200,
)


def _deepen(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value] if levels % 2 else {"x": value}
    return value


@given(_json, st.integers(0, MAX_DEPTH + 3))
def test_the_depth_check_agrees_with_a_recursive_count(value: Any, extra: int) -> None:
    value = _deepen(value, extra)
    body = msgspec.json.encode(value)
    if _depth(value) > MAX_DEPTH:
        assert refused(body).code == "too-deep"
    else:
        assert decode_json(body) == value


def test_naming_the_path_has_a_budget() -> None:
    """A refusal's path search stops after _WALK_BUDGET values: the 400 stays, the path is $."""
    from orch.gateway import bodies

    shallow = b",".join([b"[1]"] * (bodies._WALK_BUDGET // 2 + 10))
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert refused(b"[" + shallow + b"," + deep + b"]").path == "$"
    assert refused(b"[" + deep + b"," + shallow + b"]").path == "$[0]" + "[0]" * (MAX_DEPTH - 1)
    big = b"[" + shallow + b", 99999999999999999999]"
    assert refused(big).path == "$"
