// Recent events: state changes, server and audit events, newest first.
import { get, isMissingRoute } from "../api.js";
import { h, replace, uid } from "../dom.js";
import { badge, shortId, time } from "../format.js";

function describe(e) {
  const parts = [];
  if (e.activity) parts.push(`activity ${e.activity}`);
  if (e.server && e.kind !== "server") parts.push(`on ${e.server}`);
  if (e.actor) parts.push(`by ${e.actor}`);
  if (e.action) parts.push(e.action);
  if (e.target) parts.push(String(e.target));
  if (e.data && typeof e.data === "object") {
    const extra = Object.entries(e.data).filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
    if (extra.length) parts.push(extra.join(", "));
  }
  return parts.join(" · ");
}

/** A table of the latest events: load({limit}) fills it; soon() reloads once shortly after. */
export function eventsTable(ctx) {
  const box = h("div");
  let limit = 20;
  let kind = "";
  let timer = null;
  const load = async (opts = {}) => {
    limit = opts.limit || limit;
    if (opts.kind !== undefined) kind = opts.kind;
    try {
      const answer = await get("/events", { query: { limit, kind }, signal: ctx.signal });
      if (!ctx.isCurrent()) return;
      const items = answer.items || [];
      if (!items.length) {
        replace(box, h("p", { class: "empty" }, "No events."));
        return;
      }
      replace(box, h("div", { class: "table-wrap" }, h("table", { class: "list events" },
        h("caption", { class: "sr-only" }, "Recent events"),
        h("thead", null, h("tr", null, ["#", "When", "Kind", "Status", "Job", "Details"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, items.map((e) => h("tr", null,
          h("td", { class: "num" }, e.seq ?? e.id ?? ""),
          h("td", null, time(e.at)),
          h("td", null, e.kind || ""),
          h("td", null, e.status ? badge(e.status) : ""),
          h("td", null, e.job_id ? h("a", { href: `/jobs/${e.job_id}` }, shortId(e.job_id)) : ""),
          h("td", null, describe(e))))))));
    } catch (e) {
      if (isMissingRoute(e)) replace(box, h("p", { class: "muted" }, "This gateway does not list events."));
      else if (e.status === 403) replace(box, h("p", { class: "muted" }, "You may not read events."));
      else if (e.name !== "AbortError") replace(box, h("p", { class: "error" }, `Could not read events: ${e.message}`));
    }
  };
  ctx.onCleanup(() => clearTimeout(timer));
  return {
    el: box,
    load,
    soon() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        load().catch(() => {});
      }, 500);
    },
  };
}

export async function eventsView(ctx) {
  document.title = "Events · orch";
  const table = eventsTable(ctx);
  const kindId = uid("kind");
  const kind = h("select", { id: kindId },
    [["", "All but audit"], ["job", "Jobs"], ["instance", "Instances"], ["activity", "Activities"], ["server", "Servers"], ["audit", "Audit log"]]
      .map(([value, text]) => h("option", { value }, text)));
  kind.addEventListener("change", () => table.load({ kind: kind.value }));
  ctx.main.append(h("h1", null, "Events"),
    h("div", { class: "field inline" }, h("label", { for: kindId }, "Kind"), kind),
    h("p", { class: "muted" }, "The latest 100, newest first; the list follows the live feed."), table.el);
  await table.load({ limit: 100 });
  ctx.onCleanup(ctx.live.subscribe({ all: true }, () => table.soon()));
  ctx.onCleanup(ctx.live.onRefresh(() => table.load().catch(() => {})));
}
