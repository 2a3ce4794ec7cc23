// The selected link's form: its name, when it is followed (the default "Status equals
// success", any status, or include conditions), the exclude conditions, and a delay.
// A condition is a published field of the link's source activity, an operator of the
// document format, and a value.
import { add, h, uid } from "../dom.js";

const OP_TEXT = {
  equals: "equals", not_equals: "does not equal", contains: "contains", not_contains: "does not contain",
  starts_with: "starts with", ends_with: "ends with", matches: "matches (regex)", not_matches: "does not match (regex)",
  lt: "less than", le: "at most", gt: "greater than", ge: "at least", between: "between",
};

function conditionRow({ cond, fields, operators, label, onChange, onRemove }) {
  const fid = uid("cond-field");
  const oid = uid("cond-op");
  const vid = uid("cond-value");
  const known = Array.isArray(fields) ? [...fields] : [];
  if (cond.data && !known.includes(cond.data)) known.push(cond.data);
  const field = known.length
    ? h("select", { id: fid }, known.map((f) => h("option", { value: f }, f)))
    : h("input", { id: fid, type: "text", autocomplete: "off" });
  field.value = cond.data || (known[0] ?? "");
  const op = h("select", { id: oid }, operators.map((o) => h("option", { value: o }, OP_TEXT[o] || o)));
  op.value = cond.op || "equals";
  const between = () => op.value === "between";
  const low = h("input", { id: vid, type: "text", autocomplete: "off" });
  const high = h("input", { id: `${vid}-high`, type: "text", autocomplete: "off", "aria-label": `${label} upper value` });
  const value = Array.isArray(cond.value) ? cond.value : [cond.value ?? "", ""];
  low.value = Array.isArray(cond.value) ? String(value[0] ?? "") : String(cond.value ?? "");
  high.value = Array.isArray(cond.value) ? String(value[1] ?? "") : "";
  const highWrap = h("span", { class: "between-high" }, " and ", high);
  highWrap.hidden = !between();
  const emit = () => {
    highWrap.hidden = !between();
    onChange({ data: field.value, op: op.value, value: between() ? [low.value, high.value] : low.value });
  };
  field.addEventListener("change", emit);
  field.addEventListener("input", emit);
  op.addEventListener("change", emit);
  low.addEventListener("input", emit);
  high.addEventListener("input", emit);
  return h("fieldset", { class: "condition" }, h("legend", null, label),
    h("div", { class: "cond-grid" },
      h("label", { for: fid }, "Published data"), field,
      h("label", { for: oid }, "Operator"), op,
      h("label", { for: vid }, "Value"), h("span", null, low, highWrap)),
    h("button", { type: "button", class: "small", "aria-label": `Remove ${label}`, onclick: onRemove }, "Remove"));
}

export function linkPanel({ draft, index, fieldsOf, operators, onDelete, faults }) {
  const link = draft.links()[index];
  if (!link) return h("p", { class: "muted" }, "Nothing selected.");
  const edit = (label, fn, merge = null) => draft.edit(label, (d) => fn(d.links[index]), { merge, source: "panel" });
  const fields = fieldsOf(link.from);
  const title = `Link: ${link.from} → ${link.to}`;

  const nameId = uid("link-name");
  const name = h("input", { id: nameId, type: "text", autocomplete: "off" });
  name.value = link.name || "";
  name.addEventListener("input", () => edit("Name a link", (l) => {
    if (name.value) l.name = name.value;
    else delete l.name;
  }, `link${index}.name`));

  const modeName = uid("follow");
  const mode = Array.isArray(link.include) ? (link.include.length ? "conditions" : "any") : "default";
  const radios = [
    ["default", "When it succeeds (Status equals success)"],
    ["any", "Whatever its status"],
    ["conditions", "When one of these conditions holds"],
  ].map(([value, text]) => {
    const rid = uid("follow-opt");
    const radio = h("input", { id: rid, type: "radio", name: modeName, value, checked: mode === value });
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      edit("Change when a link is followed", (l) => {
        if (value === "default") delete l.include;
        else if (value === "any") l.include = [];
        else l.include = [{ data: (fields || ["Status"])[0], op: "equals", value: "" }];
      });
      redraw();
    });
    return h("div", { class: "check-row" }, radio, h("label", { for: rid }, text));
  });

  const includeBox = h("div", { class: "conditions" });
  const excludeBox = h("div", { class: "conditions" });
  const panel = h("div", { class: "panel link-panel", dataset: { link: String(index) } });

  function list(box, key, noun) {
    box.replaceChildren();
    const conds = draft.links()[index][key] || [];
    conds.forEach((cond, i) => {
      box.append(conditionRow({
        cond, fields, operators, label: `${noun} ${i + 1}`,
        onChange: (next) => edit(`Edit a condition of ${link.from} → ${link.to}`, (l) => { l[key][i] = next; }, `link${index}.${key}.${i}`),
        onRemove: () => {
          edit(`Remove a condition of ${link.from} → ${link.to}`, (l) => {
            l[key].splice(i, 1);
            if (key === "include" && !l.include.length) delete l.include;
          });
          redraw();
        },
      }));
    });
    box.append(h("button", {
      type: "button", class: "small", id: key === "include" ? "add-include" : "add-exclude",
      onclick: () => {
        edit(`Add a condition to ${link.from} → ${link.to}`, (l) => {
          if (!Array.isArray(l[key])) l[key] = [];
          l[key].push({ data: (fields || ["Status"])[0], op: "equals", value: "" });
        });
        redraw();
        const rows = box.querySelectorAll("fieldset.condition");
        rows[rows.length - 1]?.querySelector("select, input")?.focus();
      },
    }, key === "include" ? "Add an include condition" : "Add an exclude condition"));
  }

  const delayId = uid("link-delay");
  const delay = h("input", { id: delayId, type: "text", inputmode: "decimal", autocomplete: "off", placeholder: "0" });
  delay.value = link.delay_seconds ? String(link.delay_seconds) : "";
  delay.addEventListener("input", () => edit("Delay a link", (l) => {
    const n = Number(delay.value);
    if (!delay.value.trim() || n === 0) delete l.delay_seconds;
    else l.delay_seconds = Number.isFinite(n) ? n : delay.value;
  }, `link${index}.delay`));

  const enabledId = uid("link-enabled");
  const enabled = h("input", { id: enabledId, type: "checkbox", checked: link.enabled !== false });
  enabled.addEventListener("change", () => edit(enabled.checked ? "Enable a link" : "Disable a link", (l) => {
    if (enabled.checked) delete l.enabled;
    else l.enabled = false;
  }));

  function redraw() {
    const current = draft.links()[index];
    if (!current) return;
    const m = Array.isArray(current.include) ? (current.include.length ? "conditions" : "any") : "default";
    includeBox.hidden = m !== "conditions";
    list(includeBox, "include", "Include condition");
    list(excludeBox, "exclude", "Exclude condition");
  }

  const problems = faults || [];
  add(panel,
    h("h2", { id: "panel-h" }, title),
    h("ul", { class: "panel-faults", role: "alert", hidden: !problems.length }, problems.map((m) => h("li", null, m))),
    fields === null ? h("p", { class: "muted small" }, `The fields ${link.from} publishes are not known yet (fix its faults first); type the field's name.`) : null,
    h("div", { class: "field" }, h("label", { for: nameId }, "Link name"), name),
    h("fieldset", { class: "sub follow" }, h("legend", null, "Follow the link"), radios, includeBox),
    h("fieldset", { class: "sub" }, h("legend", null, "Unless (exclude conditions: any one vetoes)"), excludeBox),
    h("div", { class: "field" }, h("label", { for: delayId }, "Delay (seconds) before the next activity starts"), delay),
    h("div", { class: "check-row" }, enabled, h("label", { for: enabledId }, "Enabled (a disabled link is never followed)")),
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: () => onDelete({ kind: "link", index }) }, "Delete link")));
  redraw();
  return panel;
}
