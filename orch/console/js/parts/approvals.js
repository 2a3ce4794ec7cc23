// Approval steps waiting for a decision: approve or reject, with a comment.
import { get, isMissingRoute, post } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { badge, shortId, time, toast } from "../format.js";

/**
 * approvalsBox(ctx, {instance, showJob}) → {el, load()}: the pending approvals (of the
 * instance whose id `instance()` returns, or all), each with Approve and Reject for
 * callers who may start the runbook.
 */
export function approvalsBox(ctx, { instance = null, showJob = true, emptyText = "Nothing waits for approval." } = {}) {
  const box = h("div", { class: "approvals" });
  let supported = true;
  const load = async () => {
    if (!supported) return;
    let items;
    try {
      const answer = await get("/approvals", { query: { status: "pending", limit: 200 }, signal: ctx.signal });
      const only = instance ? instance() : null;
      items = (answer.items || []).filter((a) => !instance || a.instance_id === only);
    } catch (e) {
      if (isMissingRoute(e)) {
        supported = false;
        replace(box);
        return;
      }
      throw e;
    }
    if (!ctx.isCurrent()) return;
    if (!items.length) {
      replace(box, emptyText ? h("p", { class: "muted" }, emptyText) : null);
      return;
    }
    replace(box, h("ul", { class: "approval-list" }, items.map((a) => {
      const commentId = uid("comment");
      const comment = h("input", { id: commentId, type: "text", autocomplete: "off" });
      const decide = async (decision, button) => {
        button.disabled = true;
        try {
          await post(`/approvals/${a.id}`, { decision, comment: comment.value });
          toast(decision === "approve" ? "Approved." : "Rejected.");
        } catch (e) {
          toast(`Could not record the decision: ${e.message}`, "error");
        }
        load().catch(() => {});
      };
      const may = ctx.rights.can("start", a.runbook_path);
      const approve = h("button", { type: "button", class: "primary" }, "Approve");
      const reject = h("button", { type: "button", class: "danger" }, "Reject");
      approve.addEventListener("click", () => decide("approve", approve));
      reject.addEventListener("click", () => decide("reject", reject));
      return h("li", { class: "approval", dataset: { approvalId: a.id } },
        h("p", null, badge(a.status), " ", h("strong", null, a.message || "Approval requested"),
          showJob ? [" — ", h("a", { href: `/instances/${a.instance_id}` }, `${a.runbook_path} (job ${shortId(a.job_id)})`)] : null),
        h("p", { class: "muted small" }, `Activity ${a.activity}; asked `, time(a.requested_at), "; expires ", time(a.expires_at)),
        may ? h("div", { class: "actions" },
          h("label", { for: commentId }, "Comment"), comment, approve, reject) : null);
    })));
  };
  return { el: box, load };
}
