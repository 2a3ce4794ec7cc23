// /jobs/{id}: the job and its latest instance (or the one chosen), on one page.
import { get } from "../api.js";
import { renderInstancePage } from "./instance.js";

export async function jobView(ctx) {
  const [jobId] = ctx.params;
  const job = await get(`/jobs/${jobId}`, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  if (!job.instance_id) {
    // Queued: no instance yet. Draw the job, and redraw when it is claimed.
    await renderInstancePage(ctx, job, null);
    return;
  }
  await renderInstancePage(ctx, job, job.instance_id);
}
