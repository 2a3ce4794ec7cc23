// An instance: its job, the graph with the path taken, a timeline of activity runs,
// each run's published data and errors, child jobs, the log; follows live while running.
import { apiCapabilities, get, isMissingRoute, post } from "../api.js";
import { add, clear, h, keepFocus, replace } from "../dom.js";
import { FINISHED, badge, between, clock, duration, parseTime, shortId, time, toast } from "../format.js";
import { coalescer } from "../live.js";
import { drawGraph } from "../graph/render.js";
import { approvalsBox } from "../parts/approvals.js";
import { confirmDialog } from "../parts/confirm.js";

export async function instanceView(ctx) {
  const [instanceId] = ctx.params;
  const instance = await get(`/instances/${instanceId}`, { signal: ctx.signal });
  const job = await get(`/jobs/${instance.job_id}`, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  await renderInstancePage(ctx, job, instanceId, instance);
}

function dataTable(rows, caption) {
  return h("table", { class: "kv" }, h("caption", { class: "sr-only" }, caption),
    h("tbody", null, rows.map(([k, v]) => h("tr", null, h("th", { scope: "row" }, k), h("td", null, h("pre", null, v))))));
}

const COMMON = ["Status", "StartTime", "EndTime", "ActivityName", "ErrorSummary"];

/** The activity's own fields first (in their order), then the common ones in a fixed order. */
function orderedFields(item) {
  const own = Object.keys(item).filter((k) => !COMMON.includes(k));
  return [...own, ...COMMON.filter((k) => k in item)].map((k) => [k, item[k]]);
}

function publishedBlock(run) {
  const items = run.published || [];
  if (!items.length) return h("p", { class: "muted" }, "Published no items (the path below it is dead).");
  return items.map((item, i) => {
    const entries = orderedFields(item);
    const caption = items.length > 1 ? `Item ${i + 1} of ${items.length}` : "Published data";
    return h("div", { class: "item" }, items.length > 1 ? h("h4", null, caption) : null,
      entries.length ? dataTable(entries.map(([k, v]) => [k, String(v)]), caption) : h("p", { class: "muted" }, "No fields."));
  });
}

function childJobs(instance) {
  const out = [];
  const seen = new Set();
  for (const c of instance.children || instance.child_jobs || []) {
    const id = typeof c === "string" ? c : c.id || c.job_id;
    if (id && !seen.has(id)) {
      seen.add(id);
      out.push({ id, activity: c.activity || null, status: c.status || null, path: c.runbook_path || null });
    }
  }
  for (const run of instance.activity_runs || []) {
    for (const item of run.published || []) {
      const id = item.ChildJobId;
      if (id && !seen.has(id)) {
        seen.add(id);
        out.push({ id, activity: run.activity, status: null, path: null });
      }
    }
  }
  return out;
}

function timeline(instance, names) {
  const runs = instance.activity_runs || [];
  if (!runs.length) return h("p", { class: "muted" }, "No activity has run yet.");
  const t0 = Math.min(parseTime(instance.started_at) ?? Infinity, ...runs.map((r) => parseTime(r.started_at)));
  const ends = runs.map((r) => parseTime(r.ended_at) ?? Date.now());
  const t1 = Math.max(parseTime(instance.ended_at) ?? Date.now(), ...ends, t0 + 1);
  const span = t1 - t0;
  return h("ol", { class: "timeline", "aria-label": `Timeline over ${duration(span)}` }, runs.map((r) => {
    const start = parseTime(r.started_at);
    const end = parseTime(r.ended_at) ?? Date.now();
    const bar = h("span", { class: ["bar", `st-${r.status}`] });
    bar.style.left = `${((start - t0) / span) * 100}%`;
    bar.style.width = `${Math.max(((end - start) / span) * 100, 0.6)}%`;
    const label = `${names.get(r.activity) || r.activity}${r.item ? ` #${r.item + 1}` : ""}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ""}`;
    return h("li", { dataset: { activity: r.activity, status: r.status } },
      h("span", { class: "tl-label" }, h("a", { href: `#run-${r.run_id}` }, label)),
      h("span", { class: "tl-track" }, bar),
      h("span", { class: "tl-info" }, badge(r.status), " ", duration(between(r.started_at, r.ended_at))));
  }));
}

/** The page of `job`, showing instance `instanceId` (null while queued). */
export async function renderInstancePage(ctx, job, instanceId, instanceGiven = null) {
  let instance = instanceGiven;
  if (!instance && instanceId) instance = await get(`/instances/${instanceId}`, { signal: ctx.signal });
  const version = await get(`/runbooks/${job.runbook_id}/versions/${job.runbook_version}`, { signal: ctx.signal })
    .catch(() => null);
  if (!ctx.isCurrent()) return;
  const doc = version ? version.document : { activities: [], links: [] };
  const names = new Map((doc.activities || []).map((a) => [a.id, a.name || a.id]));
  let selected = null;
  const caps = await apiCapabilities().catch(() => null);

  const header = h("div");
  const graphBox = h("div");
  const timelineBox = h("div");
  const runsBox = h("div");
  const childrenBox = h("div");
  const approvals = approvalsBox(ctx, { instance: () => instance && instance.id, showJob: false, emptyText: "" });
  const logBox = h("div", { class: "log-box" });
  let logSupported = true;

  const drawHeader = () => {
    document.title = `${job.runbook_path} · job ${shortId(job.id)} · orch`;
    const actions = h("div", { class: "actions" });
    const finished = FINISHED.has(job.status);
    if (!finished && ctx.rights.can("stop", job.runbook_path)) {
      const stop = h("button", { type: "button", class: "danger", id: "stop-job", disabled: Boolean(job.stop_requested_at) },
        job.stop_requested_at ? "Stopping…" : "Stop");
      stop.addEventListener("click", async () => {
        const ok = await confirmDialog({
          title: "Stop this job?",
          message: `Job ${shortId(job.id)} of ${job.runbook_path}: its running activities are cancelled and recorded as stopped.`,
          confirm: "Stop job", danger: true,
        });
        if (!ok) {
          stop.focus();
          return;
        }
        try {
          job = await post(`/jobs/${job.id}/stop`);
          toast("Stop requested.");
        } catch (e) {
          toast(e.status === 409 ? "The job has already ended." : `Could not stop: ${e.message}`, "error");
        }
        refreshAll();
      });
      actions.append(stop);
    }
    if (finished && ctx.rights.can("start", job.runbook_path)) {
      const rerun = h("button", { type: "button", id: "rerun-job" }, "Re-run");
      rerun.addEventListener("click", async () => {
        rerun.disabled = true;
        try {
          const created = caps && caps.route("POST", "/api/v1/jobs/{id}/rerun")
            ? await post(`/jobs/${job.id}/rerun`)
            : await post("/jobs", { runbook: job.runbook_id, parameters: job.parameters, server: job.target_server });
          toast(`Job ${shortId(created.id)} started.`);
          ctx.navigate(`/jobs/${created.id}`);
        } catch (e) {
          toast(`Could not re-run: ${e.message}`, "error");
          rerun.disabled = false;
        }
      });
      actions.append(rerun);
    }
    const params = Object.entries(job.parameters || {});
    const returned = Object.entries((instance && instance.returned_data) || job.returned_data || {});
    const instanceIds = job.instance_ids || [];
    replace(header,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/jobs" }, "Jobs"), " / ",
        h("a", { href: `/runbooks/${job.runbook_id}` }, job.runbook_path), " /"),
      h("div", { class: "title-row" },
        h("h1", null, `Job ${shortId(job.id)} `, badge(job.status)),
        actions),
      h("dl", { class: "facts" },
        h("dt", null, "Runbook"), h("dd", null, h("a", { href: `/runbooks/${job.runbook_id}` }, job.runbook_path), ` v${job.runbook_version}`),
        h("dt", null, "Job"), h("dd", null, h("code", null, job.id)),
        h("dt", null, "Instance"), h("dd", { id: "instance-status" }, instance ? [h("code", null, instance.id), " ", badge(instance.status)] : h("span", { class: "muted" }, job.waiting_reason ? `queued: ${job.waiting_reason}` : "queued, not claimed yet")),
        instanceIds.length > 1 ? [h("dt", null, "All instances"), h("dd", null, instanceIds.map((id, i) => [i ? ", " : "",
          id === (instance && instance.id) ? h("strong", null, shortId(id)) : h("a", { href: `/instances/${id}` }, shortId(id))]))] : null,
        h("dt", null, "Created"), h("dd", null, time(job.created_at), job.created_by ? ` by ${job.created_by}` : ""),
        h("dt", null, "Started"), h("dd", null, time(job.started_at)),
        h("dt", null, "Ended"), h("dd", null, time(job.ended_at), job.started_at ? ` (${duration(between(job.started_at, job.ended_at))})` : ""),
        h("dt", null, "Server"), h("dd", null, (instance && instance.server) || job.server || h("span", { class: "muted" }, job.target_server ? `asked for ${job.target_server}` : "—")),
        job.parent_job_id ? [h("dt", null, "Started by job"), h("dd", null, h("a", { href: `/jobs/${job.parent_job_id}` }, shortId(job.parent_job_id)))] : null,
        job.stop_requested_at ? [h("dt", null, "Stop requested"), h("dd", null, time(job.stop_requested_at))] : null),
      instance && instance.error ? h("p", { class: "error" }, `Error: ${instance.error}`) : null,
      h("div", { class: "two-col" },
        h("section", { "aria-labelledby": "params-h" }, h("h2", { id: "params-h" }, "Parameters"),
          params.length ? dataTable(params, "Parameters") : h("p", { class: "muted" }, "None.")),
        h("section", { "aria-labelledby": "returned-h" }, h("h2", { id: "returned-h" }, "Returned data"),
          returned.length ? dataTable(returned, "Returned data") : h("p", { class: "muted" }, FINISHED.has(job.status) ? "None." : "Not yet."))));
  };

  const select = (activity) => {
    selected = activity;
    drawGraphBox();
    const target = runsBox.querySelector(`[data-activity="${CSS.escape(activity)}"]`);
    if (target) {
      target.scrollIntoView({ block: "start", behavior: "smooth" });
      const summary = target.querySelector("summary, h3");
      if (target.tagName === "DETAILS") target.open = true;
      if (summary) summary.focus();
    }
  };
  const drawGraphBox = () => keepFocus(graphBox, () => {
    replace(graphBox, version ? drawGraph(doc, { runs: instance ? instance.activity_runs : [], onSelect: select, selected })
      : h("p", { class: "muted" }, "The runbook version could not be read."));
  });
  const drawRuns = () => {
    if (!instance) {
      replace(timelineBox, h("p", { class: "muted" }, "The job has not started yet."));
      clear(runsBox);
      clear(childrenBox);
      return;
    }
    replace(timelineBox, timeline(instance, names));
    const runs = instance.activity_runs || [];
    const open = new Set([...runsBox.querySelectorAll("details[open]")].map((d) => d.id));
    keepFocus(runsBox, () => replace(runsBox, runs.length ? runs.map((r) => h("details", {
      class: ["run", `st-${r.status}`], id: `run-${r.run_id}`, dataset: { activity: r.activity, status: r.status },
      open: open.has(`run-${r.run_id}`) || r.status === "failed" || runs.length <= 6,
    },
    h("summary", { id: `sum-${r.run_id}` }, h("span", { class: "run-name" }, names.get(r.activity) || r.activity), " ",
      h("code", { class: "muted" }, r.activity), " ", badge(r.status),
      r.item ? h("span", { class: "tag" }, `item ${r.item + 1}`) : null,
      r.attempt > 1 ? h("span", { class: "tag" }, `attempt ${r.attempt}`) : null,
      h("span", { class: "muted" }, ` ${duration(between(r.started_at, r.ended_at))}`)),
    h("div", { class: "run-body" },
      h("p", { class: "muted small" }, "Started ", time(r.started_at), r.ended_at ? [", ended ", time(r.ended_at)] : " — running"),
      r.error ? h("p", { class: "error" }, h("strong", null, "Error: "), r.error) : null,
      publishedBlock(r)))) : h("p", { class: "muted" }, "No activity has run yet.")));
    const kids = childJobs(instance);
    replace(childrenBox, kids.length ? h("ul", null, kids.map((k) => h("li", null,
      h("a", { href: `/jobs/${k.id}` }, k.path || `job ${shortId(k.id)}`),
      k.activity ? ` (from ${names.get(k.activity) || k.activity})` : "", k.status ? [" ", badge(k.status)] : null)))
      : h("p", { class: "muted" }, "This instance started no child runbooks."));
  };

  // The log is followed with its cursor: `next` stays non-null while the instance
  // runs, and turns null with the page holding the last line.
  let logLines = [];
  let logCursor = null;
  let logDone = false;
  let logFor = null;
  const drawLog = (lines) => {
    if (!logSupported) {
      replace(logBox, h("p", { class: "muted" }, "This gateway does not serve instance logs."));
      return;
    }
    if (!lines.length) {
      replace(logBox, h("p", { class: "muted" }, "Nothing logged yet."));
      return;
    }
    const atBottom = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    replace(logBox, h("ol", { class: "log" }, lines.map((l) => h("li", { class: l.stream ? `stream-${l.stream}` : null },
      h("span", { class: "log-time" }, l.at || l.time ? clock(l.at || l.time) : ""),
      h("span", { class: "log-src" }, l.activity ? names.get(l.activity) || l.activity : "", l.stream ? ` ${l.stream}` : ""),
      h("span", { class: "log-text" }, l.text ?? l.line ?? l.message ?? JSON.stringify(l))))));
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  };
  const loadLog = async () => {
    if (!instance || !logSupported) {
      drawLog([]);
      return;
    }
    if (logFor !== instance.id) {
      logFor = instance.id;
      logLines = [];
      logCursor = null;
      logDone = false;
    }
    if (logDone) return;
    try {
      for (let round = 0; round < 20; round += 1) {
        const page = await get(`/instances/${instance.id}/log`, { query: { cursor: logCursor, limit: 1000 }, signal: ctx.signal });
        logLines.push(...page.items);
        if (!page.next) {
          logDone = true;
          break;
        }
        logCursor = page.next;
        if (!page.items.length) break;
      }
      if (ctx.isCurrent()) drawLog(logLines);
    } catch (e) {
      if (isMissingRoute(e)) {
        logSupported = false;
        drawLog([]);
      } else if (e.name !== "AbortError") {
        replace(logBox, h("p", { class: "error" }, `Could not read the log: ${e.message}`));
      }
    }
  };

  let drawn = JSON.stringify([job, instance]);
  const reload = coalescer(async () => {
    const fresh = await get(`/jobs/${job.id}`, { signal: ctx.signal });
    if (!ctx.isCurrent()) return;
    const wanted = instanceId || fresh.instance_id;
    const freshInstance = wanted ? await get(`/instances/${wanted}`, { signal: ctx.signal }) : null;
    if (!ctx.isCurrent()) return;
    job = fresh;
    if (freshInstance) {
      instance = freshInstance;
      if (!instanceId) instanceId = wanted;
    }
    const now = JSON.stringify([job, instance]);
    if (now !== drawn) {
      // Redraw only what changed: a live notice often brings nothing new.
      drawn = now;
      keepFocus(header, drawHeader);
      drawGraphBox();
      drawRuns();
    }
    if (instance && instance.status === "running") await Promise.all([loadLog(), approvals.load()]);
    else {
      clear(approvals.el);
      await loadLog();
    }
  });
  const refreshAll = () => reload("all").catch((e) => {
    if (e.name !== "AbortError") console.error(e);
  });

  drawHeader();
  drawGraphBox();
  drawRuns();
  add(ctx.main, header, approvals.el,
    h("section", { "aria-labelledby": "graph-h" }, h("h2", { id: "graph-h" }, "Path taken"),
      h("p", { class: "muted small" }, "Activities that ran are coloured by status; followed links are highlighted. Select an activity to see its runs."),
      graphBox),
    h("section", { "aria-labelledby": "timeline-h" }, h("h2", { id: "timeline-h" }, "Timeline"), timelineBox),
    h("section", { "aria-labelledby": "runs-h" }, h("h2", { id: "runs-h" }, "Activity runs"), runsBox),
    h("section", { "aria-labelledby": "children-h" }, h("h2", { id: "children-h" }, "Child runbooks"), childrenBox),
    h("section", { "aria-labelledby": "log-h" }, h("h2", { id: "log-h" }, "Log"), logBox));
  await loadLog();
  if (instance && instance.status === "running") await approvals.load().catch(() => {});

  ctx.onCleanup(ctx.live.subscribe({ job: job.id }, () => refreshAll()));
  ctx.onCleanup(ctx.live.onRefresh(refreshAll));
  // Running bars grow and durations tick while the instance runs.
  // Program output is not in the live feed: the log is read again every 2 s meanwhile.
  let ticks = 0;
  const ticker = setInterval(() => {
    if (!instance || instance.status !== "running" || !ctx.isCurrent()) return;
    replace(timelineBox, timeline(instance, names));
    ticks += 1;
    if (ticks % 2 === 0) loadLog().catch(() => {});
  }, 1000);
  ctx.onCleanup(() => clearInterval(ticker));
}
