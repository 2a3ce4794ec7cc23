"""``wait_for_approval``: a human step — the instance waits for a decision.

The run creates a pending approval (``GET /api/v1/approvals?status=pending``)
and waits until a user with the ``start`` right on the runbook decides it
(``POST /api/v1/approvals/{id}`` ``{"decision": "approve"|"reject",
"comment"}``) or ``timeout_seconds`` pass. Who decided, when and why are
published (and audited by the gateway).

- approved: success;
- rejected: failed, with the decision published (a link on ``Status equals
  failed`` or ``Decision equals rejected`` handles it);
- no decision in time: failed, ``Decision`` = ``expired``.

Rerunnable: the approval is keyed by the run id, so a server that takes the
instance over waits for the same approval (a decision made meanwhile counts).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from orch.sdk import ActivityError, Context, Inputs, Published, activity, format_time
from orch.sdk.services import ApprovalRequest


class WaitForApprovalInputs(Inputs):
    message: str
    """What the approver is asked (shown in the console and the API)."""
    timeout_seconds: float = 86400.0
    """How long to wait for a decision (default one day)."""


class ApprovalDecision(Published):
    ApprovalId: str
    """Id of the approval (``/api/v1/approvals/{id}``)."""
    Decision: str
    """approved, rejected or expired."""
    DecidedBy: str
    """Name of the user who decided (empty when it expired)."""
    DecidedAt: str
    """When it was decided or expired (RFC 3339)."""
    Comment: str
    """The approver's comment."""


@activity(
    "wait_for_approval",
    display_name="Wait for Approval",
    category="Human Steps",
    rerunnable=True,
)
async def wait_for_approval(ctx: Context, inputs: WaitForApprovalInputs) -> ApprovalDecision:
    """Pause this path until a user approves or rejects, or the timeout passes."""
    if not inputs.timeout_seconds > 0:
        raise ActivityError("property timeout_seconds: must be more than 0")
    approvals = ctx.services.approvals
    info = ctx.info
    expires = datetime.now(UTC) + timedelta(seconds=inputs.timeout_seconds)
    ticket = await approvals.request(
        ApprovalRequest(
            key=ctx.run_id,
            job_id=info.job_id,
            instance_id=info.instance_id,
            runbook_id=info.runbook_id,
            runbook_path=info.runbook_path,
            activity=ctx.activity_id,
            message=inputs.message,
            expires_at=expires,
        )
    )
    approval_id = ticket.approval_id
    ctx.progress(f"waiting for approval {approval_id}")
    # after a takeover the same approval keeps its first expiry
    left = (ticket.expires_at - datetime.now(UTC)).total_seconds()
    try:
        async with asyncio.timeout(max(0.0, left)):
            decision = await approvals.wait(approval_id)
    except TimeoutError:
        decision = await approvals.expire(approval_id)
    at = decision.decided_at or datetime.now(UTC)
    out = ApprovalDecision(
        ApprovalId=approval_id,
        Decision=decision.status,
        DecidedBy=decision.decided_by or "",
        DecidedAt=format_time(at),
        Comment=decision.comment,
    )
    if decision.status == "rejected":
        reason = f": {decision.comment}" if decision.comment else ""
        ctx.fail(f"rejected by {decision.decided_by}{reason}")
    elif decision.status == "expired":
        ctx.fail(f"no decision within {inputs.timeout_seconds:g} s")
    return out
