// The draft being designed: one document, every edit undoable.
//
// Every change goes through edit(label, fn): the document before it is kept on
// the undo stack (as JSON text: cheap at runbook sizes, and exact), fn mutates
// the live document, listeners redraw. Edits with the same `merge` key in quick
// succession (typing in a field) become one undo step.

const MERGE_MS = 1200;
const MAX_STEPS = 500;

export const BOX_W = 168;
export const BOX_H = 56;

export function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

export class Draft {
  constructor(doc) {
    this.doc = clone(doc);
    this.undoStack = [];
    this.redoStack = [];
    this.listeners = [];
    this.lastMerge = null;
    this.lastAt = 0;
    this.selection = null; // {kind: "activity", id} | {kind: "link", index} | {kind: "runbook"}
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  emit(source) {
    for (const fn of this.listeners) fn(source);
  }

  /** Change the document; `source` tells listeners who made it (the JSON tab skips its own). */
  edit(label, fn, { merge = null, source = "form" } = {}) {
    const before = JSON.stringify(this.doc);
    const now = Date.now();
    fn(this.doc);
    const after = JSON.stringify(this.doc);
    if (after === before) return false;
    const merging = merge !== null && merge === this.lastMerge && now - this.lastAt < MERGE_MS && this.undoStack.length;
    if (!merging) {
      this.undoStack.push({ label, text: before });
      if (this.undoStack.length > MAX_STEPS) this.undoStack.shift();
    }
    this.lastMerge = merge;
    this.lastAt = now;
    this.redoStack = [];
    this.fixSelection();
    this.emit(source);
    return true;
  }

  /** Replace the whole document (the JSON tab, a reload). */
  replace(doc, { label = "Edit the JSON", undoable = true, source = "json" } = {}) {
    if (!undoable) {
      this.doc = clone(doc);
      this.undoStack = [];
      this.redoStack = [];
      this.lastMerge = null;
      this.fixSelection();
      this.emit(source);
      return;
    }
    this.edit(label, (d) => {
      for (const key of Object.keys(d)) delete d[key];
      Object.assign(d, clone(doc));
    }, { merge: "json", source });
  }

  canUndo() { return this.undoStack.length > 0; }

  canRedo() { return this.redoStack.length > 0; }

  undo() {
    const step = this.undoStack.pop();
    if (!step) return null;
    this.redoStack.push({ label: step.label, text: JSON.stringify(this.doc) });
    this.doc = JSON.parse(step.text);
    this.lastMerge = null;
    this.fixSelection();
    this.emit("undo");
    return step.label;
  }

  redo() {
    const step = this.redoStack.pop();
    if (!step) return null;
    this.undoStack.push({ label: step.label, text: JSON.stringify(this.doc) });
    this.doc = JSON.parse(step.text);
    this.lastMerge = null;
    this.fixSelection();
    this.emit("redo");
    return step.label;
  }

  select(selection) {
    this.selection = selection;
    this.emit("select");
  }

  fixSelection() {
    const sel = this.selection;
    if (!sel) return;
    if (sel.kind === "activity" && !this.activity(sel.id)) this.selection = null;
    if (sel.kind === "link" && !(this.links()[sel.index])) this.selection = null;
  }

  /** The activities (read only: change them through edit()); [] when the JSON has none. */
  activities() {
    return Array.isArray(this.doc.activities) ? this.doc.activities : [];
  }

  links() {
    return Array.isArray(this.doc.links) ? this.doc.links : [];
  }

  activity(id) {
    return (Array.isArray(this.doc.activities) ? this.doc.activities : []).find((a) => a && a.id === id) || null;
  }

  /** A new activity id from a type name: run_program, run_program_2 … */
  freshId(type) {
    const base = String(type).split(":").pop().replace(/[^A-Za-z0-9_]/g, "_").replace(/^([^A-Za-z_])/, "_$1") || "activity";
    const taken = new Set(this.activities().map((a) => a.id));
    if (!taken.has(base) && base !== "runbook" && base !== "variable") return base;
    for (let i = 2; ; i += 1) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
  }
}

// A `{` starts a reference only at the exact shape `{id.Field}` and not when it is
// the second of an escape `{{` (orch/document/README.md "Expressions"): `{{old.F}` is text.
const REF = /(?<!\{)((?:\{\{)*)\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Rewrite `{old.Field}` references to `{new.Field}` in every string of a value. */
export function renameRefs(value, from, to) {
  if (typeof value === "string") return value.replace(REF, (m, esc, id, field) => (id === from ? `${esc}{${to}.${field}}` : m));
  if (Array.isArray(value)) return value.map((v) => renameRefs(v, from, to));
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = renameRefs(v, from, to);
    return out;
  }
  return value;
}

export const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
