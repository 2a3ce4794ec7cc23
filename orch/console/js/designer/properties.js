// The selected activity's panel: id, name, description, the properties form made from
// its type's input schema, "Link to…", and Delete.
import { h, uid } from "../dom.js";
import { ID_PATTERN, clone, renameRefs } from "./model.js";
import { plain } from "./palette.js";
import { schemaForm } from "./schemaform.js";

export function activityPanel({ draft, id, catalog, insert, onLinkTo, onDelete, faults }) {
  const act = draft.activity(id);
  if (!act) return h("p", { class: "muted" }, "Nothing selected.");
  const type = catalog.find(act.type);
  const edit = (label, fn, merge) => draft.edit(label, (d) => fn(d.activities.find((a) => a && a.id === id)), { merge, source: "panel" });

  const idInput = h("input", { id: "activity-id", type: "text", spellcheck: "false", autocomplete: "off", value: act.id });
  idInput.value = act.id;
  const idError = h("p", { class: "field-error", role: "alert", hidden: true });
  idInput.addEventListener("change", () => {
    const next = idInput.value.trim();
    if (next === id) return;
    if (!ID_PATTERN.test(next) || next === "runbook" || next === "variable") {
      idError.hidden = false;
      idError.textContent = "An id is a letter or _ followed by letters, digits or _ (not runbook or variable).";
      return;
    }
    if (draft.activity(next)) {
      idError.hidden = false;
      idError.textContent = `Another activity is called ${next}.`;
      return;
    }
    idError.hidden = true;
    draft.edit(`Rename ${id} to ${next}`, (d) => {
      d.activities = d.activities.map((a) => (a && a.id === id ? { ...a, id: next } : a)).map((a) => (a ? { ...a, properties: renameRefs(a.properties || {}, id, next) } : a));
      for (const l of d.links || []) {
        if (l.from === id) l.from = next;
        if (l.to === id) l.to = next;
      }
    }, { source: "rename" });
    draft.select({ kind: "activity", id: next });
  });

  const nameInput = h("input", { id: "activity-name", type: "text", autocomplete: "off" });
  nameInput.value = act.name || "";
  nameInput.addEventListener("input", () => edit(`Rename ${id}`, (a) => {
    if (nameInput.value) a.name = nameInput.value;
    else delete a.name;
  }, `${id}.name`));

  const descId = uid("activity-desc");
  const desc = h("textarea", { id: descId, rows: 2 });
  desc.value = act.description || "";
  desc.addEventListener("input", () => edit(`Describe ${id}`, (a) => {
    if (desc.value) a.description = desc.value;
    else delete a.description;
  }, `${id}.description`));

  const props = clone(act.properties && typeof act.properties === "object" ? act.properties : {});
  const form = type
    ? schemaForm({
      schema: type.input_schema, value: props, idPrefix: `prop-${id}`, insert: (input) => insert(input, id),
      changed: (key) => edit(`Edit ${id}`, (a) => { a.properties = clone(props); }, key),
    })
    : h("p", { class: "error" }, `Unknown activity type ${act.type}: edit it in the JSON tab, or delete it.`);

  const others = (draft.doc.activities || []).filter((a) => a && a.id !== id);
  const linkTarget = h("select", { id: "link-to-target" },
    others.map((a) => h("option", { value: a.id }, `${a.name || a.id} (${a.id})`)));
  const linkTo = h("div", { class: "field link-to" },
    h("label", { for: "link-to-target" }, "Link to…"),
    h("div", { class: "actions" }, linkTarget,
      h("button", { type: "button", id: "link-to", disabled: !others.length, onclick: () => onLinkTo(id, linkTarget.value) }, "Link")));

  // How it runs (the document's own fields): enabled, flatten, loop, timeout.
  const BEHAVIOUR = ["enabled", "flatten", "loop", "timeout_seconds"];
  const behaviour = {};
  for (const k of BEHAVIOUR) if (act[k] !== undefined && act[k] !== null) behaviour[k] = clone(act[k]);
  const activityDef = ((catalog.runbookSchema || {}).$defs || {}).Activity;
  const runForm = activityDef
    ? schemaForm({
      schema: activityDef, root: catalog.runbookSchema, value: behaviour, only: BEHAVIOUR, idPrefix: `run-${id}`,
      changed: (key) => edit(`Edit how ${id} runs`, (a) => {
        for (const k of BEHAVIOUR) {
          if (behaviour[k] === undefined) delete a[k];
          else a[k] = clone(behaviour[k]);
        }
      }, key),
    })
    : null;

  const problems = faults || [];
  return h("div", { class: "panel activity-panel", dataset: { activity: id } },
    h("h2", { id: "panel-h" }, `Activity: ${act.name || act.id}`),
    h("p", { class: "muted small" }, type ? [h("strong", null, type.display_name), ` (${type.type}) — ${plain(type.description)}`] : act.type),
    h("ul", { class: "panel-faults", role: "alert", hidden: !problems.length }, problems.map((m) => h("li", null, m))),
    h("div", { class: "field" }, h("label", { for: "activity-id" }, "id"), idInput, idError,
      h("p", { class: "hint" }, "How other activities refer to it: {id.Field}. Renaming updates those references.")),
    h("div", { class: "field" }, h("label", { for: "activity-name" }, "name"), nameInput),
    h("div", { class: "field" }, h("label", { for: descId }, "description"), desc),
    h("h3", null, "Properties"), form,
    runForm ? [h("h3", null, "How it runs"), runForm] : null,
    linkTo,
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => onDelete({ kind: "activity", id }) }, "Delete activity")));
}
