// The palette: every activity type (core and installed packs) grouped by category,
// searchable. Select an entry and press Enter (or click "Add") to add it next to the
// selected activity, linked from it; or drag it onto the canvas.
import { h } from "../dom.js";
import { TYPE_MIME } from "./canvas.js";

/** Docstring text for people: ``code`` marks dropped. */
export function plain(text) {
  return String(text || "").replace(/``([^`]*)``/g, "$1");
}

/** The first sentence of a description (the palette shows that much). */
export function firstSentence(text) {
  const t = plain(text).trim();
  const m = /^(.+?[.!?])(\s|$)/s.exec(t);
  return m ? m[1] : t;
}

/** The name a document uses for a type: the plain name where it is unambiguous. */
export function docTypeName(t) {
  return t.plain_name ? t.name : t.type;
}

export function makePalette({ types, onAdd, editable }) {
  let selected = null;
  const search = h("input", { id: "palette-search", type: "search", autocomplete: "off", placeholder: "Name, description or category" });
  const add = h("button", { type: "button", class: "primary small", id: "palette-add", disabled: true }, "Add");
  const status = h("p", { class: "muted small", role: "status" });
  const groups = h("div", { class: "palette-groups" });
  const byCategory = new Map();
  for (const t of types) {
    const cat = t.category || "Other";
    if (!byCategory.has(cat)) byCategory.set(cat, []);
    byCategory.get(cat).push(t);
  }
  const entries = [];
  for (const cat of [...byCategory.keys()].sort((a, b) => a.localeCompare(b))) {
    const list = h("ul", { class: "palette-list" });
    const section = h("section", { class: "palette-group", dataset: { category: cat } }, h("h3", null, cat), list);
    for (const t of byCategory.get(cat).sort((a, b) => a.display_name.localeCompare(b.display_name))) {
      const item = h("button", {
        type: "button", class: "palette-item", draggable: "true", "aria-pressed": "false",
        dataset: { type: docTypeName(t) },
        "aria-label": `${t.display_name}: ${firstSentence(t.description) || t.name}`,
        title: plain(t.description),
      }, h("span", { class: "pi-name" }, t.display_name), h("span", { class: "pi-desc" }, firstSentence(t.description) || t.name));
      item.addEventListener("click", () => choose(t, item));
      item.addEventListener("dblclick", () => { choose(t, item); doAdd(); });
      item.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          choose(t, item);
          doAdd();
        }
      });
      item.addEventListener("dragstart", (ev) => {
        ev.dataTransfer.setData(TYPE_MIME, docTypeName(t));
        ev.dataTransfer.setData("text/plain", docTypeName(t));
        ev.dataTransfer.effectAllowed = "copy";
      });
      const text = `${t.display_name} ${t.name} ${t.type} ${t.description} ${cat}`.toLowerCase();
      entries.push({ t, item, text, section });
      list.append(h("li", null, item));
    }
    groups.append(section);
  }

  function choose(t, item) {
    selected = t;
    for (const e of entries) e.item.setAttribute("aria-pressed", e.item === item ? "true" : "false");
    add.disabled = !editable();
  }

  function doAdd() {
    if (!selected || !editable()) return;
    onAdd(docTypeName(selected), null, { link: true });
  }
  add.addEventListener("click", doAdd);

  function filter() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const e of entries) {
      const hit = words.every((w) => e.text.includes(w));
      e.item.parentElement.hidden = !hit;
      if (hit) shown += 1;
    }
    for (const section of groups.children) section.hidden = !section.querySelector("li:not([hidden])");
    status.textContent = words.length ? `${shown} matching activit${shown === 1 ? "y" : "ies"}` : "";
  }
  search.addEventListener("input", filter);

  const el = h("section", { class: "palette", "aria-labelledby": "palette-h" },
    h("h2", { id: "palette-h" }, "Activities"),
    h("label", { for: "palette-search" }, "Search activities"), search, status,
    h("div", { class: "actions palette-actions" }, add, h("span", { class: "muted small" }, "Enter adds the selected entry, linked from the selected activity.")),
    groups);
  return {
    el,
    refresh() { add.disabled = !selected || !editable(); },
  };
}
