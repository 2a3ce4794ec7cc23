"""One test per validation rule: the fault's path, code and reason."""

from __future__ import annotations

from typing import Any

import pytest

from orch.document import DocumentInvalid, decode_document, load, validate
from tests.unit.document.helpers import REGISTRY, base, fault_with, faults, the_fault


def act(doc: dict[str, Any], aid: str) -> dict[str, Any]:
    return next(a for a in doc["activities"] if a["id"] == aid)


def test_base_document_is_valid() -> None:
    assert faults(base()) == []
    assert validate(decode_document(base()), REGISTRY) == []


# ---- decoding (types) -----------------------------------------------------------------------


def test_bad_json() -> None:
    f = the_fault('{"format": ', "bad-json")
    assert f.path == "$"
    assert f.message.startswith("not valid JSON: ")


def test_unknown_key() -> None:
    doc = base()
    doc["activities"][1]["shell"] = True
    f = the_fault(doc, "unknown-key")
    assert (f.path, f.message) == ("$.activities[1].shell", "unknown key 'shell'")


def test_missing_key() -> None:
    doc = base()
    del doc["activities"][0]["type"]
    f = the_fault(doc, "missing-key")
    assert (f.path, f.message) == ("$.activities[0].type", "required key 'type' is missing")


def test_missing_top_level_key() -> None:
    doc = base()
    del doc["activities"]
    f = the_fault(doc, "missing-key")
    assert f.path == "$.activities"


def test_wrong_type() -> None:
    doc = base()
    doc["activities"][0]["id"] = 5
    f = the_fault(doc, "wrong-type")
    assert (f.path, f.message) == ("$.activities[0].id", "expected text, got an integer")


def test_wrong_type_of_optional_number() -> None:
    doc = base()
    doc["links"][0]["delay_seconds"] = "soon"
    f = the_fault(doc, "wrong-type")
    assert (f.path, f.message) == ("$.links[0].delay_seconds", "expected a number, got text")


def test_unknown_operator_lists_the_operators() -> None:
    doc = base()
    doc["links"][1]["include"] = [{"data": "Status", "op": "eq", "value": "success"}]
    f = the_fault(doc, "bad-value")
    assert f.path == "$.links[1].include[0].op"
    assert f.message.startswith("'eq' is not allowed (operators: equals, not_equals, contains")


def test_unknown_parameter_type_lists_the_types() -> None:
    doc = base()
    doc["returns"][0]["type"] = "float"
    f = the_fault(doc, "bad-value")
    assert f.path == "$.returns[0].type"
    assert f.message == "'float' is not allowed (types: string, integer, boolean, datetime)"


def test_wrong_format() -> None:
    doc = base()
    doc["format"] = "orch.runbook/2"
    f = the_fault(doc, "bad-value")
    assert f.path == "$.format"
    assert "expected 'orch.runbook/1'" in f.message


def test_decoding_json_text_and_bytes_gives_the_same_paths() -> None:
    text = '{"format": "orch.runbook/1", "name": "x", "activities": [{"id": "a"}]}'
    for data in (text, text.encode()):
        f = the_fault(data, "missing-key")
        assert f.path == "$.activities[0].type"


# ---- runbook level --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "  ", "a/b"])
def test_bad_runbook_name(name: str) -> None:
    doc = base()
    doc["name"] = name
    f = the_fault(doc, "bad-name")
    assert (f.path, f.message) == ("$.name", "the name must not be empty nor contain '/'")


@pytest.mark.parametrize(
    ("folder", "suggestion"),
    [("Tests", "/Tests"), ("/Tests/", "/Tests"), ("", "/")],
)
def test_folder_must_be_an_absolute_path(folder: str, suggestion: str) -> None:
    doc = base()
    doc["folder"] = folder
    f = the_fault(doc, "bad-folder")
    assert f.path == "$.folder"
    assert f.message == (
        f"the folder must be an absolute path like /Ops/Services (did you mean {suggestion!r}?)"
    )


@pytest.mark.parametrize("folder", ["/", "/Tests", "/Ops/Services/Daily"])
def test_good_folders(folder: str) -> None:
    doc = base()
    doc["folder"] = folder
    assert faults(doc) == []


def test_max_concurrent_jobs_not_negative() -> None:
    doc = base()
    doc["max_concurrent_jobs"] = -1
    f = the_fault(doc, "out-of-range")
    assert (f.path, f.message) == ("$.max_concurrent_jobs", "must be 0 (no limit) or more")
    doc["max_concurrent_jobs"] = 0
    assert faults(doc) == []


def test_duplicate_return() -> None:
    doc = base()
    doc["returns"].append({"name": "Greeting", "type": "integer"})
    f = the_fault(doc, "duplicate-return")
    assert (f.path, f.message) == ("$.returns[1].name", "'Greeting' is declared twice")


@pytest.mark.parametrize("name", ["", "Two words", "1st", "a-b"])
def test_bad_return_name(name: str) -> None:
    doc = base()
    doc["returns"].append({"name": name})
    f = the_fault(doc, "bad-return-name")
    assert f.path == "$.returns[1].name"
    assert f.message.startswith(f"{name!r} is not a valid name")


def test_no_activities() -> None:
    doc = base()
    doc["activities"], doc["links"] = [], []
    f = the_fault(doc, "no-activities")
    assert (f.path, f.message) == ("$.activities", "a runbook needs at least one activity")


# ---- activity ids and types -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1st", "has space", "dash-ed", "", "é"])
def test_bad_id(bad: str) -> None:
    doc = base()
    act(doc, "done")["id"] = bad
    doc["links"][1]["to"] = bad
    f = the_fault(doc, "bad-id")
    assert f.path == "$.activities[2].id"
    assert f.message == (
        f"{bad!r} is not a valid id: use letters, digits and _, not starting with a digit"
    )


@pytest.mark.parametrize("reserved", ["runbook", "variable"])
def test_reserved_id(reserved: str) -> None:
    doc = base()
    act(doc, "done")["id"] = reserved
    doc["links"][1]["to"] = reserved
    f = the_fault(doc, "reserved-id")
    assert f.path == "$.activities[2].id"
    assert f.message == f"{reserved!r} is reserved (it means {{{reserved}...}} in expressions)"


def test_duplicate_id() -> None:
    doc = base()
    doc["activities"].append({"id": "greet", "type": "wait", "properties": {"seconds": 1}})
    f = the_fault(doc, "duplicate-id")
    assert (f.path, f.message) == (
        "$.activities[3].id",
        "id 'greet' is already used by activities[1]",
    )


def test_unknown_type_suggests_a_close_name() -> None:
    doc = base()
    act(doc, "greet")["type"] = "run_progam"
    f = the_fault(doc, "unknown-type")
    assert f.path == "$.activities[1].type"
    assert (
        f.message
        == "no installed activity type is called 'run_progam' (did you mean 'run_program'?)"
    )


def test_unknown_type_without_suggestion() -> None:
    doc = base()
    act(doc, "greet")["type"] = "zzzzzz"
    f = the_fault(doc, "unknown-type")
    assert f.message == "no installed activity type is called 'zzzzzz'"


def test_pack_qualified_types() -> None:
    doc = base()
    act(doc, "greet")["type"] = "core:run_program"
    doc["activities"].append(
        {"id": "login", "type": "ext:login", "properties": {"user": "u", "password": "p"}}
    )
    doc["links"].append({"from": "greet", "to": "login"})
    assert faults(doc) == []
    act(doc, "login")["type"] = "core:login"
    f = the_fault(doc, "unknown-type")
    assert f.path == "$.activities[3].type"


# ---- properties against the type's inputs ---------------------------------------------------


def test_unknown_property_lists_the_properties() -> None:
    doc = base()
    act(doc, "greet")["properties"]["shell"] = True
    f = the_fault(doc, "unknown-property")
    assert f.path == "$.activities[1].properties.shell"
    assert f.message == (
        "run_program has no property 'shell' "
        "(its properties: args, cwd, env, program, split_output, success_exit_codes)"
    )


def test_unknown_property_of_a_type_without_properties_uses_json_path_quoting() -> None:
    doc = base()
    act(doc, "done")["properties"]["my key"] = 1
    f = the_fault(doc, "unknown-property")
    assert f.path == '$.activities[2].properties["my key"]'


def test_missing_required_property() -> None:
    doc = base()
    del act(doc, "greet")["properties"]["program"]
    f = the_fault(doc, "missing-property")
    assert (f.path, f.message) == (
        "$.activities[1].properties.program",
        "run_program requires the property 'program'",
    )


@pytest.mark.parametrize(
    ("prop", "value", "path", "message"),
    [
        (
            "split_output",
            "maybe",
            "$.activities[1].properties.split_output",
            "expected true or false, got text",
        ),
        ("args", "one two", "$.activities[1].properties.args", "expected a list, got text"),
        (
            "success_exit_codes",
            [0, "x"],
            "$.activities[1].properties.success_exit_codes[1]",
            "expected an integer, got text",
        ),
        ("env", ["A=1"], "$.activities[1].properties.env", "expected an object, got a list"),
        ("cwd", {"a": 1}, "$.activities[1].properties.cwd", "expected text or null, got an object"),
    ],
)
def test_literal_property_that_cannot_convert(
    prop: str, value: Any, path: str, message: str
) -> None:
    doc = base()
    act(doc, "greet")["properties"][prop] = value
    f = the_fault(doc, "bad-property")
    assert (f.path, f.message) == (path, message)


def test_nested_literal_property_fault_has_the_nested_path() -> None:
    doc = base()
    act(doc, "start")["properties"]["parameters"].append({"nmae": "X"})
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.activities[0].properties.parameters[1].nmae", "bad-property")
    ]
    assert found[0].message == "unknown key 'nmae'"


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("split_output", "true"),  # text converts to a boolean
        ("success_exit_codes", ["0", 1]),  # text converts to an integer
        ("args", ["-n", 3, True]),  # numbers and booleans read as text
        ("split_output", "{start.Name}"),  # an expression: checked when the run renders it
        ("success_exit_codes", ["{start.Name}"]),
    ],
)
def test_convertible_or_expression_properties_are_accepted(prop: str, value: Any) -> None:
    doc = base()
    act(doc, "greet")["properties"][prop] = value
    act(doc, "done")["properties"]["data"]["Greeting"] = "hi"  # split_output changes the fields
    assert faults(doc) == []


def test_secret_inputs_take_text() -> None:
    doc = base()
    doc["activities"].append(
        {"id": "login", "type": "ext:login", "properties": {"user": "u", "password": "s3cret"}}
    )
    doc["links"].append({"from": "greet", "to": "login"})
    assert faults(doc) == []
    act(doc, "login")["properties"]["port"] = "ssh"
    f = the_fault(doc, "bad-property")
    assert (f.path, f.message) == (
        "$.activities[3].properties.port",
        "expected an integer, got text",
    )


def test_the_types_own_checks_run_on_literal_properties() -> None:
    doc = base()
    doc["activities"].append(
        {"id": "r", "type": "check_range", "properties": {"low": 5, "high": 1}}
    )
    doc["links"].append({"from": "done", "to": "r"})
    f = the_fault(doc, "bad-property")
    assert (f.path, f.message) == ("$.activities[3].properties", "low must not exceed high")
    act(doc, "r")["properties"]["high"] = "{start.Name}"  # not literal: checked at run time
    assert faults(doc) == []


def test_bad_expression_in_a_property() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["ok", "Hello [Upper({start.Name)]"]
    f = the_fault(doc, "bad-expression")
    assert f.path == "$.activities[1].properties.args[1]"
    assert f.message == (
        "bad reference {start.Name)]: expected {activity.Field}, {runbook.Field} or "
        "{variable:Name} (quote text in a function's arguments) at position 14 of "
        "'Hello [Upper({start.Name)]'"
    )


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("[Upper({greet.Output}", "unclosed arguments of Upper"),
        ("[Mid({greet.Output}, 1)]", "Mid(text, start, length) takes 3 arguments, got 2"),
        ("[Upper([Left({greet.Output})])]", "Left(text, count) takes 2 arguments, got 1"),
    ],
)
def test_data_function_must_exist_with_the_right_argument_count(expr: str, message: str) -> None:
    doc = base()
    act(doc, "done")["properties"]["data"]["Greeting"] = expr
    f = the_fault(doc, "bad-expression")
    assert f.path == "$.activities[2].properties.data.Greeting"
    assert message in f.message


def test_literal_braces_in_a_script_body_validate() -> None:
    doc = base()
    act(doc, "greet")["properties"].update(
        program="sh",
        args=["-c", 'f() {{ echo "$1"; }}; [[ -n "{start.Name}" ]] && f \'{{"a": [[1]]}}\''],
    )
    assert faults(doc) == []


def test_an_undoubled_brace_in_a_script_is_text() -> None:
    doc = base()
    act(doc, "greet")["properties"].update(
        program="sh", args=["-c", 'f() { echo "$1"; }; [ -n "{start.Name}" ] && f \'{"a": [1]}\'']
    )
    assert faults(doc) == []


def test_a_misspelt_function_is_text() -> None:
    """'[' starts a call only before a known name and '(' (orch/document/README.md)."""
    doc = base()
    act(doc, "done")["properties"]["data"]["Greeting"] = "[Uper({greet.Output})]"
    assert faults(doc) == []


def test_text_of_reference_shape_is_a_reference() -> None:
    doc = base()
    act(doc, "greet")["properties"].update(
        program="python3", args=["-c", 'self = 1\nprint(f"{self.name} {{self.name}")']
    )
    f = the_fault(doc, "unknown-activity")
    assert (f.path, f.message) == (
        "$.activities[1].properties.args[1]",
        "{self.name} at position 18: no activity 'self' (for the text itself write {{self.name})",
    )


# ---- references -----------------------------------------------------------------------------


def test_reference_to_an_unknown_activity() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{nobody.Output}"]
    f = the_fault(doc, "unknown-activity")
    assert (f.path, f.message) == (
        "$.activities[1].properties.args[0]",
        "{nobody.Output} at position 1: no activity 'nobody' "
        "(for the text itself write {{nobody.Output})",
    )


def test_reference_to_a_downstream_activity() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{done.Status}"]
    f = the_fault(doc, "not-upstream")
    assert (f.path, f.message) == (
        "$.activities[1].properties.args[0]",
        "{done.Status} at position 1: 'done' is not upstream of 'greet' "
        "(no chain of links leads from it to here)",
    )


def test_reference_to_itself() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{greet.Output}"]
    f = the_fault(doc, "not-upstream")
    assert f.message.startswith("{greet.Output} at position 1: 'greet' is not upstream of 'greet'")


def test_reference_to_a_sibling_branch() -> None:
    doc = base()
    doc["activities"].append(
        {"id": "other", "type": "run_program", "properties": {"program": "{greet.Output}"}}
    )
    doc["links"].append({"from": "start", "to": "other"})
    f = the_fault(doc, "not-upstream")
    assert f.path == "$.activities[3].properties.program"


def test_reference_to_a_distant_ancestor_is_fine() -> None:
    doc = base()
    act(doc, "done")["properties"]["data"]["Greeting"] = "{start.Name} {greet.ExitCode}"
    assert faults(doc) == []


def test_reference_to_an_unpublished_field() -> None:
    doc = base()
    act(doc, "done")["properties"]["data"]["Greeting"] = "{greet.Outptu}"
    f = the_fault(doc, "unknown-field")
    assert f.path == "$.activities[2].properties.data.Greeting"
    assert f.message == (
        "{greet.Outptu} at position 1: 'greet' (run_program) publishes no field 'Outptu' "
        "(it publishes: ActivityName, EndTime, ErrorOutput, ErrorSummary, ExitCode, Output, "
        "StartTime, Status) (for the text itself write {{greet.Outptu})"
    )


def test_common_fields_are_published_by_every_type() -> None:
    doc = base()
    act(doc, "done")["properties"]["data"]["Greeting"] = (
        "{greet.Status} {greet.StartTime} {greet.EndTime} {greet.ErrorSummary} "
        "{greet.ActivityName} {start.Status}"
    )
    assert faults(doc) == []


def test_dynamic_fields_follow_the_properties() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{start.Nmae}"]
    f = the_fault(doc, "unknown-field")
    assert "'start' (initialize_data) publishes no field 'Nmae'" in f.message
    assert "Name" in f.message


def test_fields_of_an_unknowable_type_are_not_checked() -> None:
    doc = base()
    act(doc, "greet").update(type="invoke_runbook", properties={"runbook": "/Child"})
    act(doc, "done")["properties"]["data"]["Greeting"] = "{greet.AnythingTheChildReturns}"
    assert faults(doc) == []


@pytest.mark.parametrize("field", ["JobId", "InstanceId", "Name", "Server"])
def test_runbook_fields(field: str) -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = [f"{{runbook.{field}}}"]
    assert faults(doc) == []


def test_unknown_runbook_field() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{runbook.Owner}"]
    f = the_fault(doc, "unknown-runbook-field")
    assert (f.path, f.message) == (
        "$.activities[1].properties.args[0]",
        "{runbook.Owner} is not runbook data (there is InstanceId, JobId, Name, Server; "
        "for the text itself write {{runbook.Owner})",
    )


def test_variables_are_not_checked_at_validation() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["{variable:Anything}"]
    assert faults(doc) == []


# ---- links and the graph --------------------------------------------------------------------


def test_link_endpoints_must_exist() -> None:
    doc = base()
    doc["links"].append({"from": "nobody", "to": "nowhere"})
    found = faults(doc)
    assert [(f.path, f.code, f.message) for f in found] == [
        ("$.links[2].from", "unknown-activity", "no activity has id 'nobody'"),
        ("$.links[2].to", "unknown-activity", "no activity has id 'nowhere'"),
    ]


def test_no_start() -> None:
    doc = base()
    doc["links"].append({"from": "done", "to": "start"})
    f = fault_with(doc, "no-start", "$.activities")
    assert f.message == "every activity has an incoming link, so none can start the runbook"
    fault_with(doc, "cycle", "$.links[0]")


def test_multiple_starts() -> None:
    doc = base()
    doc["activities"].append({"id": "lonely", "type": "wait", "properties": {"seconds": 1}})
    doc["activities"].append({"id": "lonely2", "type": "wait", "properties": {"seconds": 1}})
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.activities[3]", "multiple-starts"),
        ("$.activities[4]", "multiple-starts"),
    ]
    assert found[0].message == (
        "'lonely' has no incoming link, nor has 'start': exactly one activity may start the runbook"
    )


def test_cycle_is_named() -> None:
    doc = base()
    doc["links"].append({"from": "done", "to": "greet"})
    f = the_fault(doc, "cycle")
    assert f.path == "$.links[1]"
    assert f.message == (
        "links form a cycle: greet → done → greet (to repeat an activity, give it a loop instead)"
    )


def test_self_loop_is_a_cycle() -> None:
    doc = base()
    doc["links"].append({"from": "greet", "to": "greet"})
    f = the_fault(doc, "cycle")
    assert f.path == "$.links[2]"
    assert "greet → greet" in f.message


def test_every_cycle_is_reported() -> None:
    doc = base()
    for aid in ("a", "b", "c", "d"):
        doc["activities"].append({"id": aid, "type": "wait", "properties": {"seconds": 0}})
    doc["links"] += [
        {"from": "done", "to": "a"},
        {"from": "a", "to": "b"},
        {"from": "b", "to": "a"},
        {"from": "done", "to": "c"},
        {"from": "c", "to": "d"},
        {"from": "d", "to": "c"},
    ]
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.links[3]", "cycle"),
        ("$.links[6]", "cycle"),
    ]
    assert "a → b → a" in found[0].message and "c → d → c" in found[1].message


def test_cycle_names_a_shortest_loop_in_a_tangle() -> None:
    doc = base()
    for aid in ("a", "b", "c"):
        doc["activities"].append({"id": aid, "type": "wait", "properties": {"seconds": 0}})
    doc["links"] += [
        {"from": "done", "to": "a"},
        {"from": "a", "to": "b"},
        {"from": "b", "to": "c"},
        {"from": "c", "to": "a"},
        {"from": "b", "to": "a"},
    ]
    f = the_fault(doc, "cycle")
    assert "a → b → a" in f.message


def test_monitor_only_as_the_start() -> None:
    doc = base()
    doc["activities"].append({"id": "watch", "type": "watch_file", "properties": {"path": "/x"}})
    doc["links"].append({"from": "done", "to": "watch"})
    f = the_fault(doc, "monitor-not-start")
    assert f.path == "$.activities[3].type"
    assert f.message == (
        "'watch' is a monitor (watch_file): a monitor can only start a runbook, "
        "but links lead into it"
    )


def test_monitor_as_the_start_is_fine() -> None:
    doc = base()
    doc["activities"][0] = {"id": "start", "type": "watch_file", "properties": {"path": "/x"}}
    act(doc, "greet")["properties"]["args"] = ["{start.Path}"]
    assert faults(doc) == []


def test_initialize_data_only_as_the_start() -> None:
    doc = base()
    doc["activities"].append({"id": "again", "type": "initialize_data"})
    doc["links"].append({"from": "done", "to": "again"})
    f = the_fault(doc, "initialize-not-start")
    assert (f.path, f.message) == (
        "$.activities[3].type",
        "'again' (initialize_data) must start the runbook, but links lead into it",
    )


# ---- conditions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "path", "code", "message"),
    [
        (
            {"data": "ExitCode", "op": "between", "value": "5"},
            "$.links[1].include[0].value",
            "bad-operand",
            "'between' takes two values: [low, high]",
        ),
        (
            {"data": "ExitCode", "op": "between", "value": [1, 2, 3]},
            "$.links[1].include[0].value",
            "bad-operand",
            "'between' takes two values: [low, high]",
        ),
        (
            {"data": "ExitCode", "op": "equals", "value": [0, 1]},
            "$.links[1].include[0].value",
            "bad-operand",
            "'equals' takes one value, not a list (only 'between' takes [low, high])",
        ),
        (
            {"data": "Output", "op": "matches", "value": "(unclosed"},
            "$.links[1].include[0].value",
            "bad-regex",
            "bad regular expression '(unclosed': missing ), unterminated subpattern at position 0",
        ),
    ],
)
def test_condition_operands(condition: dict[str, Any], path: str, code: str, message: str) -> None:
    doc = base()
    doc["links"][1]["include"] = [condition]
    f = the_fault(doc, code)
    assert (f.path, f.message) == (path, message)


def test_condition_in_exclude_and_loop_have_their_paths() -> None:
    doc = base()
    doc["links"][1]["exclude"] = [{"data": "Output", "op": "matches", "value": "["}]
    act(doc, "greet")["loop"] = {"until": [{"data": "Output", "op": "between", "value": 1}]}
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.activities[1].loop.until[0].value", "bad-operand"),
        ("$.links[1].exclude[0].value", "bad-regex"),
    ]


def test_a_parameter_name_that_is_not_text_is_a_fault_not_a_crash() -> None:
    # found by the mutation fuzz: the fields hook returned None among the names
    doc = base()
    act(doc, "start")["properties"]["parameters"][0]["name"] = None
    act(doc, "greet")["properties"]["args"] = ["{start.Nmae}"]
    found = faults(doc)
    assert found and all(f.path.startswith("$.activities[0]") for f in found), found


def test_condition_data_must_be_published_by_the_source() -> None:
    doc = base()
    doc["links"][1]["include"] = [{"data": "ExitCod", "op": "equals", "value": 0}]
    doc["links"][1]["exclude"] = [{"data": "Nope", "op": "equals", "value": 0}]
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.links[1].include[0].data", "unknown-field"),
        ("$.links[1].exclude[0].data", "unknown-field"),
    ]
    assert found[0].message.startswith("'greet' (run_program) publishes no field 'ExitCod'")


def test_loop_condition_data_must_be_published_by_the_activity_itself() -> None:
    doc = base()
    act(doc, "greet")["loop"] = {"until": [{"data": "Line", "op": "equals", "value": "x"}]}
    f = the_fault(doc, "unknown-field")
    assert f.path == "$.activities[1].loop.until[0].data"


def test_condition_data_of_an_unknowable_source_is_not_checked() -> None:
    doc = base()
    act(doc, "greet").update(type="invoke_runbook", properties={"runbook": "/Child"})
    act(doc, "done")["properties"]["data"]["Greeting"] = "x"
    doc["links"][1]["include"] = [{"data": "ChildField", "op": "equals", "value": "1"}]
    assert faults(doc) == []


# ---- numbers that must not be negative ------------------------------------------------------


def test_link_delay_not_negative() -> None:
    doc = base()
    doc["links"][0]["delay_seconds"] = -1
    f = the_fault(doc, "out-of-range")
    assert (f.path, f.message) == ("$.links[0].delay_seconds", "must be 0 or more seconds")


def test_timeout_not_negative() -> None:
    doc = base()
    act(doc, "greet")["timeout_seconds"] = -0.5
    f = the_fault(doc, "out-of-range")
    assert (f.path, f.message) == ("$.activities[1].timeout_seconds", "must be 0 or more seconds")
    act(doc, "greet")["timeout_seconds"] = 0
    assert faults(doc) == []


def test_loop_max_attempts_at_least_one() -> None:
    doc = base()
    act(doc, "greet")["loop"] = {"until": [], "max_attempts": 0}
    f = the_fault(doc, "out-of-range")
    assert (f.path, f.message) == ("$.activities[1].loop.max_attempts", "must be 1 or more")


def test_loop_delay_not_negative() -> None:
    doc = base()
    act(doc, "greet")["loop"] = {"until": [], "max_attempts": 3, "delay_seconds": -2}
    f = the_fault(doc, "out-of-range")
    assert f.path == "$.activities[1].loop.delay_seconds"


def test_loop_must_be_able_to_end() -> None:
    doc = base()
    act(doc, "greet")["loop"] = {"until": []}
    f = the_fault(doc, "endless-loop")
    assert (f.path, f.message) == (
        "$.activities[1].loop",
        "a loop needs until conditions or max_attempts to end",
    )


def test_good_loop() -> None:
    doc = base()
    act(doc, "greet")["loop"] = {
        "until": [{"data": "ExitCode", "op": "equals", "value": 0}],
        "delay_seconds": 1,
        "max_attempts": 5,
    }
    assert faults(doc) == []


# ---- core activity rules --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["My Name", "1st", "", "a.b"])
def test_parameter_names_must_be_valid(name: str) -> None:
    doc = base()
    act(doc, "start")["properties"]["parameters"].append({"name": name})
    f = the_fault(doc, "bad-parameter")
    assert f.path == "$.activities[0].properties.parameters[1].name"
    assert f.message == (
        f"{name!r} is not a valid parameter name: use letters, digits and _, "
        "not starting with a digit"
    )


def test_parameter_names_must_be_unique() -> None:
    doc = base()
    act(doc, "start")["properties"]["parameters"].append({"name": "Name", "type": "integer"})
    f = the_fault(doc, "duplicate-parameter")
    assert (f.path, f.message) == (
        "$.activities[0].properties.parameters[1].name",
        "'Name' is declared twice",
    )


@pytest.mark.parametrize(
    ("type_", "default", "message"),
    [
        ("integer", "ten", "the default is not a valid integer: expected an integer, got 'ten'"),
        ("integer", 1.5, "the default is not a valid integer: expected an integer, got 1.5"),
        ("boolean", "yes", "the default is not a valid boolean: expected true or false, got 'yes'"),
        (
            "datetime",
            "tomorrow",
            "the default is not a valid datetime: 'tomorrow' is not a date and time",
        ),
        (
            "datetime",
            5,
            "the default is not a valid datetime: expected a date and time as text, got a number",
        ),
    ],
)
def test_parameter_default_must_fit_its_type(type_: str, default: Any, message: str) -> None:
    doc = base()
    act(doc, "start")["properties"]["parameters"].append(
        {"name": "P", "type": type_, "default": default}
    )
    f = the_fault(doc, "bad-default")
    assert f.path == "$.activities[0].properties.parameters[1].default"
    assert f.message.startswith(message)


def test_return_data_only_declared_names() -> None:
    doc = base()
    act(doc, "done")["properties"]["data"]["Other"] = "x"
    f = the_fault(doc, "undeclared-return")
    assert (f.path, f.message) == (
        "$.activities[2].properties.data.Other",
        "'Other' is not declared in the runbook's returns (declared: Greeting)",
    )


def test_return_data_without_returns() -> None:
    doc = base()
    doc["returns"] = []
    f = the_fault(doc, "undeclared-return")
    assert f.message.endswith("(the runbook declares no returns)")


def junction_doc(source: str | None) -> dict[str, Any]:
    doc = base()
    doc["activities"] += [
        {"id": "side", "type": "run_program", "properties": {"program": "true"}},
        {"id": "join", "type": "junction", "properties": {}},
        {"id": "after", "type": "run_program", "properties": {"program": "echo"}},
    ]
    if source is not None:
        act(doc, "join")["properties"]["return_data_from"] = source
    doc["links"] += [
        {"from": "start", "to": "side"},
        {"from": "done", "to": "join"},
        {"from": "side", "to": "join"},
        {"from": "join", "to": "after"},
    ]
    return doc


def test_junction_return_data_from_must_be_linked_into_it() -> None:
    f = the_fault(junction_doc("greet"), "not-linked")
    assert (f.path, f.message) == (
        "$.activities[4].properties.return_data_from",
        "'greet' is not an activity linked into junction 'join' (linked into it: done, side)",
    )


def test_junction_republishes_its_source_fields() -> None:
    doc = junction_doc("side")
    act(doc, "after")["properties"]["args"] = ["{join.Output} {join.Status}"]
    assert faults(doc) == []
    act(doc, "after")["properties"]["args"] = ["{join.Greeting}"]
    f = the_fault(doc, "unknown-field")
    assert "'join' (junction) publishes no field 'Greeting'" in f.message


def test_junction_without_source_publishes_only_common_fields() -> None:
    doc = junction_doc(None)
    act(doc, "after")["properties"]["args"] = ["{join.Status}"]
    assert faults(doc) == []
    act(doc, "after")["properties"]["args"] = ["{join.Output}"]
    f = the_fault(doc, "unknown-field")
    assert f.message.endswith(
        "(it publishes: ActivityName, EndTime, ErrorSummary, StartTime, Status) "
        "(for the text itself write {{join.Output})"
    )


def test_junction_downstream_may_reference_any_branch() -> None:
    doc = junction_doc("side")
    act(doc, "after")["properties"]["args"] = ["{greet.Output} {side.ExitCode} {start.Name}"]
    assert faults(doc) == []


# ---- all at once ----------------------------------------------------------------------------


def test_all_faults_are_reported_at_once() -> None:
    doc = base()
    doc["folder"] = "Tests"
    doc["returns"].append({"name": "Greeting"})
    act(doc, "start")["properties"]["parameters"].append({"name": "Name"})
    act(doc, "greet")["properties"]["args"] = ["{done.Output}", "[Len(x)]", "{runbook.X}"]
    act(doc, "greet")["timeout_seconds"] = -1
    act(doc, "done")["properties"]["data"]["Extra"] = "{greet.Nope}"
    doc["links"].append({"from": "greet", "to": "ghost"})
    doc["links"][1]["include"] = [{"data": "Output", "op": "matches", "value": "("}]
    found = faults(doc)
    assert [(f.path, f.code) for f in found] == [
        ("$.folder", "bad-folder"),
        ("$.returns[1].name", "duplicate-return"),
        ("$.activities[1].properties.args[1]", "bad-expression"),
        ("$.activities[1].timeout_seconds", "out-of-range"),
        ("$.links[1].include[0].value", "bad-regex"),
        ("$.links[2].to", "unknown-activity"),
        ("$.activities[0].properties.parameters[1].name", "duplicate-parameter"),
        ("$.activities[2].properties.data.Extra", "undeclared-return"),
        ("$.activities[1].properties.args[0]", "not-upstream"),
        ("$.activities[1].properties.args[2]", "unknown-runbook-field"),
        ("$.activities[2].properties.data.Extra", "unknown-field"),
    ]


def test_document_invalid_summarises_the_faults() -> None:
    doc = base()
    doc["folder"] = "x"
    doc["max_concurrent_jobs"] = -3
    with pytest.raises(DocumentInvalid) as info:
        load(doc, REGISTRY)
    assert len(info.value.faults) == 2
    assert info.value.path == "$.folder"
    assert info.value.message.endswith("(and 1 more fault)")


# ---- limits ---------------------------------------------------------------------------------


def test_deeply_nested_calls_are_a_fault_not_a_crash() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["[Upper(" * 2000 + "'x'" + ")]" * 2000]
    f = the_fault(doc, "too-deep")
    assert f.path == "$.activities[1].properties.args[0]"
    assert f.message.startswith("data functions nested more than 32 deep at position 225")


def test_calls_nested_32_deep_are_fine() -> None:
    doc = base()
    act(doc, "greet")["properties"]["args"] = ["[Upper(" * 32 + "'x'" + ")]" * 32]
    assert faults(doc) == []


def test_deeply_nested_properties_are_a_fault_not_a_crash() -> None:
    doc = base()
    value: Any = "x"
    for _ in range(2000):
        value = [value]
    act(doc, "greet")["properties"]["args"] = value
    f = the_fault(doc, "too-deep")
    assert f.path == "$.activities[1].properties.args" + "[0]" * 63
    assert f.message == "nested more than 64 levels deep"


def test_deeply_nested_json_is_a_fault_not_a_crash() -> None:
    text = '{"format": "orch.runbook/1", "name": "x", "activities": [{"id": "a", "type": "wait", '
    text += '"properties": {"seconds": ' + "[" * 5000 + "]" * 5000 + "}}]}"
    f = the_fault(text, "too-deep")
    assert (f.path, f.message) == ("$", "the document is nested too deeply to read")
