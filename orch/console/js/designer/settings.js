// Runbook settings: name and description, parameters (those of its Initialize Data
// activity), returned data, and the runbook properties — schedule, logging,
// notifications, job timeout, retries, max concurrent jobs — as forms made from the
// orch.runbook/1 JSON Schema.
import { h, uid } from "../dom.js";
import { clone } from "./model.js";
import { schemaForm } from "./schemaform.js";

const PROPERTIES = ["max_concurrent_jobs", "job_timeout_seconds", "retry", "schedule", "logging", "notifications"];

export function settingsPanel({ draft, runbookSchema, catalog, isNew, faults }) {
  const doc = draft.doc;
  const root = runbookSchema;
  const top = (root.properties ? root : (root.$defs || {}).Runbook) || { properties: {} };
  const edit = (label, fn, merge) => draft.edit(label, fn, { merge, source: "panel" });

  const nameId = uid("rb-name");
  const name = h("input", { id: nameId, type: "text", autocomplete: "off", readonly: !isNew });
  name.value = doc.name || "";
  name.addEventListener("input", () => edit("Name the runbook", (d) => { d.name = name.value; }, "rb.name"));
  const descId = uid("rb-desc");
  const desc = h("textarea", { id: descId, rows: 2 });
  desc.value = doc.description || "";
  desc.addEventListener("input", () => edit("Describe the runbook", (d) => {
    if (desc.value) d.description = desc.value;
    else delete d.description;
  }, "rb.description"));

  // Parameters live in the Initialize Data activity (as in SCO).
  const init = (doc.activities || []).find((a) => a && catalog.find(a.type)?.type === "core:initialize_data");
  let params;
  if (init) {
    const initType = catalog.find(init.type);
    const props = clone(init.properties || {});
    params = schemaForm({
      schema: initType.input_schema, value: props, idPrefix: "rb-params", labels: { parameters: "Parameters" },
      changed: (key) => edit("Edit the parameters", (d) => {
        const a = d.activities.find((x) => x && x.id === init.id);
        a.properties = clone(props);
      }, key),
    });
  } else {
    params = h("p", { class: "muted" }, "No parameters: add an Initialize Data activity (Runbook Control) as the first activity to take some.");
  }

  const value = {};
  for (const k of ["returns", ...PROPERTIES]) if (doc[k] !== undefined && doc[k] !== null) value[k] = clone(doc[k]);
  const sync = (key) => edit("Edit the runbook settings", (d) => {
    for (const k of ["returns", ...PROPERTIES]) {
      if (value[k] === undefined) delete d[k];
      else d[k] = clone(value[k]);
    }
  }, key);
  const returns = schemaForm({ schema: top, root, value, only: ["returns"], changed: sync, idPrefix: "rb", labels: { returns: "Returned data" } });
  const properties = schemaForm({ schema: top, root, value, only: PROPERTIES, changed: sync, idPrefix: "rb" });

  const problems = faults || [];
  return h("div", { class: "panel settings-panel" },
    h("h2", { id: "panel-h" }, "Runbook settings"),
    h("ul", { class: "panel-faults", role: "alert", hidden: !problems.length }, problems.map((m) => h("li", null, m))),
    h("div", { class: "field" }, h("label", { for: nameId }, "Runbook name"), name,
      isNew ? null : h("p", { class: "hint" }, "Renaming or moving a runbook is done from its folder.")),
    h("p", { class: "muted small" }, `Folder: ${doc.folder || "/"}`),
    h("div", { class: "field" }, h("label", { for: descId }, "Description"), desc),
    h("h3", null, "Parameters"), params,
    h("h3", null, "Returned data"), returns,
    h("h3", null, "Properties"), properties);
}
