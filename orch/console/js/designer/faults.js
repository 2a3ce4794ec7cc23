// Validation faults placed on what they belong to: a fault's JSON path
// ($.activities[2].properties.args[0], $.links[1].include[0].data, $.returns…) names an
// activity by its index, a link by its index, or else the runbook itself.

export const PATH_ACTIVITY = /^\$\.activities\[(\d+)\]/;
export const PATH_LINK = /^\$\.links\[(\d+)\]/;

/** {activities: Map(id → [message]), links: Map(index → [message]), runbook: [message]} */
export function groupFaults(faults, doc) {
  const acts = new Map();
  const links = new Map();
  const runbook = [];
  const docActs = Array.isArray(doc.activities) ? doc.activities : [];
  for (const f of faults) {
    const ma = PATH_ACTIVITY.exec(f.path);
    const ml = PATH_LINK.exec(f.path);
    const act = ma ? docActs[Number(ma[1])] : null;
    if (act && typeof act.id === "string") {
      if (!acts.has(act.id)) acts.set(act.id, []);
      acts.get(act.id).push(f.message);
    } else if (ml) {
      const i = Number(ml[1]);
      if (!links.has(i)) links.set(i, []);
      links.get(i).push(f.message);
    } else runbook.push(f.message);
  }
  return { activities: acts, links, runbook };
}
