// Jobs, newest first, filtered by status, runbook, server and time; rows follow the
// live feed (new jobs appear at the top, statuses change in place).
import { apiCapabilities, get, getAll } from "../api.js";
import { h, uid } from "../dom.js";
import { JOB_STATUSES, localToUtc, parseTime, utcToLocal } from "../format.js";
import { coalescer } from "../live.js";
import { jobTable } from "../parts/jobtable.js";

const PAGE = 50;
const FROM_NAMES = ["created_after", "since", "from", "after"];
const TO_NAMES = ["created_before", "until", "to", "before"];

function readFilters(query) {
  return {
    status: query.get("status") || "",
    runbook: query.get("runbook") || "",
    server: query.get("server") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
  };
}

function matches(job, f) {
  if (f.status && job.status !== f.status) return false;
  if (f.runbook && job.runbook_path !== f.runbook && job.runbook_id !== f.runbook) return false;
  if (f.server && job.server !== f.server && job.target_server !== f.server) return false;
  const created = parseTime(job.created_at);
  if (f.from && created < parseTime(f.from)) return false;
  if (f.to && created > parseTime(f.to)) return false;
  return true;
}

export async function jobsView(ctx) {
  document.title = "Jobs · orch";
  const f = readFilters(ctx.query);
  const caps = await apiCapabilities().catch(() => null);
  const accepted = caps ? caps.query("list_jobs") : new Set(["status", "runbook"]);
  const serverSide = { status: "status", runbook: "runbook" };
  if (accepted.has("server")) serverSide.server = "server";
  const fromName = FROM_NAMES.find((n) => accepted.has(n));
  const toName = TO_NAMES.find((n) => accepted.has(n));
  if (fromName) serverSide.from = fromName;
  if (toName) serverSide.to = toName;

  const apiQuery = { limit: PAGE };
  for (const [key, name] of Object.entries(serverSide)) if (f[key]) apiQuery[name] = f[key];

  const table = jobTable({ caption: "Jobs", empty: "No job matches these filters." });
  const more = h("button", { type: "button", hidden: true }, "Show older jobs");
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  let cursor = null;

  const fetchPage = async (from) => {
    // Filters the API does not take are applied here, reading pages until one fills.
    const found = [];
    let next = from;
    for (let round = 0; round < 10; round += 1) {
      const page = await get("/jobs", { query: { ...apiQuery, cursor: next }, signal: ctx.signal });
      found.push(...page.items.filter((j) => matches(j, f)));
      next = page.next;
      if (!next || found.length >= PAGE) break;
    }
    return { items: found, next };
  };
  const load = async () => {
    const page = await fetchPage(null);
    if (!ctx.isCurrent()) return;
    table.set(page.items);
    cursor = page.next;
    more.hidden = !cursor;
    status.textContent = `${page.items.length} job${page.items.length === 1 ? "" : "s"} shown`;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await fetchPage(cursor);
      for (const job of page.items) table.upsert(job, { prepend: false });
      cursor = page.next;
      more.hidden = !cursor;
      status.textContent = `${table.ids().length} jobs shown`;
    } finally {
      more.disabled = false;
    }
  });

  const refreshJob = coalescer(async (jobId) => {
    const job = await get(`/jobs/${jobId}`, { signal: ctx.signal });
    if (!ctx.isCurrent()) return;
    if (matches(job, f)) table.upsert(job);
    else table.remove(job.id);
  });

  // The filter form: it changes the URL, which redraws this page.
  const ids = { status: uid("f"), runbook: uid("f"), server: uid("f"), from: uid("f"), to: uid("f") };
  const runbookList = uid("runbooks");
  const serverList = uid("servers");
  const inputs = {
    status: h("select", { id: ids.status, name: "status" }, h("option", { value: "" }, "Any"),
      JOB_STATUSES.map((st) => h("option", { value: st, selected: st === f.status }, st))),
    runbook: h("input", { id: ids.runbook, name: "runbook", value: f.runbook, list: runbookList, placeholder: "/Folder/Name", autocomplete: "off" }),
    server: h("input", { id: ids.server, name: "server", value: f.server, list: serverList, autocomplete: "off" }),
    from: h("input", { id: ids.from, name: "from", type: "datetime-local", step: 1, value: utcToLocal(f.from) }),
    to: h("input", { id: ids.to, name: "to", type: "datetime-local", step: 1, value: utcToLocal(f.to) }),
  };
  const datalists = [h("datalist", { id: runbookList }), h("datalist", { id: serverList })];
  getAll("/runbooks", { signal: ctx.signal }).then((rbs) => {
    for (const r of rbs) datalists[0].append(h("option", { value: r.path }));
  }).catch(() => {});
  get("/servers", { signal: ctx.signal }).then((answer) => {
    for (const srv of answer.items || []) datalists[1].append(h("option", { value: srv.name }));
  }).catch(() => {});
  const apply = (ev) => {
    if (ev) ev.preventDefault();
    const q = new URLSearchParams();
    if (inputs.status.value) q.set("status", inputs.status.value);
    if (inputs.runbook.value.trim()) q.set("runbook", inputs.runbook.value.trim());
    if (inputs.server.value.trim()) q.set("server", inputs.server.value.trim());
    if (inputs.from.value) q.set("from", localToUtc(inputs.from.value));
    if (inputs.to.value) q.set("to", localToUtc(inputs.to.value));
    const qs = q.toString();
    ctx.navigate(`/jobs${qs ? `?${qs}` : ""}`, { replace: true });
  };
  inputs.status.addEventListener("change", apply);
  const label = (key, text) => h("div", { class: "field" }, h("label", { for: ids[key] }, text), inputs[key]);
  const form = h("form", { class: "filters", "aria-label": "Filter jobs" },
    label("status", "Status"), label("runbook", "Runbook"), label("server", "Server"),
    label("from", "Created from"), label("to", "Created until"),
    h("div", { class: "field buttons" }, h("button", { type: "submit" }, "Filter"),
      h("a", { href: "/jobs", class: "button-link" }, "Clear")),
    datalists);
  form.addEventListener("submit", apply);

  ctx.main.append(h("h1", null, "Jobs"), form, status, table.el, h("p", null, more));
  await load();
  ctx.onCleanup(ctx.live.subscribe({ all: true }, (event) => {
    if (event.kind !== "job" || !event.job_id) return;
    if (!table.has(event.job_id) && f.status && event.status && event.status !== f.status) return;
    refreshJob(event.job_id);
  }));
  ctx.onCleanup(ctx.live.onRefresh(() => load().catch(() => {})));
}
