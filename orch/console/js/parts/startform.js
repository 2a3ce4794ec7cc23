// The "Start" dialog: a form generated from the runbook's parameters. Each field is
// labelled with the parameter's name and says its type, default and whether it is
// required; the API's 422 faults ($.parameters.Name) come back next to their field.
import { get, isMissingRoute, post } from "../api.js";
import { h, uid } from "../dom.js";
import { localToUtc, utcToLocal } from "../format.js";

/** The start activity's declared parameters (the initialize_data with no incoming link). */
export function parametersOf(doc) {
  const targets = new Set((doc.links || []).map((l) => l.to));
  const start = (doc.activities || []).find((a) => !targets.has(a.id));
  if (!start || !/(^|:)initialize_data$/.test(start.type)) return [];
  return (start.properties && start.properties.parameters) || [];
}

export function isRequired(p) {
  return p.required !== undefined && p.required !== null ? Boolean(p.required) : p.default === undefined || p.default === null;
}

/** "$.parameters.Name" or '$.parameters["Odd name"]' → the parameter name (else null). */
export function parameterOfPath(path) {
  if (!path) return null;
  let m = /^\$\.parameters\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
  if (m) return m[1];
  m = /^\$\.parameters\["((?:[^"\\]|\\.)*)"\]$/.exec(path);
  if (m) return m[1].replace(/\\(.)/g, "$1");
  return null;
}

function inputFor(p, id, describedBy) {
  const common = { id, name: p.name, "aria-describedby": describedBy };
  const def = p.default;
  switch (p.type) {
    case "integer":
      return h("input", { ...common, type: "text", inputmode: "numeric", value: def ?? "", autocomplete: "off" });
    case "boolean": {
      const select = h("select", common,
        isRequired(p) ? h("option", { value: "" }, "— choose —") : h("option", { value: "" }, def !== undefined && def !== null ? `default (${def})` : "— not set —"),
        h("option", { value: "true" }, "true"),
        h("option", { value: "false" }, "false"));
      return select;
    }
    case "datetime":
      return h("input", { ...common, type: "datetime-local", step: 1, value: def ? utcToLocal(String(def)) : "" });
    default:
      return h("input", { ...common, type: "text", value: def ?? "", autocomplete: "off" });
  }
}

/**
 * openStartDialog(ctx, runbook, {onStarted(job)}) — shows the modal form; resolves when closed.
 */
export function openStartDialog(ctx, runbook, { onStarted } = {}) {
  const params = parametersOf(runbook.document || {});
  const fields = new Map();
  const formError = h("div", { class: "error", role: "alert", hidden: true });
  const body = [];
  params.forEach((p) => {
    const id = uid("param");
    const hintId = `${id}-hint`;
    const errId = `${id}-error`;
    const input = inputFor(p, id, `${hintId} ${errId}`);
    if (isRequired(p)) input.setAttribute("aria-required", "true");
    const error = h("p", { class: "field-error", id: errId, hidden: true });
    const hint = [p.type || "string", isRequired(p) ? "required" : "optional"];
    if (p.default !== undefined && p.default !== null) hint.push(`default: ${p.default}`);
    if (p.type === "datetime") hint.push("your local time");
    fields.set(p.name, { p, input, error });
    body.push(h("div", { class: "field", dataset: { parameter: p.name } },
      h("label", { for: id }, p.name, isRequired(p) ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
      input,
      h("p", { class: "hint", id: hintId }, hint.join(" · "), p.description ? h("span", null, ` — ${p.description}`) : null),
      error));
  });

  const serverId = uid("server");
  const serverError = h("p", { class: "field-error", id: `${serverId}-error`, hidden: true });
  const serverSelect = h("select", { id: serverId, name: "server", "aria-describedby": `${serverId}-error` },
    h("option", { value: "" }, "Any eligible server"));
  const serverField = h("div", { class: "field" }, h("label", { for: serverId }, "Runbook server"), serverSelect, serverError);
  fields.set("\u0000server", { input: serverSelect, error: serverError });
  get("/servers", { signal: ctx.signal }).then((answer) => {
    for (const srv of answer.items || []) {
      serverSelect.append(h("option", { value: srv.name }, `${srv.name} (${srv.status})`));
    }
  }).catch((e) => {
    if (!isMissingRoute(e)) return;
    // An API without /servers: let the operator type a name.
    const input = h("input", { id: serverId, name: "server", type: "text", placeholder: "Any eligible server", "aria-describedby": `${serverId}-error` });
    serverSelect.replaceWith(input);
    fields.set("\u0000server", { input, error: serverError });
  });

  const submit = h("button", { type: "submit", class: "primary" }, "Start");
  const cancel = h("button", { type: "button" }, "Cancel");
  const titleId = uid("start-title");
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: titleId }, `Start ${runbook.name}`),
    h("p", { class: "muted" }, runbook.path, ` · version ${runbook.current_version}`),
    params.length ? body : h("p", null, "This runbook takes no parameters."),
    serverField,
    formError,
    h("div", { class: "actions" }, submit, cancel));
  const dialog = h("dialog", { class: "start-dialog", "aria-labelledby": titleId }, form);

  const clearErrors = () => {
    formError.hidden = true;
    for (const f of fields.values()) {
      f.error.hidden = true;
      f.error.textContent = "";
      f.input.removeAttribute("aria-invalid");
    }
  };
  const showError = (f, message) => {
    f.error.textContent = message;
    f.error.hidden = false;
    f.input.setAttribute("aria-invalid", "true");
  };

  return new Promise((resolve) => {
    const close = () => {
      dialog.close();
      dialog.remove();
      resolve();
    };
    cancel.addEventListener("click", close);
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close();
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors();
      const parameters = {};
      let firstBad = null;
      for (const [name, f] of fields) {
        if (name === "\u0000server") continue;
        let value = f.input.value;
        if (f.p.type === "datetime") value = localToUtc(value);
        if (value === "") {
          if (isRequired(f.p)) {
            showError(f, `Enter a value for ${name}.`);
            firstBad = firstBad || f.input;
          }
          continue;
        }
        parameters[name] = value;
      }
      if (firstBad) {
        firstBad.focus();
        return;
      }
      const server = fields.get("\u0000server").input.value.trim();
      submit.disabled = true;
      try {
        const job = await post("/jobs", { runbook: runbook.id, parameters, server: server || null });
        close();
        if (onStarted) onStarted(job);
      } catch (e) {
        const unplaced = [];
        for (const fault of e.faults && e.faults.length ? e.faults : [{ path: e.path, message: e.message }]) {
          const name = parameterOfPath(fault.path);
          const f = name !== null ? fields.get(name) : fault.path === "$.server" ? fields.get("\u0000server") : null;
          if (f) {
            showError(f, fault.message);
            firstBad = firstBad || f.input;
          } else {
            unplaced.push(fault.message);
          }
        }
        if (unplaced.length || !firstBad) {
          formError.textContent = `Could not start: ${unplaced.join("; ") || e.message}`;
          formError.hidden = false;
        }
        (firstBad || submit).focus();
      } finally {
        submit.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector("input, select");
    if (first) first.focus();
  });
}
