"""``POST /runbooks/validate``: check-in's validation of a document, as the designer types.

The body is the document text exactly as the editor holds it (so lines and
columns mean something); the answer is 200 whether or not it is valid, with
every fault placed at a line and column. Text that is not JSON (or not UTF-8)
is a fault too, where the syntax breaks, not a 400: an author mid-edit is not
sending a malformed request. It reads nothing stored, so any authenticated
caller may use it. The body limits of every route hold here too (size, nesting
depth, integer range: a 400 like at check-in); only text that is not JSON is
answered as a fault.
"""

from __future__ import annotations

from aiohttp import web

from orch.api.designer import PositionedFault, ValidationResult
from orch.api.openapi import Operation
from orch.document.faults import Fault
from orch.document.located import LocatedFault, check_text
from orch.document.model import Runbook as RunbookDocument
from orch.document.positions import position_at
from orch.gateway.bodies import decode_json, is_json, json_response
from orch.gateway.errors import BodyRefused, UnsupportedMediaType
from orch.gateway.keys import REGISTRY

API = "/api/v1"


def _text_faults(body: bytes, request: web.Request) -> list[LocatedFault]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        before = body[: e.start].decode("utf-8", errors="replace")
        fault = Fault("$", "the document is not UTF-8 text", "bad-json")
        return [LocatedFault(fault, position_at(before, len(before)))]
    return check_text(text, request.app[REGISTRY])


async def validate_document(request: web.Request) -> web.Response:
    if not is_json(request.content_type):
        raise UnsupportedMediaType(f"send the body as application/json, not {request.content_type}")
    body = await request.read()  # 413 past the app's size limit
    try:
        decode_json(body)
    except BodyRefused as e:
        if e.code != "malformed-json":
            raise  # too deep or a number out of range: refused as on every route
        # not JSON (empty included): a fault where the text breaks, below
    located = _text_faults(body, request)
    faults = [
        PositionedFault(path=lf.fault.path, message=lf.fault.message, code=lf.fault.code,
                        line=lf.position.line, column=lf.position.column)
        for lf in located
    ]
    return json_response(ValidationResult(valid=not faults, faults=faults))


ROUTES = (
    (Operation("POST", f"{API}/runbooks/validate", "validate_runbook",
               "Validate a document as check-in would, each fault with its line and column "
               "(200 whether valid or not; malformed JSON is a fault where it breaks)",
               body=RunbookDocument, response=ValidationResult, tags=("runbooks",)),
     validate_document),
)
