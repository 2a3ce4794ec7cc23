// The designer: check a runbook out, edit its JSON with validation as you type
// (faults by line), watch its graph, check it in with a comment; undo the check-out;
// the version history with a readable diff between any two versions, and restore.
import { del, get, post, request } from "../api.js";
import { add, clear, h, replace } from "../dom.js";
import { time, toast } from "../format.js";
import { drawGraph } from "../graph/render.js";
import { confirmDialog } from "../parts/confirm.js";

const VALIDATE_DELAY_MS = 350;

function pretty(doc) {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function shown(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
}

/** The editor: a textarea with a line-number gutter that scrolls with it. */
function editor(id) {
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
      area.value = text;
      number();
    },
    /** Put the caret at line/column (1-based) and scroll there. */
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

function faultItem(fault, onPick) {
  const where = `Line ${fault.line}, column ${fault.column}`;
  return h("li", { class: "fault", dataset: { line: String(fault.line) } },
    h("button", { type: "button", class: "link-like", onclick: () => onPick(fault) }, where),
    ": ", fault.message, " ", h("code", { class: "muted" }, fault.path));
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

export async function designerView(ctx) {
  const [id] = ctx.params;
  let runbook = await get(`/runbooks/${id}`, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  document.title = `Design ${runbook.name} · orch`;
  const me = ctx.me.name;
  const canDesign = ctx.rights.can("design", runbook);

  const ed = editor("document-editor");
  const status = h("p", { id: "document-editor-status", class: "validation", role: "status" });
  const faultList = h("ol", { class: "faults", "aria-label": "Faults" });
  const graphBox = h("div", { class: "design-graph" });
  const holder = h("p", { class: "holder" });
  const actions = h("div", { class: "actions" });
  const comment = h("input", { id: "checkin-comment", type: "text", maxlength: "500", placeholder: "What changed and why" });
  const checkInForm = h("form", { class: "checkin" },
    h("div", { class: "field inline" }, h("label", { for: "checkin-comment" }, "Check-in comment"), comment),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "check-in" }, "Check in"),
      h("button", { type: "button", id: "undo-check-out", onclick: () => undoCheckOut() }, "Undo check-out")));
  let lastValid = false;
  let timer = null;
  let validating = null;

  const mine = () => runbook.checked_out_by === me;

  function drawPreview(text) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch {
      return; // keep the last drawing while the text is not JSON
    }
    try {
      replace(graphBox, drawGraph(doc && typeof doc === "object" ? doc : {}));
    } catch {
      replace(graphBox, h("p", { class: "muted" }, "The graph cannot be drawn from this document yet."));
    }
  }

  async function validate() {
    const text = ed.area.value;
    const controller = new AbortController();
    if (validating) validating.abort();
    validating = controller;
    status.textContent = "Checking…";
    let result;
    try {
      result = await request("POST", "/runbooks/validate", { raw: text, signal: controller.signal });
    } catch (e) {
      if (e.name === "AbortError" || !ctx.isCurrent()) return;
      status.textContent = `Could not check the document: ${e.message}`;
      return;
    }
    if (validating !== controller || !ctx.isCurrent()) return;
    validating = null;
    lastValid = result.valid;
    status.className = `validation ${result.valid ? "ok" : "bad"}`;
    status.textContent = result.valid ? "Valid: it can be checked in."
      : `${result.faults.length} fault${result.faults.length === 1 ? "" : "s"}: fix ${result.faults.length === 1 ? "it" : "them"} to check in.`;
    replace(faultList, result.faults.map((f) => faultItem(f, (picked) => ed.goTo(picked.line, picked.column))));
  }

  function onInput() {
    drawPreview(ed.area.value);
    clearTimeout(timer);
    timer = setTimeout(() => validate(), VALIDATE_DELAY_MS);
  }
  ed.area.addEventListener("input", onInput);
  ctx.onCleanup(() => clearTimeout(timer));

  function drawState() {
    const editing = mine();
    ed.area.readOnly = !editing;
    replace(holder, runbook.checked_out_by
      ? [editing ? "You have it checked out" : ["Checked out by ", h("strong", null, runbook.checked_out_by)],
        " since ", time(runbook.checked_out_at), editing ? ". Other designers cannot check in until you check in or undo." : ". You can read it, not edit it."]
      : "Not checked out. Check it out to edit it.");
    clear(actions);
    if (canDesign && !runbook.checked_out_by) {
      actions.append(h("button", { type: "button", class: "primary", id: "check-out", onclick: () => checkOut() }, "Check out"));
    }
    checkInForm.hidden = !editing;
  }

  async function reload() {
    runbook = await get(`/runbooks/${id}`, { signal: ctx.signal });
    if (!ctx.isCurrent()) return;
    drawState();
    drawHistory();
  }

  async function checkOut() {
    try {
      runbook = { ...runbook, ...(await post(`/runbooks/${id}/checkout`)) };
    } catch (e) {
      toast(`Check-out failed: ${e.message}`, "error");
      await reload();
      return;
    }
    // Edit what is checked in now (another designer may have checked in since the page opened).
    await reload();
    ed.set(pretty(runbook.document));
    drawPreview(ed.area.value);
    await validate();
    ed.area.focus();
    toast("Checked out: edit the document, then check it in.");
  }

  async function undoCheckOut() {
    const changed = ed.area.value !== pretty(runbook.document);
    if (changed && !(await confirmDialog({ title: "Undo check-out?", message: "Your changes are discarded.", confirm: "Discard changes", danger: true }))) return;
    try {
      await del(`/runbooks/${id}/checkout`);
    } catch (e) {
      toast(`Undo failed: ${e.message}`, "error");
    }
    await reload();
    ed.set(pretty(runbook.document));
    drawPreview(ed.area.value);
    replace(faultList);
    status.className = "validation";
    status.textContent = "Check-out undone: your changes were discarded.";
  }

  async function checkIn(text, note) {
    return request("PUT", `/runbooks/${id}`, { raw: text, query: { comment: note } });
  }

  checkInForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    await validate();
    if (!lastValid) {
      toast("Fix the faults before checking in.", "error");
      return;
    }
    try {
      const result = await checkIn(ed.area.value, comment.value.trim());
      toast(`Checked in as version ${result.version}.`);
      comment.value = "";
    } catch (e) {
      toast(`Check-in failed: ${e.message}`, "error");
      return;
    }
    await reload();
    ed.set(pretty(runbook.document));
    drawPreview(ed.area.value);
  });

  // -- history ------------------------------------------------------------------
  const historyBody = h("tbody");
  const fromSel = h("select", { id: "diff-from" });
  const toSel = h("select", { id: "diff-to" });
  const diffBox = h("div", { class: "diff-box" });
  const diffForm = h("form", { class: "diff-form actions" },
    h("label", { for: "diff-from" }, "From"), fromSel, h("label", { for: "diff-to" }, "to"), toSel,
    h("button", { type: "submit", id: "show-diff" }, "Show changes"));
  diffForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await showDiff(Number(fromSel.value), Number(toSel.value));
  });

  async function showDiff(fromV, toV) {
    fromSel.value = String(fromV);
    toSel.value = String(toV);
    try {
      const diff = await get(`/runbooks/${id}/diff`, { query: { from: fromV, to: toV }, signal: ctx.signal });
      if (ctx.isCurrent()) replace(diffBox, renderDiff(diff, fromV, toV));
    } catch (e) {
      if (e.name !== "AbortError") replace(diffBox, h("p", { class: "error", role: "alert" }, `No diff: ${e.message}`));
    }
  }

  async function restore(version) {
    const held = runbook.checked_out_by;
    if (held && held !== me) {
      toast(`${held} has it checked out: it cannot be restored now.`, "error");
      return;
    }
    const ok = await confirmDialog({
      title: `Restore version ${version}?`,
      message: `Version ${version} is checked in again as a new version${held ? "; your check-out ends and its unsaved changes are discarded" : ""}.`,
      confirm: "Restore",
    });
    if (!ok) return;
    try {
      const old = await get(`/runbooks/${id}/versions/${version}`);
      const result = await checkIn(JSON.stringify(old.document), `restored version ${version}`);
      toast(`Version ${version} restored as version ${result.version}.`);
    } catch (e) {
      toast(`Restore failed: ${e.message}`, "error");
      return;
    }
    await reload();
    ed.set(pretty(runbook.document));
    drawPreview(ed.area.value);
  }

  function drawHistory() {
    const versions = [...runbook.versions].reverse();
    const options = (sel) => {
      const keep = sel.value;
      replace(sel, versions.map((v) => h("option", { value: String(v.version) }, `v${v.version}`)));
      if (keep && versions.some((v) => String(v.version) === keep)) sel.value = keep;
    };
    options(fromSel);
    options(toSel);
    replace(historyBody, versions.map((v) => h("tr", { dataset: { version: String(v.version) } },
      h("td", { class: "num" }, `v${v.version}`, v.version === runbook.current_version ? h("span", { class: "tag" }, "current") : null),
      h("td", null, time(v.created_at)),
      h("td", null, v.created_by || h("span", { class: "muted" }, "—")),
      h("td", null, v.comment || h("span", { class: "muted" }, "—")),
      h("td", { class: "row-actions" },
        v.version > 1 ? h("button", { type: "button", class: "small", onclick: () => showDiff(v.version - 1, v.version) }, "Changes") : null,
        canDesign && v.version !== runbook.current_version
          ? h("button", { type: "button", class: "small", onclick: () => restore(v.version) }, "Restore") : null))));
  }

  ed.set(pretty(runbook.document));
  drawState();
  drawHistory();
  if (runbook.versions.length > 1) {
    toSel.value = String(runbook.current_version);
    fromSel.value = String(runbook.current_version - 1);
  }
  drawPreview(ed.area.value);

  add(ctx.main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/runbooks" }, "Runbooks"), " / ",
      h("a", { href: `/runbooks/${id}` }, runbook.path), " /"),
    h("div", { class: "title-row" },
      h("h1", null, `Design: ${runbook.name}`, " ", h("span", { class: "muted small" }, `v${runbook.current_version}`)),
      actions),
    holder,
    h("div", { class: "designer" },
      h("section", { "aria-labelledby": "doc-h", class: "doc-pane" },
        h("h2", { id: "doc-h" }, h("label", { for: "document-editor" }, "Document (JSON)")),
        ed.el, status, faultList, checkInForm),
      h("section", { "aria-labelledby": "preview-h", class: "graph-pane" },
        h("h2", { id: "preview-h" }, "Graph"), graphBox)),
    h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, "History"),
      h("div", { class: "table-wrap" }, h("table", { class: "list history" },
        h("caption", { class: "sr-only" }, "Versions"),
        h("thead", null, h("tr", null, ["Version", "Checked in", "By", "Comment", ""].map((t) => h("th", { scope: "col" }, t)))),
        historyBody)),
      diffForm, diffBox),
  );
  if (mine()) await validate();
}
