// Layered ("Sugiyama") layout of a runbook's graph, left to right.
//
// 1. Rank: each activity's rank is its longest path from the start, so every
//    link points forward. 2. Links spanning several ranks get one dummy node per
//    rank they cross, so they can bend around boxes. 3. Order within ranks:
//    barycenter sweeps down and up, keeping the order with the fewest crossings.
// 4. Coordinates: ranks are columns; in each column nodes are stacked and then
//    pulled toward the mean position of their neighbours without overlapping.
// Pure: no DOM, so it can be tried on any document.

export const BOX_W = 168;
export const BOX_H = 56;
const GAP_X = 96; // between ranks; callers widen it to fit link labels
const GAP_Y = 40;
const DUMMY_H = 8;
const SWEEPS = 12;

/** Longest-path ranks; nodes on a cycle (invalid documents) are put after the rest. */
export function ranks(ids, edges) {
  const incoming = new Map(ids.map((id) => [id, 0]));
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!incoming.has(e.from) || !incoming.has(e.to)) continue;
    incoming.set(e.to, incoming.get(e.to) + 1);
    out.get(e.from).push(e.to);
  }
  const rank = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => incoming.get(id) === 0);
  const done = new Set();
  while (queue.length) {
    const id = queue.shift();
    done.add(id);
    for (const next of out.get(id)) {
      rank.set(next, Math.max(rank.get(next), rank.get(id) + 1));
      incoming.set(next, incoming.get(next) - 1);
      if (incoming.get(next) === 0) queue.push(next);
    }
  }
  const maxRank = Math.max(0, ...[...done].map((id) => rank.get(id)));
  for (const id of ids) if (!done.has(id)) rank.set(id, maxRank + 1);
  return rank;
}

function countCrossings(layers, down) {
  // Crossings between consecutive layers, by pairs of edges (small graphs).
  let total = 0;
  for (let r = 0; r + 1 < layers.length; r += 1) {
    const pos = new Map(layers[r + 1].map((n, i) => [n, i]));
    const segs = [];
    layers[r].forEach((n, i) => {
      for (const m of down.get(n) || []) if (pos.has(m)) segs.push([i, pos.get(m)]);
    });
    for (let a = 0; a < segs.length; a += 1) {
      for (let b = a + 1; b < segs.length; b += 1) {
        if ((segs[a][0] - segs[b][0]) * (segs[a][1] - segs[b][1]) < 0) total += 1;
      }
    }
  }
  return total;
}

function barycenterSweep(layers, neighbours, from, to, step) {
  for (let r = from; r !== to; r += step) {
    const ref = new Map(layers[r - step].map((n, i) => [n, i]));
    const keyed = layers[r].map((n, i) => {
      const near = (neighbours.get(n) || []).filter((m) => ref.has(m)).map((m) => ref.get(m));
      const bc = near.length ? near.reduce((a, b) => a + b, 0) / near.length : i;
      return { n, bc, i };
    });
    keyed.sort((a, b) => a.bc - b.bc || a.i - b.i);
    layers[r] = keyed.map((k) => k.n);
  }
}

/**
 * layout({activities, links}) → {nodes: [{id, x, y, w, h, rank}], edges: [{from, to, link,
 * points: [{x, y}…]}], width, height, crossings}. x, y are box centres.
 */
export function layout(doc, { gapBefore = () => GAP_X } = {}) {
  const activities = doc.activities || [];
  const ids = activities.map((a) => a.id);
  const links = (doc.links || []).filter((l) => ids.includes(l.from) && ids.includes(l.to) && l.from !== l.to);
  const rank = ranks(ids, links);

  // Split long links with dummy nodes.
  const down = new Map();
  const up = new Map();
  const addEdge = (a, b) => {
    if (!down.has(a)) down.set(a, []);
    if (!up.has(b)) up.set(b, []);
    down.get(a).push(b);
    up.get(b).push(a);
  };
  const chains = [];
  const dummy = new Set();
  links.forEach((link, k) => {
    const chain = [link.from];
    for (let r = rank.get(link.from) + 1; r < rank.get(link.to); r += 1) {
      const d = `\u0000d${k}_${r}`;
      dummy.add(d);
      rank.set(d, r);
      chain.push(d);
    }
    chain.push(link.to);
    for (let i = 0; i + 1 < chain.length; i += 1) addEdge(chain[i], chain[i + 1]);
    chains.push({ link, chain });
  });

  // Initial order: depth-first from the starts, which keeps branches together.
  const nRanks = Math.max(0, ...[...rank.values()]) + 1;
  const layers = Array.from({ length: nRanks }, () => []);
  const placed = new Set();
  const visit = (n) => {
    if (placed.has(n)) return;
    placed.add(n);
    layers[rank.get(n)].push(n);
    for (const m of down.get(n) || []) visit(m);
  };
  for (const id of ids) if (!(up.get(id) || []).length) visit(id);
  for (const id of ids) visit(id);

  let best = layers.map((l) => [...l]);
  let bestCrossings = countCrossings(best, down);
  for (let i = 0; i < SWEEPS && bestCrossings > 0; i += 1) {
    if (i % 2 === 0) barycenterSweep(layers, up, 1, nRanks, 1);
    else barycenterSweep(layers, down, nRanks - 2, -1, -1);
    const c = countCrossings(layers, down);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((l) => [...l]);
    }
  }

  // Coordinates: stack each column, then pull nodes toward their neighbours' mean y.
  const height = (n) => (dummy.has(n) ? DUMMY_H : BOX_H);
  const y = new Map();
  let maxColumn = 0;
  for (const layer of best) {
    let cursor = 0;
    for (const n of layer) {
      y.set(n, cursor + height(n) / 2);
      cursor += height(n) + GAP_Y;
    }
    maxColumn = Math.max(maxColumn, cursor - GAP_Y);
  }
  for (const layer of best) {
    const total = layer.reduce((a, n) => a + height(n) + GAP_Y, -GAP_Y);
    const shift = (maxColumn - total) / 2;
    for (const n of layer) y.set(n, y.get(n) + shift);
  }
  for (let pass = 0; pass < 4; pass += 1) {
    const order = pass % 2 === 0 ? best.slice(1) : best.slice(0, -1).reverse();
    const neighbours = pass % 2 === 0 ? up : down;
    for (const layer of order) {
      const wanted = layer.map((n) => {
        const near = (neighbours.get(n) || []).map((m) => y.get(m));
        return near.length ? near.reduce((a, b) => a + b, 0) / near.length : y.get(n);
      });
      // Keep order and spacing: forward pass pushes down, backward pass pushes up.
      const placedY = [];
      layer.forEach((n, i) => {
        const min = i === 0 ? -Infinity : placedY[i - 1] + (height(layer[i - 1]) + height(n)) / 2 + GAP_Y;
        placedY.push(Math.max(wanted[i], min));
      });
      for (let i = layer.length - 2; i >= 0; i -= 1) {
        const max = placedY[i + 1] - (height(layer[i + 1]) + height(layer[i])) / 2 - GAP_Y;
        placedY[i] = Math.min(placedY[i], max);
      }
      layer.forEach((n, i) => y.set(n, placedY[i]));
    }
  }
  let top = Infinity;
  let bottom = -Infinity;
  for (const [n, v] of y) {
    top = Math.min(top, v - height(n) / 2);
    bottom = Math.max(bottom, v + height(n) / 2);
  }
  if (!Number.isFinite(top)) { top = 0; bottom = 0; }
  const pad = 16;
  const offsetY = pad - top;
  // Each column's gap fits the labels of the links entering it (gapBefore(link)).
  const gaps = Array.from({ length: nRanks }, () => GAP_X);
  for (const link of links) {
    const r = rank.get(link.to);
    gaps[r] = Math.max(gaps[r], gapBefore(link));
  }
  const left = [pad];
  for (let r = 1; r < nRanks; r += 1) left.push(left[r - 1] + BOX_W + gaps[r]);
  const xOf = (r) => left[r] + BOX_W / 2;

  const nodes = activities.map((a) => ({
    id: a.id, activity: a, rank: rank.get(a.id), x: xOf(rank.get(a.id)), y: y.get(a.id) + offsetY,
    w: BOX_W, h: BOX_H,
  }));
  const edges = chains.map(({ link, chain }) => ({
    from: link.from,
    to: link.to,
    link,
    points: chain.map((n) => ({ x: xOf(rank.get(n)), y: y.get(n) + offsetY })),
  }));
  return {
    nodes,
    edges,
    width: ids.length ? left[nRanks - 1] + BOX_W + pad : pad * 2,
    height: pad * 2 + (bottom - top),
    crossings: bestCrossings,
  };
}
