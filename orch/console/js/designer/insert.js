// "Insert published data…": pick a field of an activity upstream of the one being edited
// (or a runbook parameter, a runbook field, a variable) and insert its reference —
// {activity.Field}, {runbook.Name}, {variable:Name} — at the cursor of the text field.
import { h, uid } from "../dom.js";

const COMMON = new Set(["Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"]);

/** Insert text at the input's cursor (replacing the selection) and tell its listeners. */
export function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(text, start, end, "end");
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.focus();
}

/**
 * pickPublishedData({outline, activityId, names, variables}) → Promise of the reference
 * text, or null when cancelled. `names` maps activity id → display name.
 */
export function pickPublishedData({ outline, activityId, names = new Map(), variables = [] }) {
  return new Promise((resolve) => {
    const titleId = uid("insert");
    const searchId = uid("insert-search");
    const acts = new Map((outline ? outline.activities : []).map((a) => [a.id, a]));
    const me = activityId ? acts.get(activityId) : null;
    const upstream = me ? me.upstream : [];
    const groups = [];
    const init = upstream.map((id) => acts.get(id)).find((a) => a && a.known_type === "core:initialize_data");
    if (init && outline.parameters.length) {
      groups.push({ title: "Runbook parameters", items: outline.parameters.map((p) => ({ ref: `{${init.id}.${p}}`, label: p })) });
    }
    for (const id of upstream) {
      const a = acts.get(id);
      if (!a) continue;
      const fields = a.fields || [];
      const listed = a === init ? new Set(outline.parameters) : new Set(); // shown above
      const own = fields.filter((f) => !COMMON.has(f) && !listed.has(f));
      const common = fields.filter((f) => COMMON.has(f));
      groups.push({
        title: `${names.get(id) || id} (${id})`,
        items: [...own, ...common].map((f) => ({ ref: `{${id}.${f}}`, label: f })),
        note: a.fields === null ? "Its fields are not known until the document is valid." : null,
      });
    }
    groups.push({ title: "Runbook", items: (outline ? outline.runbook_fields : ["JobId", "InstanceId", "Name", "Server"]).map((f) => ({ ref: `{runbook.${f}}`, label: f })) });
    if (variables.length) groups.push({ title: "Variables", items: variables.map((v) => ({ ref: `{variable:${v}}`, label: v })) });

    const search = h("input", { id: searchId, type: "search", autocomplete: "off" });
    const body = h("div", { class: "insert-groups" });
    const cancel = h("button", { type: "button" }, "Cancel");
    const dialog = h("dialog", { class: "insert-dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, "Insert published data"),
      !upstream.length ? h("p", { class: "notice" }, "No activity is linked into this one yet: link one to use its data.") : null,
      h("label", { for: searchId }, "Filter"), search, body, h("div", { class: "actions" }, cancel));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const draw = () => {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      body.replaceChildren();
      for (const g of groups) {
        const items = g.items.filter((i) => words.every((w) => `${g.title} ${i.ref}`.toLowerCase().includes(w)));
        if (!items.length) continue;
        body.append(h("section", null, h("h3", null, g.title), g.note ? h("p", { class: "muted small" }, g.note) : null,
          h("ul", { class: "insert-list" }, items.map((i) => h("li", null,
            h("button", { type: "button", class: "insert-choice", onclick: () => done(i.ref) }, i.label, " ", h("code", { class: "muted" }, i.ref)))))));
      }
      if (!body.children.length) body.append(h("p", { class: "empty" }, "Nothing matches."));
    };
    search.addEventListener("input", draw);
    cancel.addEventListener("click", () => done(null));
    dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); done(null); });
    draw();
    document.body.append(dialog);
    dialog.showModal();
    search.focus();
  });
}
