// Approval steps of running runbooks that wait for someone to decide.
import { h } from "../dom.js";
import { approvalsBox } from "../parts/approvals.js";

export async function approvalsView(ctx) {
  document.title = "Approvals · orch";
  const box = approvalsBox(ctx, { emptyText: "Nothing waits for approval." });
  ctx.main.append(h("h1", null, "Approvals"),
    h("p", { class: "muted" }, "Runbooks paused at an approval step. Approving lets the run go on; rejecting fails the step."),
    box.el);
  await box.load();
  ctx.onCleanup(ctx.live.subscribe({ all: true }, (e) => {
    if (e.kind === "activity") box.load().catch(() => {});
  }));
  ctx.onCleanup(ctx.live.onRefresh(() => box.load().catch(() => {})));
}
