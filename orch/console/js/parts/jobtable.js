// A table of jobs that views keep current: set() a page of jobs, upsert() one job as
// the live feed reports changes. Each row carries data-job-id and its status badge.
import { h, replace } from "../dom.js";
import { badge, between, duration, shortId, time } from "../format.js";

export function jobTable({ caption = "Jobs", showRunbook = true, empty = "No jobs." } = {}) {
  const rows = new Map();
  const tbody = h("tbody");
  const emptyRow = h("tr", { class: "empty-row" }, h("td", { colspan: showRunbook ? 7 : 6 }, empty));
  const table = h("table", { class: "list jobs" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Job"),
      showRunbook ? h("th", { scope: "col" }, "Runbook") : null,
      h("th", { scope: "col" }, "Created"),
      h("th", { scope: "col" }, "Duration"),
      h("th", { scope: "col" }, "Server"),
      h("th", { scope: "col" }, "Instance"))),
    tbody);

  const rowFor = (job) => h("tr", { dataset: { jobId: job.id, status: job.status } },
    h("td", null, badge(job.status), job.stop_requested_at && !["stopped", "success", "warning", "failed"].includes(job.status)
      ? h("span", { class: "tag" }, "stopping") : null),
    h("td", null, h("a", { href: `/jobs/${job.id}`, title: job.id }, shortId(job.id))),
    showRunbook ? h("td", null, h("a", { href: `/runbooks/${job.runbook_id}` }, job.runbook_path), h("span", { class: "muted" }, ` v${job.runbook_version}`)) : null,
    h("td", null, time(job.created_at)),
    h("td", { class: "num" }, job.started_at ? duration(between(job.started_at, job.ended_at)) : job.waiting_reason ? h("span", { class: "muted", title: job.waiting_reason }, "waiting") : "—"),
    h("td", null, job.server || h("span", { class: "muted" }, job.target_server ? `→ ${job.target_server}` : "—")),
    h("td", null, job.instance_id ? h("a", { href: `/instances/${job.instance_id}` }, shortId(job.instance_id)) : h("span", { class: "muted" }, "—")));

  const sync = () => {
    if (!rows.size) replace(tbody, emptyRow);
    else if (emptyRow.isConnected) emptyRow.remove();
  };

  return {
    el: h("div", { class: "table-wrap" }, table),
    set(jobs) {
      rows.clear();
      replace(tbody);
      for (const job of jobs) {
        const tr = rowFor(job);
        rows.set(job.id, tr);
        tbody.append(tr);
      }
      sync();
    },
    /** Replace the job's row, or add it (at the top when `prepend`). */
    upsert(job, { prepend = true } = {}) {
      const tr = rowFor(job);
      const old = rows.get(job.id);
      if (old) {
        // Keep the keyboard where it was: the same link of the new row.
        const links = [...old.querySelectorAll("a, button")];
        const at = links.indexOf(document.activeElement);
        old.replaceWith(tr);
        if (at >= 0) {
          const again = tr.querySelectorAll("a, button")[at];
          if (again) again.focus({ preventScroll: true });
        }
      }
      else if (prepend) tbody.prepend(tr);
      else tbody.append(tr);
      rows.set(job.id, tr);
      sync();
    },
    remove(id) {
      const old = rows.get(id);
      if (old) old.remove();
      rows.delete(id);
      sync();
    },
    has: (id) => rows.has(id),
    ids: () => [...rows.keys()],
  };
}
