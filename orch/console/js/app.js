// The console's entry: who is logged in, the router, the live feed, the banner.
import { get, del, setCsrfToken, setUnauthorizedHandler } from "./api.js";
import { clear, h } from "./dom.js";
import { toast } from "./format.js";
import { LiveFeed } from "./live.js";
import { makeRights } from "./rights.js";
import { loginView } from "./views/login.js";
import { runbooksView } from "./views/runbooks.js";
import { runbookView } from "./views/runbook.js";
import { designerView, newRunbookView } from "./views/designer.js";
import { jobsView } from "./views/jobs.js";
import { jobView } from "./views/job.js";
import { instanceView } from "./views/instance.js";
import { serversView } from "./views/servers.js";
import { eventsView } from "./views/events.js";
import { approvalsView } from "./views/approvals.js";

const ROUTES = [
  [/^\/login$/, loginView, null],
  [/^\/(?:runbooks)?$/, runbooksView, "runbooks"],
  [/^\/runbooks\/new$/, newRunbookView, "runbooks"],
  [/^\/runbooks\/([0-9a-f-]{36})$/, runbookView, "runbooks"],
  [/^\/runbooks\/([0-9a-f-]{36})\/design$/, designerView, "runbooks"],
  [/^\/jobs$/, jobsView, "jobs"],
  [/^\/jobs\/([0-9a-f-]{36})$/, jobView, "jobs"],
  [/^\/instances\/([0-9a-f-]{36})$/, instanceView, "jobs"],
  [/^\/servers$/, serversView, "servers"],
  [/^\/events$/, eventsView, "events"],
  [/^\/approvals$/, approvalsView, "approvals"],
];

const state = { me: null, rights: null, cleanup: null, seq: 0 };
const live = new LiveFeed();
const main = document.getElementById("main");

function setMe(me) {
  state.me = me;
  state.rights = me ? makeRights(me) : null;
  setCsrfToken(me ? me.csrf_token : null);
  const top = document.getElementById("top");
  top.hidden = !me;
  document.getElementById("who-name").textContent = me ? `${me.name}${me.is_admin ? " (admin)" : ""}` : "";
  if (me) live.start();
  else live.stop();
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

async function render() {
  const url = new URL(location.href);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (state.cleanup) {
    try {
      state.cleanup();
    } catch (e) {
      console.error(e);
    }
    state.cleanup = null;
  }
  state.seq += 1;
  const seq = state.seq;
  if (!state.me && path !== "/login") {
    navigate(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true });
    return;
  }
  let view = null;
  let params = [];
  let section = null;
  for (const [re, fn, nav] of ROUTES) {
    const m = path.match(re);
    if (m) {
      view = fn;
      params = m.slice(1);
      section = nav;
      break;
    }
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clear(main);
  if (!view) {
    document.title = "Not found · orch";
    main.append(h("h1", { tabindex: -1 }, "Not found"), h("p", null, "No page here. ", h("a", { href: "/runbooks" }, "Go to the runbooks.")));
    focusHeading();
    return;
  }
  const controller = new AbortController();
  const cleanups = [() => controller.abort()];
  const ctx = {
    main,
    params,
    query: url.searchParams,
    me: state.me,
    rights: state.rights,
    live,
    signal: controller.signal,
    navigate,
    onCleanup: (fn) => cleanups.push(fn),
    isCurrent: () => seq === state.seq,
    login: async (me) => {
      setMe(me);
    },
  };
  state.cleanup = () => {
    for (const fn of cleanups.reverse()) fn();
  };
  try {
    await view(ctx);
  } catch (e) {
    if (e.name === "AbortError" || !ctx.isCurrent()) return;
    if (e.status === 401) return;
    if (e.status === 403 || e.status === 404) {
      // The API shows operators only what they were granted: say so plainly.
      clear(main);
      document.title = "Not available · orch";
      main.append(h("h1", null, "Not available"),
        h("p", { role: "alert" }, e.status === 404 ? "This does not exist, or you may not see it." : "You may not see this."),
        h("p", null, h("a", { href: "/runbooks" }, "Back to the runbooks")));
      focusHeading();
      return;
    }
    console.error(e);
    main.append(h("p", { class: "error", role: "alert" }, `Could not show this page: ${e.message}`));
  }
  if (ctx.isCurrent()) focusHeading();
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function interceptLinks(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/console/")) return;
  ev.preventDefault();
  if (url.href === location.href) return;
  navigate(url.pathname + url.search + url.hash);
}

function showBanner(status, everOpened) {
  const banner = document.getElementById("live-banner");
  if (status === "down" && state.me) {
    banner.textContent = everOpened
      ? "Live updates are disconnected. Reconnecting… (pages refresh every few seconds meanwhile)"
      : "Live updates are not available. Reconnecting… (pages refresh every few seconds meanwhile)";
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

async function logout() {
  try {
    await del("/session", { quiet401: true });
  } catch (e) {
    if (e.status !== 401) toast(`Log out failed: ${e.message}`, "error");
  }
  setMe(null);
  navigate("/login", { replace: true });
}

async function boot() {
  setUnauthorizedHandler(() => {
    if (!state.me) return;
    setMe(null);
    toast("Your session has ended. Log in again.", "error");
    const here = location.pathname + location.search;
    navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
  });
  document.addEventListener("click", interceptLinks);
  window.addEventListener("popstate", render);
  document.getElementById("logout").addEventListener("click", logout);
  live.onStatus(showBanner);
  try {
    setMe(await get("/me", { quiet401: true }));
  } catch (e) {
    if (e.status !== 401) {
      main.append(h("p", { class: "error", role: "alert" }, `The gateway did not answer: ${e.message}`));
      return;
    }
  }
  render();
}

boot();
