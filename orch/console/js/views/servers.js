// Runbook servers (up/down, heartbeat age, load) and the most recent events.
import { get, isMissingRoute } from "../api.js";
import { h, replace } from "../dom.js";
import { badge, duration, parseTime, time } from "../format.js";
import { eventsTable } from "./events.js";

const POLL = 5000;

function serverState(srv) {
  // A server that says "up" but whose heartbeat lapsed is not available: shown as down.
  if (srv.status === "up" && srv.available === false) return "down";
  return srv.status;
}

/** Seconds since the last heartbeat: the gateway's count (no clock skew) plus time since read. */
function heartbeatAge(srv, readAt, now) {
  if (typeof srv.heartbeat_age_seconds === "number") return srv.heartbeat_age_seconds + (now - readAt) / 1000;
  const beat = parseTime(srv.heartbeat_at);
  return beat === null ? null : (now - beat) / 1000;
}

export async function serversView(ctx) {
  document.title = "Servers · orch";
  const serversBox = h("div");
  const eventsBox = h("div");
  let servers = [];
  let readAt = Date.now();

  const drawServers = () => {
    const now = Date.now();
    if (!servers.length) {
      replace(serversBox, h("p", { class: "empty" }, "No runbook server has registered."));
      return;
    }
    replace(serversBox, h("div", { class: "table-wrap" }, h("table", { class: "list" },
      h("caption", { class: "sr-only" }, "Runbook servers"),
      h("thead", null, h("tr", null, ["Server", "State", "Heartbeat", "Load", "Host", "Started", "Packs"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, servers.map((srv) => {
        const load = srv.capacity ? Math.round(((srv.running || 0) / srv.capacity) * 100) : 0;
        const meter = h("meter", { min: 0, max: srv.capacity || 1, value: srv.running || 0, "aria-label": `Load of ${srv.name}` });
        const packs = Array.isArray(srv.packs) ? srv.packs.map((p) => (typeof p === "string" ? p : `${p.name}${p.version ? ` ${p.version}` : ""}`)) : [];
        return h("tr", { dataset: { server: srv.name } },
          h("th", { scope: "row" }, srv.name),
          h("td", null, badge(serverState(srv))),
          h("td", { title: srv.heartbeat_at || "" }, (() => {
            const secs = heartbeatAge(srv, readAt, now);
            return secs === null ? "—" : `${duration(secs * 1000)} ago`;
          })()),
          h("td", null, meter, ` ${srv.running ?? 0} / ${srv.capacity ?? "?"} (${load}%)`),
          h("td", null, srv.host || h("span", { class: "muted" }, "—"), srv.pid ? h("span", { class: "muted" }, ` pid ${srv.pid}`) : null),
          h("td", null, time(srv.started_at)),
          h("td", null, packs.length ? packs.join(", ") : h("span", { class: "muted" }, "—")));
      })))));
  };
  const events = eventsTable(ctx);
  const load = async () => {
    try {
      const answer = await get("/servers", { signal: ctx.signal });
      servers = answer.items || [];
      readAt = Date.now();
      if (ctx.isCurrent()) drawServers();
    } catch (e) {
      if (isMissingRoute(e)) replace(serversBox, h("p", { class: "muted" }, "This gateway does not list runbook servers."));
      else if (e.name !== "AbortError") replace(serversBox, h("p", { class: "error" }, `Could not read the servers: ${e.message}`));
    }
  };
  ctx.main.append(h("h1", null, "Runbook servers"), serversBox,
    h("section", { "aria-labelledby": "events-h" }, h("h2", { id: "events-h" }, "Recent events"), eventsBox,
      h("p", null, h("a", { href: "/events" }, "More events"))));
  eventsBox.append(events.el);
  await Promise.all([load(), events.load({ limit: 20 })]);
  // Heartbeats are not in the live feed: re-read on a timer; ages tick every second.
  const poll = setInterval(() => load().catch(() => {}), POLL);
  const tick = setInterval(drawServers, 1000);
  ctx.onCleanup(() => {
    clearInterval(poll);
    clearInterval(tick);
  });
  ctx.onCleanup(ctx.live.onRefresh(() => events.load({ limit: 20 }).catch(() => {})));
  ctx.onCleanup(ctx.live.subscribe({ all: true }, () => events.soon()));
}
