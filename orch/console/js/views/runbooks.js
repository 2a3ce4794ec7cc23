// Browse: the folder tree beside the runbooks of the chosen folder, searchable by name.
import { get, getAll, isMissingRoute } from "../api.js";
import { h, replace } from "../dom.js";
import { time } from "../format.js";

/** Every folder path in a /folders answer (a flat list or a tree with children). */
function collectFolders(answer, out = new Set()) {
  const items = Array.isArray(answer) ? answer : answer && (answer.items || answer.children || []);
  for (const f of items || []) {
    if (f && typeof f.path === "string") out.add(f.path);
    if (f && (f.children || f.folders)) collectFolders(f.children || f.folders, out);
  }
  return out;
}

function parentOf(path) {
  if (path === "/") return null;
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function inFolder(runbook, folder) {
  return folder === "/" || runbook.folder === folder || runbook.folder.startsWith(`${folder}/`);
}

export async function runbooksView(ctx) {
  document.title = "Runbooks · orch";
  const folder = ctx.query.get("folder") || "/";
  let search = ctx.query.get("q") || "";

  const [runbooks, folderAnswer] = await Promise.all([
    // An operator granted nothing may get a 403 for the list: that is an empty list.
    getAll("/runbooks", { signal: ctx.signal }).catch((e) => {
      if (e.status === 403) return [];
      throw e;
    }),
    getAll("/folders", { signal: ctx.signal }).catch((e) => {
      if (isMissingRoute(e) || e.status === 403) return null;
      throw e;
    }),
  ]);
  if (!ctx.isCurrent()) return;
  const folders = collectFolders(folderAnswer);
  folders.add("/");
  for (const r of runbooks) {
    for (let p = r.folder; p; p = parentOf(p)) folders.add(p);
  }

  const children = new Map();
  for (const p of folders) {
    const parent = parentOf(p);
    if (parent === null) continue;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(p);
  }
  const count = (p) => runbooks.filter((r) => inFolder(r, p)).length;
  const folderLink = (p) => {
    const name = p === "/" ? "All runbooks" : p.slice(p.lastIndexOf("/") + 1);
    return h("a", { href: p === "/" ? "/runbooks" : `/runbooks?folder=${encodeURIComponent(p)}`, "aria-current": p === folder ? "page" : null },
      name, h("span", { class: "count" }, ` ${count(p)}`));
  };
  const branch = (p) => {
    const kids = (children.get(p) || []).sort();
    return h("li", null, folderLink(p), kids.length ? h("ul", null, kids.map(branch)) : null);
  };

  const searchInput = h("input", { type: "search", id: "runbook-search", value: search, placeholder: "Name contains…", autocomplete: "off" });
  const listBox = h("div", { class: "runbook-list" });
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });

  const drawList = () => {
    const needle = search.trim().toLowerCase();
    const shown = runbooks
      .filter((r) => inFolder(r, folder))
      .filter((r) => !needle || r.name.toLowerCase().includes(needle) || r.path.toLowerCase().includes(needle))
      .sort((a, b) => a.path.localeCompare(b.path));
    status.textContent = `${shown.length} runbook${shown.length === 1 ? "" : "s"}${needle ? ` matching “${search.trim()}”` : ""}`;
    if (!shown.length) {
      replace(listBox, h("p", { class: "empty" }, runbooks.length ? "No runbook matches." : "No runbooks yet. Check one in with `orch runbook check-in FILE`."));
      return;
    }
    replace(listBox, h("div", { class: "table-wrap" }, h("table", { class: "list" },
      h("caption", { class: "sr-only" }, `Runbooks in ${folder}`),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Folder"),
        h("th", { scope: "col" }, "Version"), h("th", { scope: "col" }, "Updated"))),
      h("tbody", null, shown.map((r) => h("tr", null,
        h("td", null, h("a", { href: `/runbooks/${r.id}` }, r.name),
          r.is_monitor ? h("span", { class: "tag" }, "monitor") : null,
          r.checked_out_by ? h("span", { class: "tag", title: `Checked out by ${r.checked_out_by}` }, `checked out: ${r.checked_out_by}`) : null),
        h("td", null, r.folder),
        h("td", { class: "num" }, `v${r.current_version}`),
        h("td", null, time(r.updated_at))))))));
  };
  let timer = null;
  searchInput.addEventListener("input", () => {
    search = searchInput.value;
    drawList();
    clearTimeout(timer);
    timer = setTimeout(() => {
      const url = new URL(location.href);
      if (search) url.searchParams.set("q", search);
      else url.searchParams.delete("q");
      history.replaceState(null, "", url.pathname + url.search);
    }, 300);
  });
  ctx.onCleanup(() => clearTimeout(timer));

  ctx.main.append(
    h("div", { class: "title-row" },
      h("h1", null, folder === "/" ? "Runbooks" : `Runbooks in ${folder}`),
      ctx.rights.can("design", folder) ? h("a", { class: "button-link", id: "new-runbook", href: `/runbooks/new?folder=${encodeURIComponent(folder)}` }, "New runbook") : null),
    h("div", { class: "browse" },
      h("nav", { class: "folders", "aria-label": "Folders" }, h("h2", null, "Folders"), h("ul", { class: "tree" }, branch("/"))),
      h("section", { class: "runbooks", "aria-label": "Runbooks" },
        h("div", { class: "field inline" }, h("label", { for: "runbook-search" }, "Search by name"), searchInput),
        status, listBox)));
  drawList();
}
