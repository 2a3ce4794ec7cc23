// The JSON tab's editor (a textarea with line numbers) and the readable diff of two
// versions shown under the designer's history.
import { h } from "../dom.js";

function shown(value) {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value);
}

/** The JSON editor: a textarea with a line-number gutter that scrolls with it. */
export function editor(id) {
  const gutter = h("pre", { class: "gutter", "aria-hidden": "true" });
  const area = h("textarea", {
    id, class: "code", spellcheck: "false", autocomplete: "off", autocapitalize: "off", wrap: "off",
    "aria-describedby": `${id}-status`,
  });
  let lines = 0;
  const number = () => {
    const count = area.value.split("\n").length;
    if (count !== lines) {
      lines = count;
      gutter.textContent = Array.from({ length: count }, (_, i) => i + 1).join("\n");
    }
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener("input", number);
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  return {
    el: h("div", { class: "editor" }, gutter, area),
    area,
    set(text) {
      if (area.value !== text) area.value = text;
      number();
    },
    goTo(line, column) {
      const rows = area.value.split("\n");
      let offset = 0;
      for (let i = 0; i < Math.min(line - 1, rows.length); i += 1) offset += rows[i].length + 1;
      offset += Math.max(0, column - 1);
      area.focus();
      area.setSelectionRange(offset, offset);
      const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
      area.scrollTop = Math.max(0, (line - 4) * lineHeight);
      number();
    },
  };
}

/** The /diff response as lists of what changed: activities, links, runbook fields. */
export function renderDiff(diff, fromV, toV) {
  const changeList = (changes) => h("ul", { class: "changes" }, changes.map((c) => h("li", null,
    h("code", null, c.path), " ",
    c.kind === "added" ? ["added: ", h("code", { class: "new" }, shown(c.new))]
      : c.kind === "removed" ? ["removed (was ", h("code", { class: "old" }, shown(c.old)), ")"]
        : [h("code", { class: "old" }, shown(c.old)), " → ", h("code", { class: "new" }, shown(c.new))])));
  const act = (a) => [h("code", null, a.id), ` (${a.type}${a.name ? `, “${a.name}”` : ""})`];
  const link = (l) => [h("code", null, `${l.from} → ${l.to}`), l.name ? ` “${l.name}”` : ""];
  const groups = [
    ["Activities added", diff.activities_added, (a) => h("li", { class: "added" }, "+ ", act(a))],
    ["Activities removed", diff.activities_removed, (a) => h("li", { class: "removed" }, "− ", act(a))],
    ["Activities changed", diff.activities_changed, (a) => h("li", { class: "changed" }, "~ ", act(a), changeList(a.changes))],
    ["Links added", diff.links_added, (l) => h("li", { class: "added" }, "+ ", link(l))],
    ["Links removed", diff.links_removed, (l) => h("li", { class: "removed" }, "− ", link(l))],
    ["Links changed", diff.links_changed, (l) => h("li", { class: "changed" }, "~ ", link(l), changeList(l.changes))],
  ];
  const parts = [];
  if (diff.runbook.length) parts.push(h("h4", null, "Runbook"), changeList(diff.runbook));
  for (const [title, items, row] of groups) {
    if (items.length) parts.push(h("h4", null, `${title} (${items.length})`), h("ul", { class: "diff-items" }, items.map(row)));
  }
  return h("div", { class: "diff", "aria-live": "polite" },
    h("p", null, h("strong", null, `Changes from v${fromV} to v${toV}`)),
    parts.length ? parts : h("p", { class: "empty" }, "No changes: the two versions mean the same."));
}

