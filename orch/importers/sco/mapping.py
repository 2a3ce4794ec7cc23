"""One function per SCO activity type: its fields → an orch activity type and properties.

Each mapper gets the SCO object through a :class:`Source` (which translates
text and collects warnings) and returns a :class:`Mapped`: the orch type,
its properties (text already translated to template text) and the table
that renames the SCO published-data names downstream references use
(compared loosely: ``Program exit code`` ~ ``ProgramExitCode``). A type
without a mapper becomes ``not_imported``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from orch.document.expr import escape_literal
from orch.importers.sco.refs import field_key, name_slug, split_args
from orch.importers.sco.xmlread import SCOObject

__all__ = ["MAPPERS", "Mapped", "Source", "placeholder", "sco_operator"]


class Source(Protocol):
    obj: SCOObject

    def text(self, raw: str) -> str:
        """``raw`` as template text (references translated, the rest literal)."""

    def warn(self, message: str, *, blocking: bool = True) -> None:
        """A warning in the report, naming the runbook and this activity; a blocking one
        imports the runbook disabled."""

    def activity_id(self, guid: str) -> str | None:
        """The orch id of the activity with SCO UniqueID ``guid`` in this runbook."""

    def child_path(self, guid: str, sco_path: str) -> str | None:
        """The orch path of the runbook a Trigger Policy starts."""


@dataclass(slots=True)
class Mapped:
    type: str
    properties: dict[str, Any]
    fields: dict[str, str] | None = field(default_factory=dict)
    """Loose SCO published name → orch field; None: any name, as :func:`name_slug` gives it."""
    placeholder: bool = False
    parameters: dict[str, str] = field(default_factory=dict)
    """Initialize Data: parameter UniqueID → parameter name (references use the GUID)."""
    returns: list[str] = field(default_factory=list)
    """Return Data: the names it returns."""


def _fields(**pairs: str) -> dict[str, str]:
    """Loose SCO names → orch fields (each orch field also matches its own name)."""
    out = {field_key(k.replace("_", " ")): v for k, v in pairs.items()}
    for v in set(pairs.values()):
        out.setdefault(field_key(v), v)
    return out


_OUTPUT = _fields(ExitCode="ExitCode", Program_exit_code="ExitCode", ProgramExitCode="ExitCode",
                  ReturnCode="ExitCode", Pure_output="Output", ProgramOutput="Output",
                  Output="Output", Standard_output="Output", StdOut="Output",
                  ErrorOutput="ErrorOutput", Error_output="ErrorOutput", StdErr="ErrorOutput",
                  Command_output="Output", CommandOutput="Output")  # fmt: skip


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return default


def _number(text: str, default: float = 0) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return default


def _literal(text: str) -> bool:
    return "`d.T.~" not in text


def _is_local(computer: str) -> bool:
    return computer.strip().lower() in ("", ".", "localhost", "127.0.0.1")


def placeholder(src: Source, sco_type: str, message: str) -> Mapped:
    original = {k: src.text(v) for k, v in src.obj.fields.items()
                if src.obj.datatypes.get(k) != "null" and k not in _COMMON}
    src.warn(f"not imported ({sco_type}): {message}; a not_imported placeholder stands in its "
             "place and fails if it runs")  # fmt: skip
    return Mapped(type="not_imported", placeholder=True,
                  properties={"source_type": sco_type, "message": message,
                              "original": original})  # fmt: skip


_COMMON = frozenset({
    "UniqueID", "ParentID", "Name", "Description", "PositionX", "PositionY", "ObjectType",
    "SubType", "Enabled", "Flags", "ASC_UseServiceSecurity", "ASC_ThisAccount", "ASC_Username",
    "ASC_Password", "HasExtenders", "CreationTime", "CreatedBy", "LastModified",
    "LastModifiedBy", "Deleted", "Cost", "Savings", "Number", "AlternateDisplayData",
    "ASW_ObjectTimeout", "ASW_NotifyOnFail", "Flatten", "FlatUseLineBreak", "FlatUseCSV",
    "FlatUseCustomSep", "FlatCustomSep", "ObjectTypeName",
})
"""The fields every SCO object carries (handled by the builder, not by a mapper)."""


def escaped_items(text: str) -> list[dict[str, str]]:
    """Items of a field that holds XML escaped as text (``PublishedData``, ``Filters``…):
    each element with element children becomes {child tag: text}. Parsed with the same
    hardening as the export; unreadable text gives no items."""
    if not text.strip():
        return []
    try:
        root: Element = SafeET.fromstring(f"<r>{text}</r>", forbid_dtd=True,
                                          forbid_entities=True, forbid_external=True)
    except Exception:
        return []
    out = []
    for el in root.iter():
        children = list(el)
        if el is root or not children or any(len(c) for c in children):
            continue
        out.append({c.tag: (c.text or "") for c in children})
    return out


# ---- runbook control ----------------------------------------------------------------------

_PARAMETER_TYPES = {"string": "string", "integer": "integer", "int": "integer",
                    "boolean": "boolean", "bool": "boolean", "date": "datetime",
                    "datetime": "datetime", "date/time": "datetime"}  # fmt: skip


def initialize_data(src: Source) -> Mapped:
    entries = src.obj.lists.get("CUSTOM_START_PARAMETERS")
    if entries is None:
        entries = [{"UniqueID": i.get("UniqueID", i.get("Id", "")),
                    "Value": i.get("Name", i.get("Value", "")), "Type": i.get("Type", "")}
                   for i in escaped_items(src.obj.get("PublishedData"))]  # fmt: skip
    parameters: list[dict[str, Any]] = []
    by_guid: dict[str, str] = {}
    taken: set[str] = set()
    for entry in entries:
        sco_name = entry.get("Value", "").strip()
        if not sco_name:
            src.warn("a parameter without a name was left out")
            continue
        name = name_slug(sco_name, fallback="Parameter")
        if name in taken:
            src.warn(f"parameter {sco_name!r} has the same orch name as another ({name}); "
                     "it was left out")  # fmt: skip
            continue
        taken.add(name)
        ptype = _PARAMETER_TYPES.get(entry.get("Type", "string").strip().lower())
        if ptype is None:
            src.warn(f"parameter {sco_name!r} has type {entry.get('Type')!r}; imported as text")
            ptype = "string"
        if name != sco_name:
            src.warn(f"parameter {sco_name!r} is named {name} in orch (names are identifiers): "
                     "callers must use that name", blocking=False)  # fmt: skip
        spec: dict[str, Any] = {"name": name, "type": ptype}
        description = entry.get("ParameterDescription", "").strip()
        if description:
            spec["description"] = description
        parameters.append(spec)
        guid = entry.get("UniqueID", "").strip().upper()
        if guid:
            by_guid[guid] = name
    return Mapped(type="initialize_data", properties={"parameters": parameters}, fields=None,
                  parameters=by_guid)


def return_data(src: Source) -> Mapped:
    entries = src.obj.lists.get("PUBLISH_POLICY_DATA", [])
    data: dict[str, str] = {}
    names: list[str] = []
    for entry in entries:
        sco_name = (entry.get("Name") or entry.get("Key") or entry.get("Data") or "").strip()
        if not sco_name:
            src.warn("a returned value without a name was left out")
            continue
        name = name_slug(sco_name)
        if name != sco_name:
            src.warn(f"returned data {sco_name!r} is named {name} in orch", blocking=False)
        data[name] = src.text(entry.get("Value", ""))
        names.append(name)
    return Mapped(type="return_data", properties={"data": data}, returns=names)


def junction(src: Source) -> Mapped:
    guid = src.obj.get("ReturnDataFrom", "ReturnData").strip().upper()
    props: dict[str, Any] = {}
    if guid and guid != "{00000000-0000-0000-0000-000000000000}":
        target = src.activity_id(guid)
        if target is None:
            src.warn(f"it returns the data of {guid}, which is not an activity of this runbook; "
                     "it now returns none")  # fmt: skip
        else:
            props["return_data_from"] = target
    return Mapped(type="junction", properties=props, fields=None)


def trigger_policy(src: Source) -> Mapped:
    guid = src.obj.get("PolicyObjectID").strip().upper()
    sco_path = src.obj.get("PolicyPath").strip()
    path = src.child_path(guid, sco_path)
    if path is None:
        src.warn(f"it starts the runbook {sco_path or guid!r}, which is neither in this export "
                 "nor imported before; import it too (the reference uses its SCO path)")
        path = "/" + "/".join(p for p in re.split(r"[\\/]+", sco_path) if p) or "/missing"
    parameters = {}
    for entry in src.obj.lists.get("TRIGGER_POLICY_PARAMETERS", []):
        sco_name = entry.get("ParameterName", entry.get("Name", "")).strip()
        if not sco_name:
            continue
        parameters[name_slug(sco_name, fallback="Parameter")] = src.text(entry.get("Value", ""))
    wait = src.obj.flag("WaitToComplete", "WaitForCompletion", default=True)
    return Mapped(type="invoke_runbook", fields=None,
                  properties={"runbook": path, "parameters": parameters, "wait": wait})


def wait(src: Source) -> Mapped:
    seconds = _number(src.obj.get("Seconds", "Duration", "Delay", "WaitTime"), 0)
    return Mapped(type="wait", properties={"seconds": seconds})


# ---- system -------------------------------------------------------------------------------


def _remote(src: Source, *names: str) -> None:
    computer = src.obj.get(*names)
    if not _is_local(computer):
        src.warn(f"it ran on {computer!r} in SCO; here it runs on the runbook server (run it "
                 "remotely with run_ssh_command, or assign the runbook to a server on that "
                 "machine)")  # fmt: skip


def run_program(src: Source) -> Mapped:
    _remote(src, "Computer", "ComputerName")
    program = src.obj.get("ProgramPath", "Program", "Command").strip()
    raw_args = src.obj.get("Parameters", "Arguments", "ProgramParameters")
    mode = src.obj.get("ProgramExecutionMode", "Mode", "RunMode").lower()
    props: dict[str, Any]
    if "command" in mode:
        props = {"program": "sh", "args": ["-c", src.text(program)]}
    else:
        props = {"program": src.text(program),
                 "args": [src.text(a) for a in split_args(raw_args)]}
    cwd = src.obj.get("WorkingFolder", "WorkingDirectory").strip()
    if cwd:
        props["cwd"] = src.text(cwd)
    return Mapped(type="run_program", properties=props, fields=_OUTPUT)


def _ps_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_script(src: Source) -> Mapped:
    language = src.obj.get("ScriptType", "Language", "ScriptLanguage").strip()
    if language.lower().replace(" ", "") not in ("powershell", "ps", "ps1"):
        return placeholder(src, f"Run .Net Script ({language or 'unknown language'})",
                           f"{language or 'this language'} scripts do not run here; rewrite it "
                           "for pwsh, python3 or bash in a run_script activity")
    _remote(src, "Computer", "ComputerName")
    script = src.text(src.obj.get("ScriptBody", "Script"))
    fields = dict(_OUTPUT)
    publish: list[str] = []
    pairs: list[str] = []
    for item in escaped_items(src.obj.get("PublishedData")):
        sco_name = (item.get("Name") or item.get("PublishedDataName") or item.get("Key")
                    or "").strip()
        variable = (item.get("Variable") or item.get("VariableName") or item.get("Value")
                    or sco_name).strip().lstrip("$")
        if not sco_name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
            src.warn(f"a published variable ({sco_name or '?'} = ${variable or '?'}) cannot be "
                     "published; it was left out")  # fmt: skip
            continue
        name = name_slug(sco_name)
        if name in ("Output", "ErrorOutput", "ExitCode", "Status", "StartTime", "EndTime",
                    "ErrorSummary", "ActivityName") or name in publish:
            src.warn(f"published variable {sco_name!r} clashes with a field of the same name; "
                     "it was left out")  # fmt: skip
            continue
        publish.append(name)
        fields[field_key(sco_name)] = name
        pairs.append(f"{_ps_string(name)} = [string]${variable}")
    props: dict[str, Any] = {"script": script, "interpreter": "pwsh"}
    if publish:
        trailer = (
            "\n\n# orch: publishes the variables SCO published (run_script's publish)\n"
            "if ($env:ORCH_PUBLISH_FILE) {\n"
            f"    [ordered]@{{ {'; '.join(pairs)} }} | ConvertTo-Json -Compress |\n"
            "        Set-Content -LiteralPath $env:ORCH_PUBLISH_FILE -Encoding utf8\n"
            "}\n"
        )
        props["script"] = script + escape_literal(trailer)
        props["publish"] = publish
        src.warn(f"its published variables ({', '.join(publish)}) are published by lines "
                 "appended to the script; a script that exits before its end publishes them "
                 "empty", blocking=False)  # fmt: skip
    return Mapped(type="run_script", fields=fields, properties=props)


def run_ssh(src: Source) -> Mapped:
    props: dict[str, Any] = {
        "host": src.text(src.obj.get("Computer", "Host", "HostName").strip()),
        "command": src.text(src.obj.get("Command", "CommandLine")),
        "user": src.text(src.obj.get("UserName", "Username", "User").strip()),
    }
    port = src.obj.get("Port").strip()
    if port:
        props["port"] = _int(port, 22)
    if src.obj.get("Password", "KeyFile", "PrivateKeyFile", "PassPhrase"):
        src.warn("its password or key file is not imported: give run_ssh_command a "
                 "password or private_key from an encrypted variable ({variable:Name})")
    return Mapped(type="run_ssh_command", properties=props, fields=_OUTPUT)


def query_database(src: Source) -> Mapped:
    connection = src.obj.get("ConnectionString", "Connection").strip()
    if not connection.startswith(("postgresql://", "postgres://", "sqlite:///")):
        server = src.obj.get("Server", "DatabaseServer", "Computer").strip()
        database = src.obj.get("Database", "DatabaseName", "Catalog").strip()
        kind = src.obj.get("DatabaseType", "Type").strip() or "SQL Server"
        src.warn(f"it queried {kind} database {database or '?'} on {server or '?'}; orch "
                 "connects to PostgreSQL or SQLite: set its connection property")
        connection = ""
    return Mapped(type="query_database", fields=None,
                  properties={"connection": src.text(connection),
                              "query": src.text(src.obj.get("Query", "SQLQuery")),
                              "publish_empty": True})  # fmt: skip


def invoke_web_service(src: Source) -> Mapped:
    url = src.obj.get("URL", "Url", "WSDL", "WebServiceURL", "Address").strip()
    body = src.obj.get("Request", "Body", "RequestBody", "SoapRequest")
    method = (src.obj.get("Method", "HttpMethod").strip() or ("POST" if body else "GET")).upper()
    props: dict[str, Any] = {"url": src.text(url), "method": method}
    if body:
        props["body"] = src.text(body)
        props["content_type"] = src.obj.get("ContentType").strip() or "text/xml; charset=utf-8"
    action = src.obj.get("SOAPAction", "SoapAction", "Method Name").strip()
    if action:
        props["headers"] = {"SOAPAction": src.text(action)}
    return Mapped(type="invoke_web_service", properties=props,
                  fields=_fields(Response="ResponseBody", ResponseBody="ResponseBody",
                                 Raw_response="ResponseBody", StatusCode="StatusCode",
                                 Status_code="StatusCode"))  # fmt: skip


# ---- notification -------------------------------------------------------------------------


def send_email(src: Source) -> Mapped:
    to: list[str] = []
    for entry in src.obj.lists.get("Recipients", []) + src.obj.lists.get("RECIPIENTS", []):
        address = entry.get("Value", entry.get("Address", entry.get("Recipient", ""))).strip()
        if address:
            to.append(src.text(address))
    recipients = src.obj.get("To", "Recipients", "EmailAddress").strip()
    if recipients:
        to.append(src.text(recipients))
    props: dict[str, Any] = {
        "host": src.text(src.obj.get("SmtpServer", "Server", "SMTPServer").strip()),
        "from": src.text(src.obj.get("From", "Sender", "SenderAddress").strip()),
        "to": ",".join(to),
        "subject": src.text(src.obj.get("Subject")),
        "body": src.text(src.obj.get("Message", "Body", "MessageBody")),
    }
    port = src.obj.get("Port", "SmtpPort").strip()
    if port:
        props["port"] = _int(port)
    if src.obj.flag("EnableSSL", "UseSSL", "SSL"):
        props["security"] = "starttls"
    if src.obj.get("Password"):
        src.warn("its SMTP password is not imported: set send_email's password from an "
                 "encrypted variable ({variable:Name})")
    return Mapped(type="send_email", properties=props)


def send_syslog(src: Source) -> Mapped:
    props: dict[str, Any] = {
        "host": src.text(src.obj.get("Server", "Host", "Destination", "Computer").strip()),
        "message": src.text(src.obj.get("Message", "Text")),
    }
    for sco, key in (("Severity", "severity"), ("Facility", "facility")):
        value = src.obj.get(sco).strip()
        if value:
            props[key] = src.text(value.lower())
    return Mapped(type="send_syslog", properties=props)


# ---- files --------------------------------------------------------------------------------

_FILE_FIELDS = _fields(Path="Path", File="Path", FileName="Name", File_name="Name",
                       Name="Name", Full_path="Path", FullPath="Path", FileSize="Size",
                       Size="Size", File_size="Size", Folder="Folder", Extension="Extension",
                       LastModified="ModifiedTime", ModifiedTime="ModifiedTime")  # fmt: skip


def _copy_move(kind: str) -> Callable[[Source], Mapped]:
    def mapper(src: Source) -> Mapped:
        overwrite = src.obj.get("IfDestinationExists", "Overwrite", "IfExists").lower()
        props: dict[str, Any] = {
            "source": src.text(src.obj.get("Source", "SourceFile", "File", "Path").strip()),
            "destination": src.text(src.obj.get("Destination", "DestinationFolder",
                                                "Target").strip()),
            "overwrite": overwrite in ("true", "overwrite", "1"),
            "create_folders": src.obj.flag("CreateFolders", "CreateDestination"),
        }
        return Mapped(type=kind, properties=props, fields=_FILE_FIELDS)

    return mapper


def _path_only(kind: str, *extra: tuple[str, str]) -> Callable[[Source], Mapped]:
    def mapper(src: Source) -> Mapped:
        props: dict[str, Any] = {"path": src.text(src.obj.get("Path", "File", "Folder",
                                                              "FileName").strip())}
        for sco, key in extra:
            if src.obj.has(sco):
                props[key] = src.obj.flag(sco)
        return Mapped(type=kind, properties=props, fields=_FILE_FIELDS)

    return mapper


def rename_file(src: Source) -> Mapped:
    return Mapped(type="rename_file", fields=_FILE_FIELDS, properties={
        "path": src.text(src.obj.get("Path", "File", "Source").strip()),
        "new_name": src.text(src.obj.get("NewName", "Destination").strip()),
        "overwrite": src.obj.flag("Overwrite"),
    })


def _text_file(kind: str) -> Callable[[Source], Mapped]:
    def mapper(src: Source) -> Mapped:
        props: dict[str, Any] = {"path": src.text(src.obj.get("File", "Path", "FileName").strip())}
        text = src.obj.get("Text", "SearchText", "Line")
        if kind in ("append_line", "insert_line", "find_text"):
            props["text"] = src.text(text)
        if kind in ("delete_line", "read_line"):
            lines = src.obj.get("LineNumbers", "Lines", "LineNumber").strip()
            if lines or kind == "delete_line":
                props["lines"] = src.text(lines or "1")
        if kind == "insert_line":
            number = src.obj.get("LineNumber").strip()
            if number:
                props["line_number"] = src.text(number)
        if kind == "find_text":
            if src.obj.has("CaseSensitive"):
                props["case_sensitive"] = src.obj.flag("CaseSensitive")
            if src.obj.has("Regex") or src.obj.has("RegularExpression"):
                props["regex"] = src.obj.flag("Regex", "RegularExpression")
        if kind == "search_and_replace_text":
            props["search"] = src.text(src.obj.get("Search", "SearchText", "Find"))
            props["replace"] = src.text(src.obj.get("Replace", "ReplaceText", "ReplaceWith"))
        encoding = src.obj.get("FileEncoding", "Encoding").strip().lower()
        if encoding and encoding not in ("auto", "default"):
            props["encoding"] = encoding
        return Mapped(type=kind, properties=props,
                      fields=_fields(Line="Line", Line_text="Line", LineNumber="LineNumber",
                                     Line_number="LineNumber", File="Path", Path="Path",
                                     Number_of_lines="LineCount", LineCount="LineCount",
                                     Match="Match", Replacements="Replacements",
                                     Deleted="Deleted"))  # fmt: skip

    return mapper


# ---- utilities ----------------------------------------------------------------------------

_SCO_OPS = {
    "equals": "equals", "doesnotequal": "not_equals", "notequals": "not_equals",
    "contains": "contains", "doesnotcontain": "not_contains",
    "matchespattern": "matches", "matches": "matches", "doesnotmatchpattern": "not_matches",
    "startswith": "starts_with", "endswith": "ends_with",
    "isgreaterthan": "gt", "greaterthan": "gt", "isgreaterthanorequalto": "ge",
    "isgreaterthanorequal": "ge", "islessthan": "lt", "lessthan": "lt",
    "islessthanorequalto": "le", "islessthanorequal": "le", "isbetween": "between",
    "istrue": "istrue", "isfalse": "isfalse",
}


def sco_operator(condition: str) -> str | None:
    """An SCO condition name (``doesnotequal``, ``is greater than``…) → an orch operator."""
    return _SCO_OPS.get(re.sub(r"[^a-z]", "", condition.lower()))


def compare_values(src: Source) -> Mapped:
    op = sco_operator(src.obj.get("Operator", "Condition", "Comparison") or "equals")
    value = src.text(src.obj.get("Value1", "Value", "Test"))
    to = src.text(src.obj.get("Value2", "CompareTo", "To"))
    if op in ("istrue", "isfalse"):
        op, to = "equals", "true" if op == "istrue" else "false"
    if op is None:
        src.warn(f"its operator {src.obj.get('Operator', 'Condition')!r} is unknown; "
                 "compared with equals")  # fmt: skip
        op = "equals"
    return Mapped(type="compare_values", properties={"value": value, "op": op, "to": to},
                  fields=_fields(Comparison_result="Result", ComparisonResult="Result",
                                 Result="Result"))  # fmt: skip


def random_text(src: Source) -> Mapped:
    props: dict[str, Any] = {"length": _int(src.obj.get("Length", "TextLength"), 16) or 16}
    for sco, key in (("UpperCase", "uppercase"), ("LowerCase", "lowercase"),
                     ("Numbers", "digits"), ("Symbols", "symbols")):
        if src.obj.has(sco):
            props[key] = src.obj.flag(sco)
    return Mapped(type="generate_random_text", properties=props,
                  fields=_fields(Random_text="Value", RandomText="Value", Text="Value",
                                 Value="Value"))  # fmt: skip


def format_date(src: Source) -> Mapped:
    props: dict[str, Any] = {
        "value": src.text(src.obj.get("DateTime", "Input", "Value", "Date")),
        "input_format": src.text(src.obj.get("Format", "InputFormat")),
        "output_format": src.text(src.obj.get("OutputFormat", "ResultFormat")),
    }
    for unit in ("Years", "Months", "Days", "Hours", "Minutes", "Seconds"):
        amount = src.obj.get(f"Add{unit}", unit).strip()
        if amount:
            props[f"add_{unit.lower()}"] = _number(amount) if "." in amount else _int(amount)
    return Mapped(type="format_date_time", properties=props,
                  fields=_fields(Formatted_date_time="Value", FormattedDateTime="Value",
                                 Result="Value", Value="Value", Time="Time"))  # fmt: skip


def map_published_data(src: Source) -> Mapped:
    rules = []
    items = src.obj.lists.get("MAPPINGS") or escaped_items(
        src.obj.get("Mappings", "MappingRules", "Rules"))
    for item in items:
        pattern = item.get("Pattern", item.get("Source", item.get("From", "")))
        op = sco_operator(item.get("Condition", "equals")) or "equals"
        if op in ("istrue", "isfalse", "between"):
            src.warn(f"a rule's condition {item.get('Condition')!r} cannot be mapped; "
                     "it compares with equals")  # fmt: skip
            op = "equals"
        result = item.get("Value", item.get("Result", item.get("To", "")))
        rules.append({"value": pattern, "op": op, "result": src.text(result)})
    if not items:
        src.warn("no mapping rules were found in it; add map_published_data rules by hand")
    props: dict[str, Any] = {"value": src.text(src.obj.get("Input", "Value", "Source")),
                             "rules": rules}
    if src.obj.has("Default") or src.obj.has("DefaultValue"):
        props["default"] = src.text(src.obj.get("Default", "DefaultValue"))
    return Mapped(type="map_published_data", properties=props,
                  fields=_fields(Mapped_value="Value", Output="Value", Value="Value"))


# ---- counters, schedules, monitors ---------------------------------------------------------

_COUNTER_FIELDS = _fields(Counter_value="Value", CounterValue="Value", Value="Value",
                          Counter_name="Name", Name="Name")  # fmt: skip


def _counter_name(src: Source) -> str:
    return src.text(src.obj.get("Counter", "CounterName", "Name_of_counter").strip())


def get_counter(src: Source) -> Mapped:
    return Mapped(type="get_counter", properties={"name": _counter_name(src)},
                  fields=_COUNTER_FIELDS)


def modify_counter(src: Source) -> Mapped:
    action = src.obj.get("Action", "Operation").strip().lower() or "increment"
    action = {"add": "increment", "subtract": "decrement"}.get(action, action)
    if action not in ("set", "increment", "decrement", "reset"):
        src.warn(f"its action {action!r} is unknown; it increments")
        action = "increment"
    props: dict[str, Any] = {"name": _counter_name(src), "action": action}
    value = src.obj.get("Value", "Amount").strip()
    if value and action != "reset":
        props["value"] = src.text(value) if not _literal(value) else _int(value, 1)
    return Mapped(type="modify_counter", properties=props, fields=_COUNTER_FIELDS)


def monitor_counter(src: Source) -> Mapped:
    op = sco_operator(src.obj.get("Operator", "Condition") or "isgreaterthanorequalto") or "ge"
    if op not in ("equals", "not_equals", "gt", "ge", "lt", "le"):
        src.warn(f"its condition {op!r} cannot be monitored; it uses ge")
        op = "ge"
    return Mapped(type="monitor_counter", fields=_COUNTER_FIELDS, properties={
        "counter": _counter_name(src), "value": _int(src.obj.get("Value", "Threshold")),
        "op": op})


def check_schedule(src: Source) -> Mapped:
    return Mapped(type="check_schedule",
                  properties={"schedule": src.text(src.obj.get("Schedule", "ScheduleName"))},
                  fields=_fields(Conforms_to_schedule="Inside", ConformsToSchedule="Inside",
                                 Result="Inside", Schedule="Schedule"))  # fmt: skip


_UNIT_SECONDS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600,
                 "hours": 3600, "day": 86400, "days": 86400}  # fmt: skip


def monitor_date_time(src: Source) -> Mapped:
    at = src.obj.get("AtTime", "Time").strip()
    props: dict[str, Any] = {}
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", at)
    if m is not None:
        props["cron"] = f"{int(m.group(2))} {int(m.group(1))} * * *"
    else:
        every = _number(src.obj.get("Every", "Interval", "Frequency"), 0)
        unit = src.obj.get("Unit", "IntervalUnit", "Period").strip().lower() or "minutes"
        seconds = every * _UNIT_SECONDS.get(unit, 60)
        if seconds <= 0:
            src.warn("its interval could not be read; it triggers every hour")
            seconds = 3600
        props["interval_seconds"] = seconds
    return Mapped(type="monitor_date_time", properties=props,
                  fields=_fields(Trigger_time="TriggerTime", TriggerTime="TriggerTime"))


def monitor_file(src: Source) -> Mapped:
    props: dict[str, Any] = {"folder": src.text(src.obj.get("Path", "Folder", "Directory").strip())}
    patterns = [f.get("Value", "") for f in escaped_items(src.obj.get("Filters", "Filter"))
                if f.get("Value")]
    if len(patterns) > 1:
        src.warn(f"it had several file filters ({', '.join(patterns)}); only the first is used")
    if patterns:
        props["pattern"] = patterns[0]
    if src.obj.has("IncludeSubFolders") or src.obj.has("Recursive"):
        props["recursive"] = src.obj.flag("IncludeSubFolders", "Recursive")
    events = [e for sco, e in (("Created", "created"), ("Modified", "modified"),
                               ("Deleted", "deleted"))
              if src.obj.flag(f"TriggerIf{sco}", f"{sco}Files", sco)]
    if events:
        props["events"] = events
    return Mapped(type="monitor_file", properties=props, fields=_FILE_FIELDS | _fields(
        Name_and_path_of_the_file="Path", Event="Event"))


MAPPERS: dict[str, Callable[[Source], Mapped]] = {
    "Custom Start": initialize_data,
    "Initialize Data": initialize_data,
    "Return Data": return_data,
    "Publish Policy Data": return_data,
    "Junction": junction,
    "Trigger Policy": trigger_policy,
    "Invoke Runbook": trigger_policy,
    "Wait": wait,
    "Delay": wait,
    "Run Program": run_program,
    "Run .Net Script": run_script,
    "Run SSH Command": run_ssh,
    "Query Database": query_database,
    "Invoke Web Services": invoke_web_service,
    "Send Email": send_email,
    "Send Syslog Message": send_syslog,
    "Copy File": _copy_move("copy_file"),
    "Move File": _copy_move("move_file"),
    "Rename File": rename_file,
    "Delete File": _path_only("delete_file"),
    "Create Folder": _path_only("create_folder"),
    "Delete Folder": _path_only("delete_folder", ("DeleteContents", "recursive"),
                                ("Recursive", "recursive")),
    "Get File Status": _path_only("get_file_status"),
    "Append Line": _text_file("append_line"),
    "Delete Line": _text_file("delete_line"),
    "Find Text": _text_file("find_text"),
    "Insert Line": _text_file("insert_line"),
    "Read Line": _text_file("read_line"),
    "Get Lines": _text_file("read_line"),
    "Search And Replace Text": _text_file("search_and_replace_text"),
    "Search and Replace Text": _text_file("search_and_replace_text"),
    "Compare Values": compare_values,
    "Generate Random Text": random_text,
    "Format Date/Time": format_date,
    "Map Published Data": map_published_data,
    "Get Counter Value": get_counter,
    "Modify Counter": modify_counter,
    "Monitor Counter": monitor_counter,
    "Check Schedule": check_schedule,
    "Monitor Date/Time": monitor_date_time,
    "Monitor File": monitor_file,
}
