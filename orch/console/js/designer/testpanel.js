// "Test": the draft run by the Runbook Tester on the gateway, in memory (no job, nothing
// stored). Each activity's status and published data show on the canvas as the run
// goes; break points and step mode pause it before an activity, as `orch test --step`.
import { del, get, post } from "../api.js";
import { h, uid } from "../dom.js";
import { toast } from "../format.js";

const POLL_WAIT_S = 10;

function statusText(run) {
  if (!run) return "";
  if (run.state === "paused") return `Paused before ${run.paused.activity} (${run.paused.why === "break" ? "break point" : "step"}).`;
  if (run.state === "running") return "Running…";
  return `Test finished: ${run.status}${run.error ? ` — ${run.error}` : ""}.`;
}

export function makeTestPanel({ draft, catalog, onState, signal }) {
  let run = null;
  let after = 0;
  let states = new Map();
  let polling = false;
  const breaks = new Set();

  const paramsBox = h("div", { class: "test-params" });
  const breaksBox = h("div", { class: "test-breaks" });
  const stepId = uid("test-step");
  const step = h("input", { id: stepId, type: "checkbox" });
  const runButton = h("button", { type: "button", class: "primary", id: "run-test" }, "Run test");
  const status = h("p", { class: "test-status", role: "status", "aria-live": "polite" });
  const controls = h("div", { class: "actions test-controls", hidden: true },
    h("button", { type: "button", id: "test-continue", onclick: () => command("continue") }, "Continue"),
    h("button", { type: "button", id: "test-step-next", onclick: () => command("step") }, "Step"),
    h("button", { type: "button", id: "test-skip", onclick: () => command("skip") }, "Skip"),
    h("button", { type: "button", id: "test-quit", onclick: () => command("quit") }, "Stop test"));
  const results = h("div", { class: "test-results" });
  // status and commands sit above the canvas, where the run shows
  const bar = h("div", { class: "test-bar", hidden: true }, status, controls);
  const errors = h("ul", { class: "panel-faults", hidden: true, role: "alert" });

  function parameters() {
    const init = (draft.doc.activities || []).find((a) => a && catalog.find(a.type)?.type === "core:initialize_data");
    const list = init && init.properties && Array.isArray(init.properties.parameters) ? init.properties.parameters : [];
    return list.filter((p) => p && p.name);
  }

  /** The variables the draft uses ({variable:Name}): a test gives them values (the
   * database's are never read, as with `orch test --var`). */
  function variableNames() {
    const text = JSON.stringify(draft.doc.activities || []);
    return [...new Set([...text.matchAll(/\{variable:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]))].sort();
  }

  let drawnFor = null;
  function drawInputs() {
    // rebuilt only when the parameters or the activities change (not on every keystroke)
    const acts0 = (draft.doc.activities || []).filter((a) => a && a.id);
    const vars = variableNames();
    const key = JSON.stringify([parameters().map((p) => [p.name, p.default ?? null]), acts0.map((a) => a.id), vars]);
    if (key === drawnFor) {
      const byId = new Map(acts0.map((a) => [a.id, a]));
      for (const box of breaksBox.querySelectorAll("input[data-activity]")) {
        const a = byId.get(box.dataset.activity);
        const label = box.nextElementSibling;
        if (a && label) label.textContent = `${a.name || a.id} (${a.id})`;
      }
      return;
    }
    drawnFor = key;
    const keep = new Map([...paramsBox.querySelectorAll("input")].map((i) => [i.dataset.param ? `p:${i.dataset.param}` : `v:${i.dataset.variable}`, i.value]));
    paramsBox.replaceChildren();
    for (const p of parameters()) {
      const id = uid("test-param");
      const input = h("input", { id, type: "text", autocomplete: "off", dataset: { param: p.name }, placeholder: p.default !== undefined && p.default !== null ? String(p.default) : "" });
      input.value = keep.get(`p:${p.name}`) ?? "";
      paramsBox.append(h("div", { class: "field" }, h("label", { for: id }, `Parameter ${p.name}`), input));
    }
    for (const name of vars) {
      const id = uid("test-var");
      const input = h("input", { id, type: "text", autocomplete: "off", dataset: { variable: name } });
      input.value = keep.get(`v:${name}`) ?? "";
      paramsBox.append(h("div", { class: "field" }, h("label", { for: id }, `Variable ${name}`), input));
    }
    breaksBox.replaceChildren();
    const acts = (draft.doc.activities || []).filter((a) => a && a.id);
    for (const id of [...breaks]) if (!acts.some((a) => a.id === id)) breaks.delete(id);
    if (acts.length) {
      breaksBox.append(h("fieldset", { class: "sub" }, h("legend", null, "Break points: pause before"),
        acts.map((a) => {
          const bid = uid("break");
          const box = h("input", { id: bid, type: "checkbox", checked: breaks.has(a.id), dataset: { activity: a.id } });
          box.addEventListener("change", () => (box.checked ? breaks.add(a.id) : breaks.delete(a.id)));
          return h("div", { class: "check-row" }, box, h("label", { for: bid }, `${a.name || a.id} (${a.id})`));
        })));
    }
  }

  /** The canvas view of the run: per activity its latest status and published data. */
  function apply(events) {
    for (const e of events) {
      if (e.depth !== undefined && e.depth !== 0) continue;
      if (e.event === "activity-started") {
        const s = states.get(e.activity) || { count: 0, published: [] };
        states.set(e.activity, { ...s, status: "running", paused: false });
      } else if (e.event === "activity-ended") {
        const s = states.get(e.activity) || { count: 0 };
        states.set(e.activity, { status: e.status, count: s.count + 1, published: e.published, error: e.error, paused: false });
      } else if (e.event === "paused") {
        const s = states.get(e.activity) || { count: 0, published: [], status: "pending" };
        states.set(e.activity, { ...s, paused: true });
      } else if (e.event === "skipped") {
        const s = states.get(e.activity) || { count: 0, published: [] };
        states.set(e.activity, { ...s, status: "skipped", paused: false });
      }
    }
    if (run && run.state !== "paused") for (const [k, v] of states) if (v.paused) states.set(k, { ...v, paused: false });
  }

  function drawResults() {
    results.replaceChildren();
    if (!run) return;
    if (run.state === "finished" && Object.keys(run.returned_data || {}).length) {
      results.append(h("h3", null, "Returned data"), h("table", { class: "kv" }, h("tbody", null,
        Object.entries(run.returned_data).map(([k, v]) => h("tr", null, h("th", { scope: "row" }, k), h("td", null, h("code", null, v)))))));
    }
    const rows = [...states.entries()];
    if (rows.length) {
      results.append(h("h3", null, "Published data"), h("div", { class: "table-wrap" }, h("table", { class: "list test-data" },
        h("thead", null, h("tr", null, ["Activity", "Status", "Published data"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, rows.map(([id, s]) => h("tr", { dataset: { activity: id } },
          h("td", null, id), h("td", null, h("span", { class: `badge st-${s.paused ? "pending" : s.status}` }, s.paused ? "paused" : s.status), s.count > 1 ? ` ×${s.count}` : ""),
          h("td", null, (s.published || []).map((item, i) => h("div", { class: "item" }, (s.published.length > 1 ? `#${i + 1} ` : ""),
            Object.entries(item).filter(([k]) => !["StartTime", "EndTime", "ActivityName"].includes(k)).map(([k, v]) => h("span", { class: "kvpair" }, h("code", null, k), "=", h("code", null, v), " ")))),
          s.error ? h("span", { class: "error" }, s.error) : null)))))));
    }
  }

  function show() {
    status.textContent = statusText(run);
    bar.hidden = !run;
    controls.hidden = !run || run.state === "finished";
    for (const b of controls.querySelectorAll("button:not(#test-quit)")) b.disabled = !run || run.state !== "paused";
    runButton.disabled = Boolean(run && run.state !== "finished");
    drawResults();
    onState(run ? states : null);
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      while (run && run.state !== "finished" && !signal.aborted) {
        const id = run.id;
        const next = await get(`/runbook-tests/${id}`, { query: { after, wait: POLL_WAIT_S }, signal });
        if (!run || run.id !== id) return;
        run = next;
        apply(next.events);
        after = next.next;
        show();
      }
    } catch (e) {
      if (e.name !== "AbortError") toast(`The test stopped reporting: ${e.message}`, "error");
    } finally {
      polling = false;
    }
  }

  async function start() {
    errors.hidden = true;
    const parameters = {};
    for (const input of paramsBox.querySelectorAll("input[data-param]")) if (input.value !== "") parameters[input.dataset.param] = input.value;
    const variables = {};
    for (const input of paramsBox.querySelectorAll("input[data-variable]")) variables[input.dataset.variable] = input.value;
    states = new Map();
    after = 0;
    try {
      run = await post("/runbooks/test", { document: draft.doc, parameters, variables, breakpoints: [...breaks], step: step.checked });
    } catch (e) {
      run = null;
      errors.hidden = false;
      errors.replaceChildren(...(e.faults && e.faults.length ? e.faults : [{ message: e.message }]).map((f) => h("li", null, f.message, f.path ? [" ", h("code", { class: "muted" }, f.path)] : "")));
      show();
      return;
    }
    apply(run.events);
    after = run.next;
    show();
    poll();
  }

  async function command(name) {
    if (!run) return;
    try {
      const next = await post(`/runbook-tests/${run.id}/commands`, { command: name });
      run = { ...run, state: next.state, paused: next.paused };
      show();
    } catch (e) {
      toast(`${name} failed: ${e.message}`, "error");
    }
    poll();
  }

  function clearRun() {
    if (run && run.state !== "finished") del(`/runbook-tests/${run.id}`).catch(() => {});
    run = null;
    states = new Map();
    show();
  }

  runButton.addEventListener("click", start);
  const el = h("section", { class: "test-panel", "aria-labelledby": "test-h" },
    h("h2", { id: "test-h" }, "Test"),
    h("p", { class: "muted small" }, "Runs this draft in memory on the gateway (the Runbook Tester): no job is created, nothing is stored."),
    paramsBox, breaksBox,
    h("div", { class: "check-row" }, step, h("label", { for: stepId }, "Step through (pause before every activity)")),
    h("div", { class: "actions" }, runButton, h("button", { type: "button", id: "clear-test", onclick: clearRun }, "Clear results")),
    errors, results);
  drawInputs();
  return { el, bar, refresh: drawInputs, stop: clearRun };
}
