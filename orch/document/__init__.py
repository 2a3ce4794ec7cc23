"""Runbook documents (``orch.runbook/1``): model, expressions, conditions, validation.

``load(data)`` is the usual entry point: decode, check every rule, compile.
"""

from orch.document.conditions import (
    CompiledCondition,
    CompiledLink,
    ConditionError,
    compile_condition,
    compile_link,
)
from orch.document.expr import MappingScope, Scope, Template, parse_template
from orch.document.faults import DocumentInvalid, Fault
from orch.document.functions import FUNCTIONS, DataFunction
from orch.document.graph import CompiledActivity, CompiledRunbook, compile_runbook
from orch.document.model import (
    DEFAULT_INCLUDE,
    FORMAT,
    OPERATORS,
    Activity,
    Condition,
    Expectation,
    Flatten,
    Link,
    Loop,
    Parameter,
    ReturnSpec,
    Runbook,
    RunbookTest,
    as_text,
)
from orch.document.properties import PropertyTree, compile_properties
from orch.document.validate import decode_document, load, parse_parameters, validate

__all__ = [
    "DEFAULT_INCLUDE",
    "FORMAT",
    "FUNCTIONS",
    "OPERATORS",
    "Activity",
    "CompiledActivity",
    "CompiledCondition",
    "CompiledLink",
    "CompiledRunbook",
    "Condition",
    "ConditionError",
    "DataFunction",
    "DocumentInvalid",
    "Expectation",
    "Fault",
    "Flatten",
    "Link",
    "Loop",
    "MappingScope",
    "Parameter",
    "PropertyTree",
    "ReturnSpec",
    "Runbook",
    "RunbookTest",
    "Scope",
    "Template",
    "as_text",
    "compile_condition",
    "compile_link",
    "compile_properties",
    "compile_runbook",
    "decode_document",
    "load",
    "parse_parameters",
    "parse_template",
    "validate",
]
