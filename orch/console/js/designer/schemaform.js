// A form generated from a JSON Schema (an activity type's input schema, or parts of the
// runbook's): labels are the property names, required ones marked, enums as selects,
// booleans as checkboxes, lists and objects editable, defaults shown. Every text field
// has "Insert published data…". The form edits `value` in place and calls changed().
import { h, uid } from "../dom.js";

const LONG_TEXT = /script|body|query|message|text|content|command|template|html|json|xml/i;
const NUMERIC = /^-?\d+(\.\d+)?$/;

function resolve(schema, root) {
  let s = schema || {};
  for (let i = 0; i < 8 && s && s.$ref; i += 1) {
    const name = s.$ref.replace(/^#\/\$defs\//, "");
    s = { ...((root.$defs || {})[name] || {}), ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) };
  }
  return s || {};
}

/** The schema without a `null` branch, and whether it had one. */
function unwrapNull(schema, root) {
  const s = resolve(schema, root);
  if (Array.isArray(s.anyOf)) {
    const rest = s.anyOf.filter((o) => o.type !== "null");
    if (rest.length === 1 && rest.length < s.anyOf.length) {
      const inner = resolve(rest[0], root);
      return { schema: { ...inner, description: s.description || inner.description, default: s.default ?? inner.default }, nullable: true };
    }
  }
  if (Array.isArray(s.type) && s.type.includes("null")) {
    const rest = s.type.filter((t) => t !== "null");
    return { schema: { ...s, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  return { schema: s, nullable: false };
}

const SCALARS = new Set(["string", "integer", "number", "boolean", "null"]);

export function kindOf(schema, root) {
  const { schema: s, nullable } = unwrapNull(schema, root);
  if (Array.isArray(s.enum)) return "enum";
  if (s.const !== undefined) return "enum";
  if (Array.isArray(s.anyOf)) {
    const kinds = s.anyOf.map((o) => resolve(o, root).type);
    // text (or a scalar) is what an author types; a list form stays possible in the JSON tab
    return kinds.every((t) => SCALARS.has(t)) || kinds.includes("string") ? "text" : "json";
  }
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "string") || "string" : s.type;
  if (t === "boolean") return "bool";
  if (t === "integer" || t === "number") return "number";
  if (t === "string") return "text";
  if (t === "array") {
    const items = resolve(s.items || {}, root);
    return items.type === "object" && items.properties ? "list-objects" : kindOf(items, root) === "json" ? "json" : "list";
  }
  if (t === "object") {
    if (s.properties && Object.keys(s.properties).length) return nullable ? "optional-object" : "object";
    return "map";
  }
  return "json";
}

/** A fresh value for a required property: [] for lists, {} for objects, "" otherwise. */
function emptyFor(schema, root) {
  const { schema: s } = unwrapNull(schema, root);
  if (s.default !== undefined && s.default !== null) return JSON.parse(JSON.stringify(s.default));
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  if (t === "array") return [];
  if (t === "object") return {};
  if (t === "boolean") return false;
  return "";
}

function freshObject(s, root) {
  const out = {};
  for (const k of s.required || []) out[k] = emptyFor((s.properties || {})[k] || {}, root);
  return out;
}

function shown(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * schemaForm({schema, root, value, changed, insert, idPrefix, only}) → element.
 * `value` is an object edited in place; changed(key) is called after each edit (the key
 * merges quick successive edits of one field into one undo step). insert(input) opens
 * "Insert published data…" for a text input. `only` limits the properties shown.
 */
export function schemaForm({ schema, root = null, value, changed, insert = null, idPrefix = "p", only = null, labels = {} }) {
  const top = resolve(schema, root || schema);
  const rootSchema = root || schema;
  const required = new Set(top.required || []);
  const box = h("div", { class: "schema-form" });
  const names = Object.keys(top.properties || {}).filter((k) => !only || only.includes(k));
  if (!names.length) box.append(h("p", { class: "muted" }, "This activity takes no properties."));
  for (const name of names) {
    box.append(field({
      name, label: labels[name] || name, schema: top.properties[name], root: rootSchema, required: required.has(name),
      get: () => value[name],
      set: (v) => { if (v === undefined) delete value[name]; else value[name] = v; changed(`${idPrefix}.${name}`); },
      insert, idPrefix: `${idPrefix}-${name}`,
    }));
  }
  return box;
}

function labelFor(id, name, required, s) {
  return h("label", { for: id }, name, required ? [h("span", { class: "req", "aria-hidden": "true" }, " *"), h("span", { class: "sr-only" }, " (required)")] : null,
    s && s.title && s.title !== name ? h("span", { class: "muted small" }, ` ${s.title}`) : null);
}

function hint(s, required) {
  const parts = [];
  if (s.description) parts.push(String(s.description).replace(/``([^`]*)``/g, "$1"));
  if (s.default !== undefined && s.default !== null && !(Array.isArray(s.default) && !s.default.length) && !(typeof s.default === "object" && !Array.isArray(s.default) && !Object.keys(s.default).length)) {
    parts.push(`Default: ${shown(s.default)}`);
  }
  if (required) parts.push("Required.");
  return parts.length ? h("p", { class: "hint" }, parts.join(" ")) : null;
}

/** A text input (or textarea) with its "Insert published data…" button. */
export function textInput({ id, value, placeholder, long = false, insert, label, onInput }) {
  const input = long
    ? h("textarea", { id, rows: 4, spellcheck: "false", placeholder })
    : h("input", { id, type: "text", spellcheck: "false", autocomplete: "off", placeholder });
  input.value = value;
  input.addEventListener("input", () => onInput(input.value));
  if (!insert) return input;
  const button = h("button", {
    type: "button", class: "small insert-data", "aria-label": `Insert published data into ${label}`,
    onclick: () => insert(input),
  }, "Insert published data…");
  return h("div", { class: "text-with-insert" }, input, button);
}

function field(f) {
  const { name, label, root, required, get, set, insert, idPrefix } = f;
  const { schema: s, nullable } = unwrapNull(f.schema, root);
  const kind = kindOf(f.schema, root);
  const id = uid(idPrefix.replace(/[^A-Za-z0-9_-]/g, "_"));
  const wrap = h("div", { class: ["field", `kind-${kind}`], dataset: { property: name } });
  const current = get();

  if (kind === "bool") {
    const box = h("input", { id, type: "checkbox" });
    box.checked = current === undefined ? Boolean(s.default) : current === true || current === "true";
    box.addEventListener("change", () => set(box.checked));
    wrap.classList.add("check");
    wrap.append(h("div", { class: "check-row" }, box, labelFor(id, label, required, s)), hint(s, false));
    return wrap;
  }
  if (kind === "enum") {
    const options = Array.isArray(s.enum) ? s.enum : [s.const];
    const select = h("select", { id });
    if (!required || current === undefined) {
      select.append(h("option", { value: "" }, s.default !== undefined && s.default !== null ? `(default: ${shown(s.default)})` : "(not set)"));
    }
    for (const o of options) select.append(h("option", { value: String(o) }, String(o)));
    const known = current !== undefined && options.map(String).includes(String(current));
    if (current !== undefined && !known) select.append(h("option", { value: String(current) }, `${shown(current)} (expression)`));
    select.value = current === undefined ? "" : String(current);
    select.addEventListener("change", () => {
      const raw = select.value;
      set(raw === "" ? undefined : options.find((o) => String(o) === raw) ?? raw);
    });
    wrap.append(labelFor(id, label, required, s), select, hint(s, required));
    return wrap;
  }
  if (kind === "text" || kind === "number") {
    const input = textInput({
      id, value: shown(current), placeholder: s.default !== undefined && s.default !== null ? shown(s.default) : "",
      long: kind === "text" && LONG_TEXT.test(name), insert, label,
      onInput: (v) => {
        if (v === "" && !required) set(undefined);
        else if (kind === "number" && NUMERIC.test(v.trim())) set(Number(v.trim()));
        else set(v);
      },
    });
    if (kind === "number") (input.querySelector ? input.querySelector("input") || input : input).setAttribute("inputmode", "decimal");
    wrap.append(labelFor(id, label, required, s), input, hint(s, required));
    return wrap;
  }
  if (kind === "list" || kind === "list-objects") {
    const items = resolve(s.items || {}, root);
    const list = h("div", { class: "list-items" });
    const fieldset = h("fieldset", { class: "sub" }, h("legend", null, label, required ? [h("span", { class: "req", "aria-hidden": "true" }, " *"), h("span", { class: "sr-only" }, " (required)")] : null), hint(s, required), list);
    const arr = () => (Array.isArray(get()) ? get() : Array.isArray(s.default) ? [...s.default] : []);
    const draw = () => {
      list.replaceChildren();
      const values = arr();
      values.forEach((item, i) => {
        const itemLabel = `${label} item ${i + 1}`;
        const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${itemLabel}`, onclick: () => { const v = arr(); v.splice(i, 1); set(v); draw(); } }, "Remove");
        if (kind === "list-objects") {
          const obj = item && typeof item === "object" ? item : {};
          const inner = schemaForm({
            schema: items, root, value: obj, insert, idPrefix: `${idPrefix}-${i}`,
            changed: () => { const v = arr(); v[i] = obj; set(v); },
          });
          list.append(h("fieldset", { class: "sub item" }, h("legend", null, itemLabel), inner, remove));
        } else {
          const iid = uid(`${idPrefix}-${i}`);
          const input = textInput({
            id: iid, value: shown(item), insert, label: itemLabel,
            onInput: (v) => { const vals = arr(); vals[i] = (items.type === "integer" || items.type === "number") && NUMERIC.test(v.trim()) ? Number(v) : v; set(vals); },
          });
          list.append(h("div", { class: "list-row" }, h("label", { for: iid, class: "sr-only" }, itemLabel), input, remove));
        }
      });
      list.append(h("button", {
        type: "button", class: "small", "aria-label": `Add an item to ${label}`,
        onclick: () => {
          const v = arr();
          v.push(kind === "list-objects" ? freshObject(items, root) : "");
          set(v);
          draw();
          const inputs = list.querySelectorAll("input, textarea, select");
          if (inputs.length) inputs[kind === "list-objects" ? inputs.length - Object.keys(items.properties || {}).length : inputs.length - 1]?.focus();
        },
      }, "Add item"));
    };
    draw();
    wrap.append(fieldset);
    return wrap;
  }
  if (kind === "map") {
    const valueSchema = resolve(typeof s.additionalProperties === "object" ? s.additionalProperties : {}, root);
    const list = h("div", { class: "map-items" });
    const fieldset = h("fieldset", { class: "sub" }, h("legend", null, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null), hint(s, required), list);
    const obj = () => (get() && typeof get() === "object" && !Array.isArray(get()) ? get() : {});
    const draw = () => {
      list.replaceChildren();
      const entries = Object.entries(obj());
      entries.forEach(([key, val], i) => {
        const kid = uid(`${idPrefix}-k${i}`);
        const vid = uid(`${idPrefix}-v${i}`);
        const keyInput = h("input", { id: kid, type: "text", spellcheck: "false", autocomplete: "off" });
        keyInput.value = key;
        keyInput.addEventListener("change", () => {
          const next = {};
          for (const [k, v] of Object.entries(obj())) next[k === key ? keyInput.value : k] = v;
          set(next);
          draw();
        });
        const valInput = textInput({
          id: vid, value: shown(val), insert, label: `${label} ${key}`,
          onInput: (v) => { const o = { ...obj() }; o[key] = (valueSchema.type === "integer" || valueSchema.type === "number") && NUMERIC.test(v.trim()) ? Number(v) : v; set(o); },
        });
        const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${label} ${key}`, onclick: () => { const o = { ...obj() }; delete o[key]; set(Object.keys(o).length || required ? o : undefined); draw(); } }, "Remove");
        list.append(h("div", { class: "map-row" },
          h("label", { for: kid, class: "small" }, "Name"), keyInput,
          h("label", { for: vid, class: "small" }, "Value"), valInput, remove));
      });
      list.append(h("button", {
        type: "button", class: "small", "aria-label": `Add an entry to ${label}`,
        onclick: () => {
          const o = { ...obj() };
          let k = "Name";
          for (let n = 2; k in o; n += 1) k = `Name${n}`;
          o[k] = "";
          set(o);
          draw();
          const keys = list.querySelectorAll(".map-row input[type=text]");
          if (keys.length) keys[keys.length - 2]?.focus();
        },
      }, "Add entry"));
    };
    draw();
    wrap.append(fieldset);
    return wrap;
  }
  if (kind === "object" || kind === "optional-object") {
    const fieldset = h("fieldset", { class: "sub" }, h("legend", null, label));
    const body = h("div");
    const optional = kind === "optional-object" || nullable;
    const drawBody = () => {
      body.replaceChildren();
      let v = get();
      if (v === undefined || v === null) {
        if (optional) return;
        v = {}; // a nested object is stored on its first edit
      }
      body.append(schemaForm({ schema: s, root, value: v, insert, idPrefix, changed: () => set(v) }));
    };
    if (optional) {
      const toggleId = uid(`${idPrefix}-on`);
      const toggle = h("input", { id: toggleId, type: "checkbox" });
      toggle.checked = current !== undefined && current !== null;
      toggle.addEventListener("change", () => {
        if (toggle.checked) set(freshObject(s, root));
        else set(undefined);
        drawBody();
      });
      fieldset.append(h("div", { class: "check-row" }, toggle, h("label", { for: toggleId }, `Set ${label}`)), hint(s, false));
    } else {
      fieldset.append(hint(s, required));
    }
    fieldset.append(body);
    drawBody();
    wrap.append(fieldset);
    return wrap;
  }
  // anything else: JSON text
  const area = h("textarea", { id, rows: 3, spellcheck: "false", class: "json-value" });
  area.value = current === undefined ? "" : JSON.stringify(current, null, 2);
  const err = h("p", { class: "field-error", hidden: true, role: "alert" });
  area.addEventListener("input", () => {
    if (!area.value.trim()) { err.hidden = true; set(undefined); return; }
    try {
      const parsed = JSON.parse(area.value);
      err.hidden = true;
      set(parsed);
    } catch {
      err.hidden = false;
      err.textContent = "Not JSON yet: not applied.";
    }
  });
  wrap.append(labelFor(id, label, required, s), area, err, hint(s, required));
  return wrap;
}
