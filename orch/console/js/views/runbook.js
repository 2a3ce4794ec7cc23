// One runbook: description, parameters, versions, its graph, its jobs, and "Start".
import { get } from "../api.js";
import { add, h } from "../dom.js";
import { time, toast } from "../format.js";
import { coalescer } from "../live.js";
import { drawGraph } from "../graph/render.js";
import { jobTable } from "../parts/jobtable.js";
import { isRequired, openStartDialog, parametersOf } from "../parts/startform.js";

export async function runbookView(ctx) {
  const [id] = ctx.params;
  const versionWanted = Number(ctx.query.get("version")) || null;
  const runbook = await get(`/runbooks/${id}`, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  let shown = { version: runbook.current_version, document: runbook.document, comment: null };
  if (versionWanted && versionWanted !== runbook.current_version) {
    const v = await get(`/runbooks/${id}/versions/${versionWanted}`, { signal: ctx.signal });
    shown = { version: v.version, document: v.document, comment: v.comment };
  }
  if (!ctx.isCurrent()) return;
  document.title = `${runbook.name} · orch`;
  const doc = shown.document || {};
  const params = parametersOf(doc);

  const jobs = jobTable({ caption: `Jobs of ${runbook.path}`, showRunbook: false, empty: "No jobs of this runbook yet." });
  const loadJobs = async () => {
    const page = await get("/jobs", { query: { runbook: id, limit: 25 }, signal: ctx.signal });
    if (ctx.isCurrent()) jobs.set(page.items);
  };
  const refreshJob = coalescer(async (jobId) => {
    const job = await get(`/jobs/${jobId}`, { signal: ctx.signal });
    if (ctx.isCurrent()) jobs.upsert(job);
  });

  const actions = h("div", { class: "actions" });
  if (ctx.rights.can("start", runbook)) {
    const start = h("button", { type: "button", class: "primary", id: "start-runbook" }, "Start");
    start.addEventListener("click", async () => {
      await openStartDialog(ctx, runbook, {
        onStarted: (job) => {
          jobs.upsert(job);
          toast(`Job ${job.id.slice(0, 8)} started (${job.status}).`);
        },
      });
      start.focus();
    });
    actions.append(start);
  }
  if (ctx.rights.can("design", runbook)) {
    actions.append(h("a", { class: "button-link", href: `/runbooks/${id}/design`, id: "design-runbook" }, "Design"));
  }

  const versionRows = [...runbook.versions].reverse().map((v) => h("tr", { "aria-current": v.version === shown.version ? "true" : null },
    h("td", { class: "num" }, v.version === shown.version ? h("strong", null, `v${v.version}`)
      : h("a", { href: `/runbooks/${id}${v.version === runbook.current_version ? "" : `?version=${v.version}`}` }, `v${v.version}`),
      v.version === runbook.current_version ? h("span", { class: "tag" }, "current") : null),
    h("td", null, time(v.created_at)),
    h("td", null, v.created_by || h("span", { class: "muted" }, "—")),
    h("td", null, v.comment || h("span", { class: "muted" }, "—")),
    h("td", null, h("code", { title: v.hash }, v.hash.slice(0, 12)))));

  const paramSection = params.length
    ? h("div", { class: "table-wrap" }, h("table", { class: "list" },
      h("caption", { class: "sr-only" }, "Parameters"),
      h("thead", null, h("tr", null, ["Name", "Type", "Required", "Default", "Description"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, params.map((p) => h("tr", null,
        h("td", null, h("code", null, p.name)), h("td", null, p.type || "string"),
        h("td", null, isRequired(p) ? "yes" : "no"),
        h("td", null, p.default ?? h("span", { class: "muted" }, "—")),
        h("td", null, p.description || ""))))))
    : h("p", { class: "muted" }, "No parameters.");

  const returns = doc.returns || [];
  add(ctx.main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/runbooks" }, "Runbooks"), " / ",
      h("a", { href: `/runbooks?folder=${encodeURIComponent(runbook.folder)}` }, runbook.folder), " /"),
    h("div", { class: "title-row" },
      h("h1", null, runbook.name, " ", h("span", { class: "muted small" }, `v${shown.version}`)),
      actions),
    shown.version !== runbook.current_version
      ? h("p", { class: "notice" }, `You are looking at version ${shown.version}${shown.comment ? ` (“${shown.comment}”)` : ""}. `,
        h("a", { href: `/runbooks/${id}` }, `Current version: ${runbook.current_version}.`), " Jobs start the current version.")
      : null,
    h("p", { class: "description" }, doc.description || h("span", { class: "muted" }, "No description.")),
    h("dl", { class: "facts" },
      h("dt", null, "Path"), h("dd", null, h("code", null, runbook.path)),
      h("dt", null, "Kind"), h("dd", null, runbook.is_monitor ? "monitor (one job at a time)" : "runbook"),
      h("dt", null, "Concurrent jobs"), h("dd", null, runbook.max_concurrent_jobs ? `at most ${runbook.max_concurrent_jobs}` : "no limit"),
      h("dt", null, "Checked out"), h("dd", null, runbook.checked_out_by ? [runbook.checked_out_by, " since ", time(runbook.checked_out_at)] : "no"),
      returns.length ? [h("dt", null, "Returns"), h("dd", null, returns.map((r) => r.name).join(", "))] : null),
    h("section", { "aria-labelledby": "graph-h" }, h("h2", { id: "graph-h" }, "Graph"), drawGraph(doc)),
    h("section", { "aria-labelledby": "params-h" }, h("h2", { id: "params-h" }, "Parameters"), paramSection),
    h("section", { "aria-labelledby": "jobs-h" }, h("h2", { id: "jobs-h" }, "Recent jobs"), jobs.el,
      h("p", null, h("a", { href: `/jobs?runbook=${encodeURIComponent(runbook.path)}` }, "All jobs of this runbook"))),
    h("section", { "aria-labelledby": "versions-h" }, h("h2", { id: "versions-h" }, "Versions"),
      h("div", { class: "table-wrap" }, h("table", { class: "list" },
        h("caption", { class: "sr-only" }, "Version history"),
        h("thead", null, h("tr", null, ["Version", "Checked in", "By", "Comment", "Hash"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, versionRows)))),
  );

  await loadJobs();
  ctx.onCleanup(ctx.live.subscribe({ runbook: id }, (event) => {
    if (event.kind === "job" && event.job_id) refreshJob(event.job_id);
  }));
  ctx.onCleanup(ctx.live.onRefresh(() => loadJobs().catch(() => {})));
}
