// Stored designer positions: an activity's `position` {x, y} is the top-left corner of its
// box (written by the visual designer and by the SCO import). Where every activity has
// one, the graph is drawn where the author put it; otherwise it is laid out automatically.
import { BOX_H, BOX_W, layout } from "./layout.js";

export function hasPosition(a) {
  return Boolean(a && a.position && Number.isFinite(a.position.x) && Number.isFinite(a.position.y));
}

export function allPositioned(doc) {
  const acts = (doc && doc.activities) || [];
  return acts.length > 0 && acts.every(hasPosition);
}

/** The shape layout() returns, from the stored positions (moved so the top-left is at `pad`). */
export function storedLayout(doc, pad = 16) {
  const acts = doc.activities || [];
  const minX = Math.min(...acts.map((a) => a.position.x));
  const minY = Math.min(...acts.map((a) => a.position.y));
  const nodes = acts.map((a) => ({
    id: a.id, activity: a, rank: 0, w: BOX_W, h: BOX_H,
    x: a.position.x - minX + pad + BOX_W / 2, y: a.position.y - minY + pad + BOX_H / 2,
  }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges = (doc.links || [])
    .filter((l) => byId.has(l.from) && byId.has(l.to) && l.from !== l.to)
    .map((l) => ({ from: l.from, to: l.to, link: l, points: [byId.get(l.from), byId.get(l.to)].map((n) => ({ x: n.x, y: n.y })) }));
  const width = Math.max(0, ...nodes.map((n) => n.x + BOX_W / 2)) + pad;
  const height = Math.max(0, ...nodes.map((n) => n.y + BOX_H / 2)) + pad;
  return { nodes, edges, width, height, crossings: 0 };
}

let memo = { key: null, value: null };

/** Top-left of every activity's box: stored where present, else from the automatic layout. */
export function boxPositions(doc) {
  const acts = ((doc && doc.activities) || []).filter((a) => a && typeof a.id === "string");
  // the designer asks on every redraw: lay out again only when ids, links or positions change
  const key = JSON.stringify([acts.map((a) => [a.id, a.position || null]),
    Array.isArray(doc && doc.links) ? doc.links.map((l) => l && [l.from, l.to]) : []]);
  if (memo.key === key) return new Map([...memo.value].map(([k, v]) => [k, { ...v }]));
  const out = new Map();
  let auto = null;
  for (const a of acts) {
    if (hasPosition(a)) {
      out.set(a.id, { x: a.position.x, y: a.position.y });
      continue;
    }
    if (!auto) {
      const g = layout({ activities: acts, links: Array.isArray(doc.links) ? doc.links : [] });
      auto = new Map(g.nodes.map((n) => [n.id, { x: Math.round(n.x - BOX_W / 2), y: Math.round(n.y - BOX_H / 2) }]));
    }
    out.set(a.id, auto.get(a.id) || { x: 16, y: 16 });
  }
  memo = { key, value: out };
  return new Map([...out].map(([k, v]) => [k, { ...v }]));
}
