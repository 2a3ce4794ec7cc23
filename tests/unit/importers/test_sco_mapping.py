"""The SCO importer's translation, without a database: every mapped activity type, link
triggers, references, placeholders, ids and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orch.document import load
from orch.document.expr import MappingScope
from orch.importers.sco import MAPPERS, build, parse_export
from orch.importers.sco.refs import split_args
from orch.sdk.registry import default_registry
from tests.unit.importers.sco_xml import (
    activity,
    export,
    fields,
    link,
    policy,
    ref,
    start,
    var,
    variables,
)
from tests.unit.runtime.helpers import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sco"
REGISTRY = default_registry()


def one(data: bytes, folder: str = "/Dest") -> Any:
    (rb,) = build(parse_export(data), folder).runbooks
    return rb


def acts(rb: Any) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in rb.document["activities"]}


def test_every_standard_activity_of_the_issue_has_a_mapper() -> None:
    wanted = {"Run Program", "Run .Net Script", "Run SSH Command", "Query Database",
              "Invoke Web Services", "Send Email", "Send Syslog Message", "Copy File",
              "Move File", "Rename File", "Delete File", "Create Folder", "Delete Folder",
              "Get File Status", "Append Line", "Delete Line", "Find Text", "Insert Line",
              "Read Line", "Search And Replace Text", "Compare Values", "Generate Random Text",
              "Format Date/Time", "Map Published Data", "Get Counter Value", "Modify Counter",
              "Monitor Counter", "Check Schedule", "Monitor Date/Time", "Monitor File",
              "Junction", "Return Data", "Custom Start", "Trigger Policy", "Wait"}  # fmt: skip
    assert wanted <= set(MAPPERS)


def test_the_catalog_export_maps_every_activity_and_every_runbook_validates() -> None:
    built = build(parse_export((FIXTURES / "catalog.ois_export").read_bytes()), "/")
    for rb in built.runbooks:
        load(rb.document, REGISTRY)  # raises on any fault
    every = built.runbooks[0]
    assert every.path == "/Catalog/Every Activity"
    types = {a.sco_type: a.type for a in every.activities}
    assert types == {
        "Custom Start": "initialize_data", "Run Program": "run_program",
        "Run .Net Script": "run_script", "Run SSH Command": "run_ssh_command",
        "Query Database": "query_database", "Invoke Web Services": "invoke_web_service",
        "Send Email": "send_email", "Send Syslog Message": "send_syslog",
        "Copy File": "copy_file", "Move File": "move_file", "Rename File": "rename_file",
        "Delete File": "delete_file", "Create Folder": "create_folder",
        "Delete Folder": "delete_folder", "Get File Status": "get_file_status",
        "Append Line": "append_line", "Delete Line": "delete_line", "Find Text": "find_text",
        "Insert Line": "insert_line", "Read Line": "read_line",
        "Search And Replace Text": "search_and_replace_text",
        "Compare Values": "compare_values", "Generate Random Text": "generate_random_text",
        "Format Date/Time": "format_date_time", "Map Published Data": "map_published_data",
        "Get Counter Value": "get_counter", "Modify Counter": "modify_counter",
        "Check Schedule": "check_schedule", "Wait": "wait", "Trigger Policy": "invoke_runbook",
        "Junction": "junction", "Return Data": "return_data",
    }  # fmt: skip
    assert not any(a.placeholder for a in every.activities)
    a = acts(every)
    assert a["run_program"]["properties"] == {"program": "ls", "cwd": "/tmp",
                                              "args": ["-l", "{start.Target_Path}"]}
    assert a["run_net_script"]["properties"] == {
        "interpreter": "pwsh",
        "script": '$h = @{a=1}; $x = "{start.Target_Path}"; Write-Output $h["a"]'}
    assert a["run_ssh_command"]["properties"]["port"] == 2222
    assert a["invoke_web_services"]["properties"]["headers"] == {"SOAPAction": "urn:Do"}
    assert a["send_syslog_message"]["properties"]["severity"] == "warning"
    assert a["copy_file"]["properties"]["overwrite"] is True
    assert a["delete_folder"]["properties"]["recursive"] is True
    assert a["compare_values"]["properties"]["op"] == "not_equals"
    assert a["map_published_data"]["properties"]["rules"] == [
        {"value": "a", "op": "equals", "result": "A"}]
    assert a["modify_counter"]["properties"] == {"name": "Greetings", "action": "increment",
                                                 "value": 2}  # fmt: skip
    assert a["trigger_child"]["properties"] == {
        "runbook": "/Catalog/Child", "parameters": {"Input": "{start.Target_Path}"},
        "wait": True}
    assert a["join"]["properties"] == {"return_data_from": "run_program"}
    assert a["return_data"]["properties"] == {"data": {"Listing": "{run_program.Output}"}}
    assert every.document["returns"] == [{"name": "Listing"}]
    monitors = {rb.path: rb.document["activities"][0] for rb in built.runbooks[2:]}
    assert monitors["/Catalog/Watch Counter"]["properties"] == {
        "counter": "Greetings", "value": 10, "op": "gt"}
    assert monitors["/Catalog/Every Five Minutes"]["properties"] == {"interval_seconds": 300}
    assert monitors["/Catalog/At Nine"]["properties"] == {"cron": "30 9 * * *"}
    assert monitors["/Catalog/Watch Drop Folder"]["properties"] == {
        "folder": "/srv/drop", "pattern": "*.csv", "recursive": True, "events": ["created"]}


def test_folders_below_the_outermost_become_folders_under_the_destination() -> None:
    data = export(policy("R", start()), folders=("Ops", "Nightly"))
    rb = one(data, "/Migrated")
    assert rb.path == "/Migrated/Ops/Nightly/R"
    assert rb.document["metadata"]["sco.path"] == "Ops\\Nightly\\R"
    assert one(export(policy("a/b", start())), "/").path == "/a-b"


def test_ids_are_stable_unique_slugs() -> None:
    objs = [start(), activity(2, "Copy it!", "Copy File", Source="/a", Destination="/b"),
            activity(3, "Copy-it", "Copy File", Source="/a", Destination="/b"),
            activity(4, "Runbook", "Wait", Seconds="1"), activity(5, "1st", "Wait", Seconds="1")]
    data = export(policy("R", *objs, link(1, 2), link(1, 3), link(1, 4), link(1, 5)))
    ids = [a["id"] for a in one(data).document["activities"]]
    assert ids == ["start", "copy_it", "copy_it_2", "runbook_2", "activity_1st"]
    assert [a["id"] for a in one(data).document["activities"]] == ids


def test_literal_text_stays_as_written_and_references_are_translated() -> None:
    script = ('d = {"a": [1, 2]}\n[ -n "$x" ] && echo ${HOME} ' + ref(1, "{" + "C0000000-0000"
              "-0000-0000-000000000007}") + " " + var(9) + " [Upper(x)] {a.b}")
    objs = [start(1, (7, "Who")),
            activity(2, "S", "Run .Net Script", ScriptType="PowerShell", ScriptBody=script)]
    data = export(policy("R", *objs, link(1, 2)), globals_=variables((9, "Region", "eu")))
    rb = one(data)
    body = acts(rb)["s"]["properties"]["script"]
    assert "{start.Who}" in body and "{variable:Region}" in body
    compiled = load(rb.document, REGISTRY)
    scope = MappingScope(values={"start": {"Who": "me"}}, variables={"Region": "eu"})
    rendered = compiled.activities["s"].properties.render(scope)["script"]
    assert rendered == ('d = {"a": [1, 2]}\n[ -n "$x" ] && echo ${HOME} me eu '
                        "[Upper(x)] {a.b}")
    assert rb.enabled


def test_untranslatable_references_are_kept_as_text_and_block_the_runbook() -> None:
    objs = [start(), activity(2, "A", "Run Program", ProgramPath="true"),
            activity(3, "B", "Run Program", ProgramPath="echo",
                     Parameters=f"{ref(2, 'ExitCode')} {ref(99, 'X')} {var(5)} "
                                "\\`d.T.~Ec/secret\\`d.T.~Ec/")]
    data = export(policy("R", *objs, link(1, 2), link(1, 3)))
    rb = one(data)
    assert not rb.enabled
    joined = "\n".join(rb.warnings)
    assert "'A', which is not linked before it" in joined
    assert "which is not an activity of this runbook" in joined
    assert "variable {D0000000-0000-0000-0000-000000000005}, which is not in the export" in joined
    assert "encrypted value cannot be imported" in joined
    compiled = load(rb.document, REGISTRY)
    args = compiled.activities["b"].properties.render(MappingScope())["args"]
    assert args[:2] == [ref(2, "ExitCode"), ref(99, "X")]  # as written in SCO
    assert args[2] == var(5)


def test_link_triggers_become_conditions() -> None:
    objs = [start(), activity(2, "Check", "Run Program", ProgramPath="true"),
            activity(3, "Ok", "Wait", Seconds="0"), activity(4, "Either", "Wait", Seconds="0"),
            activity(5, "Off", "Wait", Seconds="0"), activity(6, "Range", "Wait", Seconds="0")]
    g = "{B0000000-0000-0000-0000-000000000002}"
    links = [
        link(1, 2),
        link(2, 3, [{"Data": g, "Value": "success#warning"},
                    {"Data": f"{g}.ExitCode", "Condition": "equals", "Value": "0"},
                    {"Data": f"{g}.Pure output", "Condition": "contains", "Value": "ok"}],
             And="TRUE", WaitDelay="5", Label="all good"),
        link(2, 4, [{"Data": g, "Value": "failed"},
                    {"Data": f"{g}.ExitCode", "Condition": "isgreaterthan", "Value": "1"}]),
        link(2, 5, Enabled="FALSE"),
        link(2, 6, [{"Data": f"{g}.ExitCode", "Condition": "isbetween", "Value": "2#4"},
                    {"Data": f"{g}.ExitCode", "Condition": "doesnotequal", "Value": "3"}],
             And="TRUE"),
    ]
    rb = one(export(policy("R", *objs, *links)))
    doc_links = rb.document["links"]
    assert doc_links[0] == {"from": "start", "to": "check"}
    assert doc_links[1] == {
        "from": "check", "to": "ok", "name": "all good", "delay_seconds": 5, "include": [],
        "exclude": [{"data": "Status", "op": "not_matches", "value": "^(success|warning)$"},
                    {"data": "ExitCode", "op": "not_equals", "value": "0"},
                    {"data": "Output", "op": "not_matches", "value": "(?i)ok"}]}
    assert doc_links[2]["include"] == [{"data": "Status", "op": "equals", "value": "failed"},
                                       {"data": "ExitCode", "op": "gt", "value": "1"}]
    assert doc_links[3] == {"from": "check", "to": "off", "enabled": False}
    assert doc_links[4]["exclude"] == [{"data": "ExitCode", "op": "lt", "value": "2"},
                                       {"data": "ExitCode", "op": "gt", "value": "4"},
                                       {"data": "ExitCode", "op": "equals", "value": "3"}]
    compiled = load(rb.document, REGISTRY)
    and_link, or_link, _, range_link = compiled.links[1:]
    item = {"Status": "success", "ExitCode": "0", "Output": "All OK"}
    assert and_link.followed(item)
    assert not and_link.followed({**item, "Output": "nope"})
    assert not and_link.followed({**item, "Status": "failed"})
    assert or_link.followed({"Status": "failed", "ExitCode": "0"})
    assert or_link.followed({"Status": "success", "ExitCode": "2"})
    assert not or_link.followed({"Status": "success", "ExitCode": "0"})
    assert [range_link.followed({"ExitCode": str(n)}) for n in range(1, 6)] == [
        False, True, False, True, False]


def test_a_dangling_link_and_a_foreign_condition_are_reported() -> None:
    objs = [start(), activity(2, "A", "Wait", Seconds="0"), activity(3, "B", "Wait", Seconds="0")]
    links = [link(1, 2), link(2, 42),
             link(2, 3, [{"Data": "{B0000000-0000-0000-0000-000000000001}.X",
                          "Condition": "equals", "Value": "1"}])]
    rb = one(export(policy("R", *objs, *links)))
    joined = "\n".join(rb.warnings)
    assert "is not an activity of this runbook; it was left out" in joined
    assert "not published by the link's source 'A'" in joined
    assert not rb.enabled


async def test_placeholders_fail_with_not_imported_and_the_runbook_imports_disabled() -> None:
    objs = [start(), activity(2, "Legacy", "Run .Net Script", ScriptType="C#",
                              ScriptBody="Console.WriteLine(1);"),
            activity(3, "Ticket", "Create Incident", Title="{x}")]
    rb = one(export(policy("R", *objs, link(1, 2), link(2, 3))))
    assert not rb.enabled
    shown = [(a.name, a.type, a.placeholder) for a in rb.activities]
    assert shown == [("Start", "initialize_data", False), ("Legacy", "not_imported", True),
                     ("Ticket", "not_imported", True)]
    legacy = acts(rb)["legacy"]["properties"]
    assert legacy["source_type"] == "Run .Net Script (C#)"
    assert legacy["original"]["ScriptBody"] == "Console.WriteLine(1);"
    assert acts(rb)["ticket"]["properties"]["original"]["Title"] == "{x}"
    h, outcome = await run(rb.document)
    assert outcome.status == "failed"
    (failed,) = [r for r in h.runs() if r.activity == "legacy"]
    assert "not imported: Run .Net Script (C#)" in (failed.error or "")


def test_disabled_activities_and_remote_execution_are_carried_or_reported() -> None:
    objs = [start(), activity(2, "Off", "Wait", Seconds="0", Enabled="FALSE"),
            activity(3, "Remote", "Run Program", ProgramPath="hostname", Computer="SRV01",
                     ASC_UseServiceSecurity="FALSE", ASC_Username="CORP\\svc")]
    rb = one(export(policy("R", *objs, link(1, 2), link(1, 3))))
    assert acts(rb)["off"]["enabled"] is False
    joined = "\n".join(rb.warnings)
    assert "ran on 'SRV01' in SCO" in joined and "ran as 'CORP\\\\svc'" in joined
    load(rb.document, REGISTRY)
    rb = one(export(policy("R", activity(1, "S", "Wait", Seconds="0", Enabled="FALSE"))))
    assert "enabled" not in rb.document["activities"][0] and not rb.enabled


def test_runbook_properties_are_carried() -> None:
    data = export(policy("R", start(), MaxParallelRequests="1", PolicyTimeout="90",
                         LogSpecificData="FALSE", LogCommonData="TRUE", NotifyOnFail="TRUE",
                         Description="d"))  # fmt: skip
    doc = one(data).document
    assert (doc["max_concurrent_jobs"], doc["job_timeout_seconds"], doc["description"]) == (
        1, 90, "d")
    assert doc["logging"] == {"store_published_data": False, "store_common_data": True}
    assert doc["notifications"] == {"on_failure_to_run": True}


def test_a_trigger_policy_to_a_runbook_imported_before_uses_its_path() -> None:
    tp = activity(2, "Call", "Trigger Policy",
                  PolicyObjectID="{A0000000-0000-0000-0000-0000000000FF}",
                  PolicyPath="\\Old\\Child")
    data = export(policy("R", start(), tp, link(1, 2)))
    built = build(parse_export(data), "/D", {"{A0000000-0000-0000-0000-0000000000FF}": "/X/Child"})
    assert built.runbooks[0].document["activities"][1]["properties"]["runbook"] == "/X/Child"
    rb = one(data)
    assert rb.document["activities"][1]["properties"]["runbook"] == "/Old/Child"
    assert "neither in this export nor imported before" in rb.warnings[0]


def test_variables_plain_and_encrypted() -> None:
    g = variables((1, "Plain Var", "v"), (2, "Secret", "\\`d.T.~Ec/xyz\\`d.T.~Ec/"))
    built = build(parse_export(export(globals_=g)), "/")
    assert [(v.name, v.value, v.encrypted) for v in built.variables] == [
        ("Plain_Var", "v", False), ("Secret", "", True)]


@pytest.mark.parametrize(("line", "args"), [
    ('-l "a b" c', ["-l", "a b", "c"]),
    ('say \\"hi\\"', ["say", '"hi"']),
    ('x "" y', ["x", "", "y"]),
    (f"echo {ref(1, 'Field With Spaces')}", ["echo", ref(1, "Field With Spaces")]),
])  # fmt: skip
def test_split_args(line: str, args: list[str]) -> None:
    assert split_args(line) == args


def test_objects_grouped_and_unknown_globals() -> None:
    data = (b"<ExportData><Policies><Folder><Folder>" + fields(Name="F").encode()
            + b"<Objects>" + policy("R", start()).encode() + b"</Objects></Folder></Folder>"
            b"</Policies></ExportData>")
    assert one(data, "/").path == "/F/R"


def test_a_junction_returning_data_of_an_activity_not_linked_into_it_is_reported() -> None:
    objs = [start(), activity(2, "A", "Wait", Seconds="0"), activity(3, "B", "Wait", Seconds="0"),
            activity(4, "J", "Junction", ReturnDataFrom="{B0000000-0000-0000-0000-000000000001}")]
    rb = one(export(policy("R", *objs, link(1, 2), link(1, 3), link(2, 4), link(3, 4))))
    assert acts(rb)["j"]["properties"] == {}
    assert "'Start', which is not linked into it" in "\n".join(rb.warnings)
    load(rb.document, REGISTRY)


def test_initialize_data_as_a_published_data_item_list() -> None:
    items = ("&lt;Item&gt;&lt;UniqueID&gt;{C0000000-0000-0000-0000-000000000004}&lt;/UniqueID&gt;"
             "&lt;Name&gt;Server&lt;/Name&gt;&lt;Type&gt;String&lt;/Type&gt;&lt;/Item&gt;")
    init = ("<Object>" + fields(UniqueID="{B0000000-0000-0000-0000-000000000001}", Name="Init",
                                ObjectTypeName="Initialize Data")
            + f'<PublishedData datatype="string">{items}</PublishedData></Object>')
    use = activity(2, "Use", "Run Program", ProgramPath="ping",
                   Parameters=ref(1, "{C0000000-0000-0000-0000-000000000004}"))
    rb = one(export(policy("R", init, use, link(1, 2))))
    assert acts(rb)["init"]["properties"] == {"parameters": [{"name": "Server",
                                                              "type": "string"}]}
    assert acts(rb)["use"]["properties"]["args"] == ["{init.Server}"]
    assert rb.enabled


def test_a_powershell_script_publishes_its_sco_published_variables() -> None:
    items = ("&lt;Item&gt;&lt;Name&gt;Result Text&lt;/Name&gt;&lt;Type&gt;String&lt;/Type&gt;"
             "&lt;Variable&gt;result&lt;/Variable&gt;&lt;/Item&gt;"
             "&lt;Item&gt;&lt;Name&gt;Count&lt;/Name&gt;&lt;Variable&gt;$n&lt;/Variable&gt;"
             "&lt;/Item&gt;")
    script = ("<Object>" + fields(UniqueID="{B0000000-0000-0000-0000-000000000002}",
                                  Name="Script", ObjectTypeName="Run .Net Script",
                                  ScriptType="PowerShell", ScriptBody="$result = 'x'; $n = 2")
              + f'<PublishedData datatype="string">{items}</PublishedData></Object>')
    use = activity(3, "Use", "Run Program", ProgramPath="echo",
                   Parameters=f"{ref(2, 'Result Text')} {ref(2, 'Count')}")
    rb = one(export(policy("R", start(), script, use, link(1, 2), link(2, 3))))
    props = acts(rb)["script"]["properties"]
    assert props["publish"] == ["Result_Text", "Count"]
    assert props["script"].startswith("$result = 'x'; $n = 2\n\n# orch: publishes")
    assert acts(rb)["use"]["properties"]["args"] == ["{script.Result_Text}", "{script.Count}"]
    compiled = load(rb.document, REGISTRY)
    rendered = compiled.activities["script"].properties.render(MappingScope())["script"]
    assert "[ordered]@{ 'Result_Text' = [string]$result; 'Count' = [string]$n } |" in rendered
    assert rb.enabled
