// The runbook's graph as SVG: activities as boxes, links as arrows labelled
// with their conditions. With an instance's runs, boxes take their status
// colours and the links that were followed are highlighted.
import { h, s, uid } from "../dom.js";
import { BOX_H, BOX_W, layout } from "./layout.js";
import { allPositioned, storedLayout } from "./positions.js";

const OPS = {
  equals: "equals", not_equals: "not equals", contains: "contains", not_contains: "does not contain",
  starts_with: "starts with", ends_with: "ends with", matches: "matches", not_matches: "does not match",
  lt: "<", le: "≤", gt: ">", ge: "≥", between: "between",
};

function conditionText(c) {
  const op = OPS[c.op] || c.op;
  if (c.op === "between" && Array.isArray(c.value)) return `${c.data} between ${c.value[0]} and ${c.value[1]}`;
  return `${c.data} ${op} ${Array.isArray(c.value) ? c.value.join(", ") : c.value}`;
}

/** The link's conditions as one line of text ("" for the default: Status equals success). */
export function linkLabel(link) {
  const parts = [];
  if (Array.isArray(link.include)) {
    // An explicit empty include replaces "Status equals success" with nothing: any status.
    parts.push(link.include.length ? link.include.map(conditionText).join(" or ") : "any status");
  }
  if (link.exclude && link.exclude.length) parts.push(`unless ${link.exclude.map(conditionText).join(" or ")}`);
  if (link.delay_seconds) parts.push(`after ${link.delay_seconds} s`);
  return parts.join("; ");
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function pathThrough(points) {
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length; i += 1) {
    const p = points[i - 1];
    const q = points[i];
    const dx = (q.x - p.x) / 2;
    d += ` C ${p.x + dx} ${p.y}, ${q.x - dx} ${q.y}, ${q.x} ${q.y}`;
  }
  return d;
}

/** Which activities ran (last status, count) and which links were followed, from runs. */
export function runSummary(runs) {
  const byActivity = new Map();
  const runActivity = new Map();
  for (const r of runs || []) {
    runActivity.set(r.run_id, r.activity);
    const entry = byActivity.get(r.activity) || { status: r.status, count: 0, parents: new Set(), hasParent: false };
    entry.status = r.status;
    entry.count += 1;
    if (r.parent_run) {
      entry.hasParent = true;
      entry.parents.add(r.parent_run);
    }
    byActivity.set(r.activity, entry);
  }
  const followed = (from, to) => {
    const target = byActivity.get(to);
    if (!target || !byActivity.has(from)) return false;
    if (!target.hasParent) return true;
    for (const parent of target.parents) if (runActivity.get(parent) === from) return true;
    return false;
  };
  return { byActivity, followed };
}

/**
 * drawGraph(document, {runs, onSelect, selected}) → <figure> holding the SVG and a text
 * version of the graph for screen readers.
 */
const LABEL_CHARS = 32;
const CHAR_PX = 6.2;

export function drawGraph(doc, { runs = null, onSelect = null, selected = null } = {}) {
  // Labels sit just before their target box, where links into a rank are spread
  // apart; the gap between ranks grows to fit the longest one.
  // Where the designer (or an SCO import) placed every box, the graph keeps its places.
  const g = allPositioned(doc) ? storedLayout(doc) : layout(doc, {
    gapBefore: (link) => Math.round(Math.min(linkLabel(link).length, LABEL_CHARS) * CHAR_PX) + 48,
  });
  const summary = runs ? runSummary(runs) : null;
  const arrow = uid("arrow");
  const arrowTaken = uid("arrow-taken");
  const svg = s("svg", {
    class: ["graph", summary && "has-runs"],
    viewBox: `0 0 ${Math.max(g.width, 10)} ${Math.max(g.height, 10)}`,
    width: g.width,
    height: g.height,
    role: "group",
    "aria-label": `Graph of ${(doc.activities || []).length} activities and ${(doc.links || []).length} links`,
  });
  svg.append(s("defs", null,
    s("marker", { id: arrow, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" })),
    s("marker", { id: arrowTaken, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 12, markerHeight: 12, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead taken" }))));

  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const edgeLayer = s("g", { class: "edges" });
  const labelLayer = s("g", { class: "labels" });
  for (const e of g.edges) {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    const points = [{ x: from.x + BOX_W / 2, y: from.y }, ...e.points.slice(1, -1), { x: to.x - BOX_W / 2 - 2, y: to.y }];
    const taken = summary ? summary.followed(e.from, e.to) : false;
    const label = linkLabel(e.link);
    const title = `${e.link.name ? `${e.link.name}: ` : ""}${e.from} → ${e.to}${label ? `: ${label}` : ""}${taken ? " (followed)" : ""}`;
    edgeLayer.append(s("path", {
      class: ["link", taken && "taken"], d: pathThrough(points),
      "marker-end": `url(#${taken ? arrowTaken : arrow})`, dataset: { from: e.from, to: e.to },
    }, s("title", null, title)));
    if (label) {
      const end = points[points.length - 1];
      labelLayer.append(s("text", {
        class: ["link-label", taken && "taken"], x: end.x - 14, y: end.y - 7, "text-anchor": "end",
      }, truncate(label, LABEL_CHARS), s("title", null, label)));
    }
  }
  const nodeLayer = s("g", { class: "nodes" });
  for (const n of g.nodes) {
    const a = n.activity;
    const ran = summary ? summary.byActivity.get(a.id) : null;
    const status = ran ? ran.status : null;
    const name = a.name || a.id;
    const label = `${name} (${a.type})${ran ? `: ${status}${ran.count > 1 ? `, ${ran.count} runs` : ""}` : summary ? ": did not run" : ""}`;
    const node = s("g", {
      class: ["node", status && `st-${status}`, summary && !ran && "not-run", selected === a.id && "selected"],
      transform: `translate(${n.x - BOX_W / 2} ${n.y - BOX_H / 2})`,
      dataset: { activity: a.id },
      tabindex: onSelect ? 0 : null,
      role: onSelect ? "button" : null,
      "aria-label": label,
    },
    s("title", null, label),
    s("rect", { width: BOX_W, height: BOX_H, rx: 8, ry: 8 }),
    s("text", { x: 12, y: 23, class: "node-name" }, truncate(name, 20)),
    s("text", { x: 12, y: 42, class: "node-type" }, truncate(a.type, 24)));
    if (ran && ran.count > 1) {
      node.append(s("text", { x: BOX_W - 10, y: 42, class: "node-count", "text-anchor": "end" }, `×${ran.count}`));
    }
    if (onSelect) {
      node.addEventListener("click", () => onSelect(a.id));
      node.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          onSelect(a.id);
        }
      });
    }
    nodeLayer.append(node);
  }
  svg.append(edgeLayer, labelLayer, nodeLayer);

  const text = h("details", { class: "graph-text" },
    h("summary", null, "Graph as text"),
    h("ul", null, (doc.activities || []).map((a) => {
      const outs = (doc.links || []).filter((l) => l.from === a.id);
      const ran = summary ? summary.byActivity.get(a.id) : null;
      return h("li", null, `${a.name || a.id} (${a.id}, ${a.type})`,
        ran ? ` — ${ran.status}` : "",
        outs.length ? h("ul", null, outs.map((l) => h("li", null, `→ ${l.to}`, linkLabel(l) ? `: ${linkLabel(l)}` : ""))) : null);
    })));
  return h("figure", { class: "graph-figure" }, h("div", { class: "graph-scroll" }, svg), text);
}
