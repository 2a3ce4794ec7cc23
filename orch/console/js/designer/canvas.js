// The designer's canvas: activities as boxes at their positions, links as arrows.
//
// Mouse: drag a box to move it, drag from its output handle (the dot on its right
// edge) onto another box to link them, drag the background to pan, the wheel to
// zoom, drop a palette entry to add an activity there. Keyboard: Tab reaches every
// box and link; Enter selects (Enter again goes to its properties, Escape there comes
// back); Delete deletes (after a confirmation); arrow keys
// move the focused box (Shift: further), or pan when the canvas itself has focus;
// + and - zoom.
import { h, s, uid } from "../dom.js";
import { linkLabel } from "../graph/render.js";
import { boxPositions, hasPosition } from "../graph/positions.js";
import { BOX_H, BOX_W } from "./model.js";

export const TYPE_MIME = "application/x-orch-activity-type";
const MIN_K = 0.3;
const FIT_MIN_K = 0.75;
const MAX_K = 2.5;
const STEP = 8;
const GAP_X = 128; // room for a link's label between two boxes

function truncate(text, max) {
  const t = String(text ?? "");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function curve(a, b) {
  const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
  return `M ${a.x} ${a.y} C ${a.x + dx} ${a.y}, ${b.x - dx} ${b.y}, ${b.x} ${b.y}`;
}

/** What a test run showed of an activity, as one line on its box. */
function testLine(t) {
  if (!t) return "";
  if (t.paused) return "paused here";
  const item = (t.published || [])[0] || {};
  const own = Object.entries(item).filter(([k]) => !["Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"].includes(k));
  const data = own.length ? ` · ${own[0][0]}=${own[0][1]}` : "";
  return `${t.status}${t.count > 1 ? ` ×${t.count}` : ""}${data}`;
}

export function makeCanvas({ draft, editable, onAdd, onLink, onDelete, onMove, onOpen = () => {} }) {
  const view = { x: 0, y: 0, k: 1 };
  let faults = { activities: new Map(), links: new Map() };
  let test = null; // Map activity id → {status, count, published, paused}
  let fitted = false;

  const arrow = uid("arrow");
  const svg = s("svg", {
    class: "canvas", tabindex: 0, role: "group",
    "aria-label": "Canvas: Tab to each activity and link; arrow keys pan, + and - zoom",
  });
  const viewport = s("g", { class: "viewport" });
  svg.append(s("defs", null,
    s("marker", { id: arrow, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))), viewport);
  const zoomLabel = h("span", { class: "zoom-level", "aria-live": "polite" }, "100%");
  const empty = h("p", { class: "canvas-empty" }, "Empty: drag an activity from the palette, or select one there and press Enter.");
  const el = h("div", { class: "canvas-box" },
    h("div", { class: "canvas-tools actions", role: "toolbar", "aria-label": "Canvas" },
      h("button", { type: "button", class: "small", onclick: () => zoomAt(1.25) }, "Zoom in"),
      h("button", { type: "button", class: "small", onclick: () => zoomAt(0.8) }, "Zoom out"),
      h("button", { type: "button", class: "small", onclick: () => fit() }, "Fit"), zoomLabel),
    h("div", { class: "canvas-wrap design-graph" }, svg, empty));

  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x} ${view.y}) scale(${view.k})`);
    zoomLabel.textContent = `${Math.round(view.k * 100)}%`;
  }

  function toWorld(clientX, clientY) {
    const r = svg.getBoundingClientRect();
    return { x: (clientX - r.left - view.x) / view.k, y: (clientY - r.top - view.y) / view.k };
  }

  function zoomAt(factor, cx = null, cy = null) {
    const r = svg.getBoundingClientRect();
    const px = cx ?? r.width / 2;
    const py = cy ?? r.height / 2;
    const k = Math.min(MAX_K, Math.max(MIN_K, view.k * factor));
    view.x = px - ((px - view.x) * k) / view.k;
    view.y = py - ((py - view.y) * k) / view.k;
    view.k = k;
    applyView();
  }

  function fit() {
    const pos = boxPositions(draft.doc);
    const r = svg.getBoundingClientRect();
    if (!pos.size || !r.width) {
      Object.assign(view, { x: 16, y: 16, k: 1 });
      applyView();
      return;
    }
    const xs = [...pos.values()];
    const minX = Math.min(...xs.map((p) => p.x)) - 24;
    const minY = Math.min(...xs.map((p) => p.y)) - 24;
    const maxX = Math.max(...xs.map((p) => p.x + BOX_W)) + 24;
    const maxY = Math.max(...xs.map((p) => p.y + BOX_H + 18)) + 24;
    // shrink to fit, but not below FIT_MIN_K (text stays readable): then the left part shows
    const k = Math.min(1, Math.max(FIT_MIN_K, Math.min(r.width / (maxX - minX), r.height / (maxY - minY))));
    const x = -minX * k + Math.max(0, (r.width - (maxX - minX) * k) / 2);
    Object.assign(view, { k, x, y: -minY * k + Math.max(0, (r.height - (maxY - minY) * k) / 3) });
    applyView();
  }

  /** Where a new activity goes: right of the selected one (or of the rightmost), not on another. */
  function placeNear(fromId) {
    const pos = boxPositions(draft.doc);
    let x = 24;
    let y = 24;
    const from = fromId ? pos.get(fromId) : null;
    if (from) {
      x = from.x + BOX_W + GAP_X;
      y = from.y;
    } else if (pos.size) {
      const right = [...pos.values()].reduce((a, b) => (b.x > a.x ? b : a));
      x = right.x + BOX_W + GAP_X;
      y = right.y;
    }
    const taken = [...pos.values()];
    while (taken.some((p) => Math.abs(p.x - x) < BOX_W && Math.abs(p.y - y) < BOX_H + 16)) y += BOX_H + 32;
    return { x, y };
  }

  // -- drawing --------------------------------------------------------------------------
  function draw() {
    const active = document.activeElement;
    const focusKey = active && svg.contains(active) ? (active.dataset.activity ? `a:${active.dataset.activity}` : active.dataset.link ? `l:${active.dataset.link}` : null) : null;
    viewport.replaceChildren();
    const doc = draft.doc;
    const acts = (Array.isArray(doc.activities) ? doc.activities : []).filter((a) => a && typeof a.id === "string");
    const links = Array.isArray(doc.links) ? doc.links : [];
    const pos = boxPositions(doc);
    empty.hidden = acts.length > 0;
    const sel = draft.selection;

    const linkLayer = s("g", { class: "edges" });
    links.forEach((link, index) => {
      if (!link || !pos.has(link.from) || !pos.has(link.to)) return;
      const a = pos.get(link.from);
      const b = pos.get(link.to);
      const start = { x: a.x + BOX_W, y: a.y + BOX_H / 2 };
      const end = { x: b.x - 2, y: b.y + BOX_H / 2 };
      const d = curve(start, end);
      const label = linkLabel(link);
      const problems = faults.links.get(index) || [];
      const selected = sel && sel.kind === "link" && sel.index === index;
      const text = `Link ${link.from} → ${link.to}${link.name ? ` (${link.name})` : ""}${label ? `: ${label}` : ""}${link.enabled === false ? " (disabled)" : ""}${problems.length ? `. Fault: ${problems.join("; ")}` : ""}`;
      const g = s("g", {
        class: ["link-g", selected && "selected", problems.length && "has-fault", link.enabled === false && "disabled"],
        tabindex: 0, role: "button", "aria-label": text, "aria-pressed": selected ? "true" : "false",
        dataset: { link: String(index), from: link.from, to: link.to },
      },
      s("title", null, text),
      s("path", { class: "link-hit", d }),
      s("path", { class: "link", d, "marker-end": `url(#${arrow})` }));
      const centre = { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 };
      // a dot in the middle: something to click (a straight line has no height to hit)
      g.append(s("circle", { class: "link-mid-hit", cx: centre.x, cy: centre.y, r: 10 }),
        s("circle", { class: "link-mid", cx: centre.x, cy: centre.y, r: 4 }));
      const mid = { x: centre.x, y: centre.y - 8 };
      const shown = link.name || label;
      if (shown) g.append(s("text", { class: "link-label", x: mid.x, y: mid.y, "text-anchor": "middle" }, truncate(shown, 34)));
      if (problems.length) g.append(s("text", { class: "fault-mark", x: mid.x, y: mid.y + 22, "text-anchor": "middle" }, "⚠"));
      g.addEventListener("click", (ev) => { ev.stopPropagation(); draft.select({ kind: "link", index }); });
      g.addEventListener("pointerdown", (ev) => ev.stopPropagation());
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); draft.select({ kind: "link", index }); }
        if ((ev.key === "Delete" || ev.key === "Backspace") && editable()) { ev.preventDefault(); onDelete({ kind: "link", index }); }
      });
      linkLayer.append(g);
    });

    const nodeLayer = s("g", { class: "nodes" });
    for (const a of acts) {
      const p = pos.get(a.id);
      const problems = faults.activities.get(a.id) || [];
      const t = test ? test.get(a.id) : null;
      const selected = sel && sel.kind === "activity" && sel.id === a.id;
      const name = a.name || a.id;
      const status = t ? (t.paused ? "paused" : t.status) : null;
      const label = `${name} (${a.id}, ${a.type})${a.enabled === false ? ", disabled" : ""}${t ? `: ${testLine(t)}` : test ? ": did not run" : ""}${problems.length ? `. Fault: ${problems.join("; ")}` : ""}`;
      const node = s("g", {
        class: ["node", selected && "selected", problems.length && "has-fault", status && `st-${status}`, test && !t && "not-run", a.enabled === false && "disabled"],
        transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: "button", "aria-label": label,
        "aria-pressed": selected ? "true" : "false", dataset: { activity: a.id },
      },
      s("title", null, label),
      s("rect", { class: "box", width: BOX_W, height: BOX_H, rx: 8, ry: 8 }),
      s("text", { x: 12, y: 23, class: "node-name" }, truncate(name, 20)),
      s("text", { x: 12, y: 42, class: "node-type" }, truncate(a.type, 24)));
      if (t) node.append(s("text", { x: 0, y: BOX_H + 15, class: "node-test" }, truncate(testLine(t), 30)));
      if (problems.length) {
        node.append(s("g", { class: "fault-badge", transform: `translate(${BOX_W - 4} 4)` },
          s("circle", { r: 10 }), s("text", { "text-anchor": "middle", y: 5 }, "!"),
          s("title", null, problems.join("\n"))));
      }
      if (editable()) {
        const handle = s("circle", { class: "handle", cx: BOX_W, cy: BOX_H / 2, r: 7 }, s("title", null, `Drag to link ${a.id} to another activity`));
        handle.addEventListener("pointerdown", (ev) => startLinkDrag(ev, a.id));
        node.append(handle);
      }
      node.addEventListener("pointerdown", (ev) => startBoxDrag(ev, a.id, node));
      node.addEventListener("keydown", (ev) => boxKey(ev, a.id));
      nodeLayer.append(node);
    }
    // boxes first: Tab reaches the activities in document order, then the links
    viewport.append(nodeLayer, linkLayer);
    if (focusKey) {
      const [kind, key] = [focusKey.slice(0, 1), focusKey.slice(2)];
      const again = kind === "a" ? viewport.querySelector(`[data-activity="${CSS.escape(key)}"]`) : viewport.querySelector(`[data-link="${CSS.escape(key)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
    if (!fitted && acts.length && svg.getBoundingClientRect().width) {
      fitted = true;
      fit();
    }
  }

  // -- mouse ----------------------------------------------------------------------------
  function startBoxDrag(ev, id, node) {
    if (ev.button !== 0) return;
    ev.stopPropagation();
    const origin = boxPositions(draft.doc).get(id);
    const start = toWorld(ev.clientX, ev.clientY);
    let moved = false;
    let to = origin;
    const move = (e) => {
      const w = toWorld(e.clientX, e.clientY);
      const dx = w.x - start.x;
      const dy = w.y - start.y;
      if (!moved && Math.hypot(dx, dy) * view.k < 4) return;
      if (!editable()) return;
      moved = true;
      to = { x: Math.round(origin.x + dx), y: Math.round(origin.y + dy) };
      node.setAttribute("transform", `translate(${to.x} ${to.y})`);
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      if (moved) onMove(id, to);
      else draft.select({ kind: "activity", id });
      const again = viewport.querySelector(`[data-activity="${CSS.escape(id)}"]`);
      if (again) again.focus({ preventScroll: true });
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function startLinkDrag(ev, from) {
    if (ev.button !== 0) return;
    ev.stopPropagation();
    ev.preventDefault();
    const p = boxPositions(draft.doc).get(from);
    const a = { x: p.x + BOX_W, y: p.y + BOX_H / 2 };
    const line = s("path", { class: "link dragging", d: curve(a, a) });
    viewport.append(line);
    const move = (e) => line.setAttribute("d", curve(a, toWorld(e.clientX, e.clientY)));
    const up = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      line.remove();
      const target = document.elementFromPoint(e.clientX, e.clientY);
      const box = target && target.closest ? target.closest("[data-activity]") : null;
      if (box && svg.contains(box) && box.dataset.activity !== from) onLink(from, box.dataset.activity);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const start = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    let moved = false;
    const move = (e) => {
      if (!moved && Math.hypot(e.clientX - start.x, e.clientY - start.y) < 4) return;
      moved = true;
      view.x = start.vx + e.clientX - start.x;
      view.y = start.vy + e.clientY - start.y;
      applyView();
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      svg.classList.remove("panning");
      if (!moved) draft.select({ kind: "runbook" });
    };
    svg.classList.add("panning");
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  });

  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(ev.deltaY < 0 ? 1.1 : 1 / 1.1, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  const wrap = el.querySelector(".canvas-wrap");
  wrap.addEventListener("dragover", (ev) => {
    if (!editable() || !Array.from(ev.dataTransfer.types || []).includes(TYPE_MIME)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
  });
  wrap.addEventListener("drop", (ev) => {
    const type = ev.dataTransfer.getData(TYPE_MIME);
    if (!type || !editable()) return;
    ev.preventDefault();
    const w = toWorld(ev.clientX, ev.clientY);
    onAdd(type, { x: Math.round(w.x - BOX_W / 2), y: Math.round(w.y - BOX_H / 2) }, { link: false });
  });

  // -- keyboard -------------------------------------------------------------------------
  function boxKey(ev, id) {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      const sel = draft.selection;
      if (ev.key === "Enter" && sel && sel.kind === "activity" && sel.id === id) onOpen(id); // again: edit it
      else draft.select({ kind: "activity", id });
      return;
    }
    if (!editable()) return;
    if (ev.key === "Delete" || ev.key === "Backspace") {
      ev.preventDefault();
      onDelete({ kind: "activity", id });
      return;
    }
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[ev.key]) {
      ev.preventDefault();
      ev.stopPropagation();
      const p = boxPositions(draft.doc).get(id);
      const step = ev.shiftKey ? STEP * 5 : STEP;
      onMove(id, { x: p.x + moves[ev.key][0] * step, y: p.y + moves[ev.key][1] * step });
    }
  }

  svg.addEventListener("keydown", (ev) => {
    if (ev.target !== svg) return;
    const pans = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
    if (pans[ev.key]) {
      ev.preventDefault();
      view.x += pans[ev.key][0];
      view.y += pans[ev.key][1];
      applyView();
    } else if (ev.key === "+" || ev.key === "=") {
      ev.preventDefault();
      zoomAt(1.25);
    } else if (ev.key === "-") {
      ev.preventDefault();
      zoomAt(0.8);
    }
  });

  applyView();
  return {
    el,
    draw,
    fit,
    placeNear,
    setFaults(f) { faults = f; draw(); },
    setTest(t) { test = t; draw(); },
    /** Pan so the activity's box is in view (a new one may land outside). */
    reveal(id) {
      const p = boxPositions(draft.doc).get(id);
      const r = svg.getBoundingClientRect();
      if (!p || !r.width) return;
      // the least panning that brings the whole box (and its test line) into view
      const margin = 24;
      const left = p.x * view.k + view.x;
      const top = p.y * view.k + view.y;
      const right = left + BOX_W * view.k;
      const bottom = top + (BOX_H + 20) * view.k;
      if (right > r.width - margin) view.x -= right - (r.width - margin);
      else if (left < margin) view.x += margin - left;
      if (bottom > r.height - margin) view.y -= bottom - (r.height - margin);
      else if (top < margin) view.y += margin - top;
      applyView();
    },
    focusActivity(id) {
      const node = viewport.querySelector(`[data-activity="${CSS.escape(id)}"]`);
      if (node) node.focus({ preventScroll: true });
    },
  };
}

/** Positions of every activity frozen into the document (before the first move). */
export function freezePositions(doc) {
  const pos = boxPositions(doc);
  for (const a of doc.activities || []) {
    if (a && !hasPosition(a) && pos.has(a.id)) a.position = { ...pos.get(a.id) };
  }
}
