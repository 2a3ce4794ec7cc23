// The Runbook Designer: check a runbook out (or start a new one in a folder), build it
// on a canvas — palette, boxes, links, a properties panel per activity and per link,
// the runbook's settings — with every edit undoable, validated as you go (faults on the
// activity or link they belong to), the JSON as a second tab in step with the canvas,
// a test run on the canvas, and check-in with a comment. The history below diffs and
// restores versions.
import { del, get, post, request } from "../api.js";
import { add, clear, h, replace } from "../dom.js";
import { time, toast } from "../format.js";
import { confirmDialog } from "../parts/confirm.js";
import { editor, renderDiff } from "../designer/jsontab.js";
import { loadCatalog } from "../designer/catalog.js";
import { freezePositions, makeCanvas } from "../designer/canvas.js";
import { insertAtCursor, pickPublishedData } from "../designer/insert.js";
import { linkPanel } from "../designer/linkform.js";
import { PATH_ACTIVITY, PATH_LINK, groupFaults } from "../designer/faults.js";
import { Draft } from "../designer/model.js";
import { makePalette } from "../designer/palette.js";
import { activityPanel } from "../designer/properties.js";
import { settingsPanel } from "../designer/settings.js";
import { makeTestPanel } from "../designer/testpanel.js";

const VALIDATE_DELAY_MS = 350;

function pretty(doc) {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `/runbooks/new?folder=/Ops`: a new runbook, checked in (created) by its first check-in. */
export async function newRunbookView(ctx) {
  const folder = ctx.query.get("folder") || "/";
  await designerView(ctx, { folder });
}

export async function designerView(ctx, fresh = null) {
  const isNew = fresh !== null;
  const id = isNew ? null : ctx.params[0];
  const catalogP = loadCatalog(ctx.signal);
  let runbook = isNew ? null : await get(`/runbooks/${id}`, { signal: ctx.signal });
  const catalog = await catalogP;
  if (!ctx.isCurrent()) return;
  const me = ctx.me.name;
  const folder = isNew ? fresh.folder : runbook.folder;
  const canDesign = isNew ? ctx.rights.can("design", `${folder.replace(/\/$/, "")}/x`) || ctx.rights.can("design", folder) : ctx.rights.can("design", runbook);
  document.title = isNew ? "New runbook · orch" : `Design ${runbook.name} · orch`;

  const blank = { format: "orch.runbook/1", name: "", folder, description: "", activities: [], links: [] };
  const draft = new Draft(isNew ? blank : runbook.document);
  const mine = () => isNew || (runbook && runbook.checked_out_by === me);
  const editable = () => canDesign && mine();
  let faults = [];
  let outline = null;
  let outlineFor = null;
  let variables = null;
  let timer = null;
  let validating = null;
  let lastValid = false;
  let lastValidated = null;

  // -- the parts ---------------------------------------------------------------------------
  const ed = editor("document-editor");
  const status = h("p", { id: "document-editor-status", class: "validation", role: "status" });
  const faultList = h("ol", { class: "faults", "aria-label": "Faults" });
  const holder = h("p", { class: "holder" });
  const actions = h("div", { class: "actions" });
  const side = h("div", { class: "side-panel", "aria-live": "off" });
  const sideSet = h("fieldset", { class: "side-set" }, side);
  const undoButton = h("button", { type: "button", id: "undo", onclick: () => undo() }, "Undo");
  const redoButton = h("button", { type: "button", id: "redo", onclick: () => redo() }, "Redo");
  const settingsButton = h("button", { type: "button", id: "runbook-settings", onclick: () => draft.select({ kind: "runbook" }) }, "Runbook settings");

  async function refreshOutline() {
    const text = JSON.stringify(draft.doc);
    if (outline && outlineFor === text) return outline;
    try {
      outline = await post("/runbooks/outline", draft.doc, { signal: ctx.signal });
      outlineFor = text;
    } catch {
      // an undecodable draft has no outline: keep the last one
    }
    return outline;
  }

  const fieldsOf = (aid) => {
    const a = outline && outline.activities.find((x) => x.id === aid);
    return a ? a.fields : null;
  };

  async function insert(input, activityId) {
    await refreshOutline();
    if (variables === null) {
      try {
        variables = (await get("/variables", { signal: ctx.signal })).items.map((v) => v.name);
      } catch {
        variables = [];
      }
    }
    const names = new Map((draft.doc.activities || []).filter(Boolean).map((a) => [a.id, a.name || a.id]));
    const ref = await pickPublishedData({ outline, activityId, names, variables });
    if (ref) insertAtCursor(input, ref);
    else input.focus();
  }

  function addActivity(type, at, { link }) {
    if (!editable()) return;
    const t = catalog.find(type);
    const sel = draft.selection;
    const from = link && sel && sel.kind === "activity" && draft.activity(sel.id) ? sel.id : null;
    const newId = draft.freshId(type);
    const position = at || canvas.placeNear(from);
    draft.edit(`Add ${newId}`, (d) => {
      freezePositions(d);
      const act = { id: newId, type, properties: {}, position };
      if (t && t.display_name) act.name = t.display_name;
      d.activities = [...(d.activities || []), act];
      if (from) d.links = [...(d.links || []), { from, to: newId }];
    }, { source: "add" });
    draft.select({ kind: "activity", id: newId });
    if (!at) canvas.fit(); // placed by the designer: show the runbook again…
    canvas.reveal(newId); // …and the new box, wherever it is
    canvas.focusActivity(newId);
    toast(from ? `Added ${newId}, linked from ${from}.` : `Added ${newId}.`);
  }

  function linkActivities(from, to) {
    if (!editable() || from === to || !draft.activity(to)) return;
    draft.edit(`Link ${from} to ${to}`, (d) => {
      d.links = [...(d.links || []), { from, to }];
    }, { source: "link" });
    const index = draft.links().length - 1;
    draft.select({ kind: "link", index });
    side.querySelector("input, select")?.focus();
  }

  function moveActivity(aid, to) {
    if (!editable()) return;
    draft.edit(`Move ${aid}`, (d) => {
      freezePositions(d);
      const a = d.activities.find((x) => x && x.id === aid);
      if (a) a.position = { x: Math.round(to.x), y: Math.round(to.y) };
    }, { merge: `move.${aid}`, source: "move" });
  }

  async function remove(sel) {
    if (!editable()) return;
    if (sel.kind === "activity") {
      const a = draft.activity(sel.id);
      if (!a) return;
      const count = draft.links().filter((l) => l.from === sel.id || l.to === sel.id).length;
      const ok = await confirmDialog({
        title: `Delete ${a.name || a.id}?`,
        message: `The activity ${a.id}${count ? ` and its ${count} link${count === 1 ? "" : "s"}` : ""} will be deleted. Undo brings ${count ? "them" : "it"} back.`,
        confirm: "Delete", danger: true,
      });
      if (!ok) return;
      draft.edit(`Delete ${sel.id}`, (d) => {
        d.activities = d.activities.filter((x) => !x || x.id !== sel.id);
        d.links = (d.links || []).filter((l) => l.from !== sel.id && l.to !== sel.id);
      }, { source: "delete" });
      draft.select(null);
    } else if (sel.kind === "link") {
      const l = draft.links()[sel.index];
      if (!l) return;
      const ok = await confirmDialog({ title: `Delete the link ${l.from} → ${l.to}?`, message: "Undo brings it back.", confirm: "Delete", danger: true });
      if (!ok) return;
      draft.edit(`Delete the link ${l.from} → ${l.to}`, (d) => { d.links.splice(sel.index, 1); }, { source: "delete" });
      draft.select(null);
    }
    canvas.el.querySelector("svg.canvas")?.focus();
  }

  const canvas = makeCanvas({
    draft, editable, onAdd: addActivity, onLink: linkActivities, onDelete: remove, onMove: moveActivity,
    onOpen: () => (side.querySelector(".schema-form input, .schema-form select, .schema-form textarea") || side.querySelector("input, select, textarea"))?.focus(),
  });
  // Escape in the panel goes back to the selected box or link on the canvas
  side.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || ev.defaultPrevented) return;
    const sel = draft.selection;
    if (sel && sel.kind === "activity") canvas.focusActivity(sel.id);
    else if (sel && sel.kind === "link") canvas.el.querySelector(`[data-link="${sel.index}"]`)?.focus();
    else return;
    ev.preventDefault();
  });
  const palette = makePalette({ types: catalog.types, onAdd: addActivity, editable });
  const tester = makeTestPanel({ draft, catalog, signal: ctx.signal, onState: (states) => canvas.setTest(states) });
  ctx.onCleanup(() => tester.stop());

  // -- faults ------------------------------------------------------------------------------
  const faultTargets = () => groupFaults(faults, draft.doc);

  function drawFaults() {
    const docActs = Array.isArray(draft.doc.activities) ? draft.doc.activities : [];
    replace(faultList, faults.map((f) => {
      const ma = PATH_ACTIVITY.exec(f.path);
      const ml = PATH_LINK.exec(f.path);
      const act = ma ? docActs[Number(ma[1])] : null;
      const link = ml ? draft.links()[Number(ml[1])] : null;
      let show = null;
      if (act && act.id) show = h("button", { type: "button", class: "link-like show-fault", onclick: () => { showTab("canvas"); draft.select({ kind: "activity", id: act.id }); canvas.focusActivity(act.id); } }, `Activity ${act.id}`);
      else if (link) show = h("button", { type: "button", class: "link-like show-fault", onclick: () => { showTab("canvas"); draft.select({ kind: "link", index: Number(ml[1]) }); } }, `Link ${link.from} → ${link.to}`);
      else show = h("button", { type: "button", class: "link-like show-fault", onclick: () => { showTab("canvas"); draft.select({ kind: "runbook" }); } }, "Runbook");
      return h("li", { class: "fault", dataset: { line: String(f.line), path: f.path } },
        show, ": ", f.message, " ",
        h("button", { type: "button", class: "link-like small goto-line", onclick: () => { showTab("json"); ed.goTo(f.line, f.column); } }, `Line ${f.line}, column ${f.column}`),
        " ", h("code", { class: "muted" }, f.path));
    }));
    canvas.setFaults(faultTargets());
  }

  async function validate() {
    syncText();
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
    lastValidated = text;
    faults = result.faults;
    status.className = `validation ${result.valid ? "ok" : "bad"}`;
    status.textContent = result.valid ? "Valid: it can be checked in."
      : `${faults.length} fault${faults.length === 1 ? "" : "s"}: fix ${faults.length === 1 ? "it" : "them"} to check in.`;
    drawFaults();
    drawSide(false);
    refreshOutline();
  }

  function scheduleValidate() {
    clearTimeout(timer);
    timer = setTimeout(() => validate(), VALIDATE_DELAY_MS);
  }
  ctx.onCleanup(() => clearTimeout(timer));

  // -- the side panel ----------------------------------------------------------------------
  function drawSide(force = true) {
    const sel = draft.selection;
    const targets = faultTargets();
    // Never rebuild under the author's cursor (a form redraws itself as it is edited):
    // only its list of faults is brought up to date.
    if (!force && side.contains(document.activeElement)) {
      const list = side.querySelector(".panel-faults");
      if (!list) return;
      const mine = sel && sel.kind === "activity" ? targets.activities.get(sel.id)
        : sel && sel.kind === "link" ? targets.links.get(sel.index) : targets.runbook;
      list.replaceChildren(...(mine || []).map((m) => h("li", null, m)));
      list.hidden = !(mine || []).length;
      return;
    }
    let panel;
    if (sel && sel.kind === "activity" && draft.activity(sel.id)) {
      panel = activityPanel({
        draft, id: sel.id, catalog, insert, faults: targets.activities.get(sel.id),
        onLinkTo: linkActivities, onDelete: remove,
      });
    } else if (sel && sel.kind === "link" && draft.links()[sel.index]) {
      panel = linkPanel({ draft, index: sel.index, fieldsOf, operators: catalog.operators, onDelete: remove, faults: targets.links.get(sel.index) });
      if (!outline) refreshOutline().then(() => { if (draft.selection === sel) drawSide(); });
    } else {
      panel = settingsPanel({ draft, runbookSchema: catalog.runbookSchema, catalog, isNew, faults: targets.runbook });
    }
    replace(side, panel);
  }

  // -- the JSON tab ------------------------------------------------------------------------
  ed.area.addEventListener("input", () => {
    let parsed;
    try {
      parsed = JSON.parse(ed.area.value);
    } catch {
      parsed = null;
    }
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) draft.replace(parsed, { source: "json" });
    scheduleValidate();
  });

  // Typing in a panel changes the document on every key: the canvas redraws once per
  // frame, and the JSON text is written when it is looked at (its tab, validation, check-in).
  let textStale = false;
  let frame = null;
  function syncText() {
    if (!textStale) return;
    textStale = false;
    ed.set(pretty(draft.doc));
  }
  function drawSoon() {
    if (frame !== null) return;
    frame = requestAnimationFrame(() => {
      frame = null;
      canvas.draw();
    });
  }
  ctx.onCleanup(() => { if (frame !== null) cancelAnimationFrame(frame); });

  draft.onChange((source) => {
    if (source === "select") {
      drawSide();
      canvas.draw();
      return;
    }
    if (source !== "json") {
      textStale = true;
      if (!panelJson.hidden || source !== "panel") syncText();
    }
    if (source === "panel") drawSoon();
    else canvas.draw();
    if (source !== "panel") drawSide();
    tester.refresh();
    drawUndo();
    scheduleValidate();
  });

  function drawUndo() {
    const u = draft.undoStack[draft.undoStack.length - 1];
    const r = draft.redoStack[draft.redoStack.length - 1];
    undoButton.disabled = !editable() || !u;
    redoButton.disabled = !editable() || !r;
    undoButton.title = u ? `Undo: ${u.label} (Ctrl+Z)` : "Nothing to undo";
    redoButton.title = r ? `Redo: ${r.label} (Ctrl+Y)` : "Nothing to redo";
  }

  function undo() {
    if (!editable()) return;
    const label = draft.undo();
    if (label) toast(`Undone: ${label}`);
  }

  function redo() {
    if (!editable()) return;
    const label = draft.redo();
    if (label) toast(`Redone: ${label}`);
  }

  // -- tabs ----------------------------------------------------------------------------------
  const tabCanvas = h("button", { type: "button", role: "tab", id: "tab-canvas", "aria-controls": "panel-canvas" }, "Canvas");
  const tabJson = h("button", { type: "button", role: "tab", id: "tab-json", "aria-controls": "panel-json" }, "JSON");
  const panelCanvas = h("div", { role: "tabpanel", id: "panel-canvas", "aria-labelledby": "tab-canvas", class: "design-surface" },
    palette.el, h("section", { class: "canvas-pane", "aria-label": "Canvas" }, tester.bar, canvas.el), sideSet);
  const panelJson = h("div", { role: "tabpanel", id: "panel-json", "aria-labelledby": "tab-json", class: "json-pane" },
    h("h2", { id: "doc-h" }, h("label", { for: "document-editor" }, "Document (JSON)")), ed.el);
  function showTab(which) {
    const onCanvas = which === "canvas";
    tabCanvas.setAttribute("aria-selected", String(onCanvas));
    tabJson.setAttribute("aria-selected", String(!onCanvas));
    tabCanvas.tabIndex = onCanvas ? 0 : -1;
    tabJson.tabIndex = onCanvas ? -1 : 0;
    panelCanvas.hidden = !onCanvas;
    panelJson.hidden = onCanvas;
    if (onCanvas) requestAnimationFrame(() => canvas.draw());
    else syncText();
  }
  tabCanvas.addEventListener("click", () => showTab("canvas"));
  tabJson.addEventListener("click", () => showTab("json"));
  const tabs = h("div", { role: "tablist", "aria-label": "Views", class: "tabs" }, tabCanvas, tabJson);
  tabs.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      ev.preventDefault();
      const next = document.activeElement === tabCanvas ? tabJson : tabCanvas;
      next.click();
      next.focus();
    }
  });

  // -- check-out, check-in -----------------------------------------------------------------
  const comment = h("input", { id: "checkin-comment", type: "text", maxlength: "500", placeholder: "What changed and why" });
  const checkInForm = h("form", { class: "checkin" },
    h("div", { class: "field inline" }, h("label", { for: "checkin-comment" }, "Check-in comment"), comment),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "check-in" }, "Check in"),
      isNew ? null : h("button", { type: "button", id: "undo-check-out", onclick: () => undoCheckOut() }, "Undo check-out")));

  function drawState() {
    const editing = editable();
    ed.area.readOnly = !editing;
    sideSet.disabled = !editing;
    if (isNew) {
      replace(holder, `A new runbook in ${folder}: build it, then check it in to create it.`);
    } else {
      replace(holder, runbook.checked_out_by
        ? [mine() ? "You have it checked out" : ["Checked out by ", h("strong", null, runbook.checked_out_by)],
          " since ", time(runbook.checked_out_at), mine() ? ". Other designers cannot check in until you check in or undo." : ". You can read it, not edit it."]
        : "Not checked out. Check it out to edit it.");
    }
    clear(actions);
    if (!isNew && canDesign && !runbook.checked_out_by) {
      actions.append(h("button", { type: "button", class: "primary", id: "check-out", onclick: () => checkOut() }, "Check out"));
    }
    checkInForm.hidden = !editing;
    palette.refresh();
    drawUndo();
    canvas.draw();
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
    await reload(); // edit what is checked in now
    draft.replace(runbook.document, { undoable: false, source: "load" });
    drawState();
    await validate();
    toast("Checked out: edit the runbook, then check it in.");
  }

  async function undoCheckOut() {
    const changed = JSON.stringify(draft.doc) !== JSON.stringify(runbook.document);
    if (changed && !(await confirmDialog({ title: "Undo check-out?", message: "Your changes are discarded.", confirm: "Discard changes", danger: true }))) return;
    try {
      await del(`/runbooks/${id}/checkout`);
    } catch (e) {
      toast(`Undo failed: ${e.message}`, "error");
    }
    await reload();
    draft.replace(runbook.document, { undoable: false, source: "load" });
    clearTimeout(timer);
    faults = [];
    drawFaults();
    status.className = "validation";
    status.textContent = "Check-out undone: your changes were discarded.";
  }

  checkInForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    syncText();
    await validate();
    if (!lastValid || lastValidated !== ed.area.value) {
      toast(`Check-in refused: fix the ${faults.length || ""} fault${faults.length === 1 ? "" : "s"} first.`.replace("  ", " "), "error");
      faultList.querySelector("button")?.focus();
      return;
    }
    const note = comment.value.trim();
    try {
      if (isNew) {
        const created = await request("POST", "/runbooks", { raw: ed.area.value, query: { comment: note } });
        toast(`Checked in ${created.path} as version ${created.version}.`);
        ctx.navigate(`/runbooks/${created.id}/design`);
        return;
      }
      const result = await request("PUT", `/runbooks/${id}`, { raw: ed.area.value, query: { comment: note } });
      toast(`Checked in as version ${result.version}.`);
      comment.value = "";
    } catch (e) {
      toast(`Check-in failed: ${e.message}`, "error");
      return;
    }
    await reload();
    draft.replace(runbook.document, { undoable: false, source: "load" });
  });

  // -- history -------------------------------------------------------------------------------
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
      const result = await request("PUT", `/runbooks/${id}`, { raw: JSON.stringify(old.document), query: { comment: `restored version ${version}` } });
      toast(`Version ${version} restored as version ${result.version}.`);
    } catch (e) {
      toast(`Restore failed: ${e.message}`, "error");
      return;
    }
    await reload();
    draft.replace(runbook.document, { undoable: false, source: "load" });
  }

  function drawHistory() {
    if (isNew) return;
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

  // -- the page --------------------------------------------------------------------------------
  const root = h("div", { class: "designer-page" });
  root.addEventListener("keydown", (ev) => {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.target === ed.area) return;
    const key = ev.key.toLowerCase();
    if (key === "z" && !ev.shiftKey) {
      ev.preventDefault();
      undo();
    } else if (key === "y" || (key === "z" && ev.shiftKey)) {
      ev.preventDefault();
      redo();
    }
  });

  ed.set(pretty(draft.doc));
  add(root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/runbooks" }, "Runbooks"), " / ",
      isNew ? [h("a", { href: `/runbooks?folder=${encodeURIComponent(folder)}` }, folder), " / new"] : [h("a", { href: `/runbooks/${id}` }, runbook.path), " /"]),
    h("div", { class: "title-row" },
      h("h1", null, isNew ? "New runbook" : [`Design: ${runbook.name}`, " ", h("span", { class: "muted small" }, `v${runbook.current_version}`)]),
      actions),
    holder,
    h("div", { class: "designer-bar" }, tabs,
      h("div", { class: "actions", role: "toolbar", "aria-label": "Edit" }, undoButton, redoButton, settingsButton)),
    panelCanvas, panelJson,
    h("section", { class: "checks", "aria-labelledby": "faults-h" },
      h("h2", { id: "faults-h", class: "sr-only" }, "Validation"), status, faultList, checkInForm),
    canDesign ? tester.el : null); // a draft test needs the design right
  if (!isNew) {
    add(root, h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, "History"),
      h("div", { class: "table-wrap" }, h("table", { class: "list history" },
        h("caption", { class: "sr-only" }, "Versions"),
        h("thead", null, h("tr", null, ["Version", "Checked in", "By", "Comment", ""].map((t) => h("th", { scope: "col" }, t)))),
        historyBody)),
      diffForm, diffBox));
  }
  add(ctx.main, root);
  showTab(ctx.query.get("tab") === "json" ? "json" : "canvas");
  drawState();
  drawHistory();
  drawSide();
  if (!isNew && runbook.versions.length > 1) {
    toSel.value = String(runbook.current_version);
    fromSel.value = String(runbook.current_version - 1);
  }
  requestAnimationFrame(() => { canvas.draw(); canvas.fit(); });
  if (mine()) await validate();
}
