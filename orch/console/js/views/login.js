// The log-in page: user name and password → a session cookie.
import { get, post } from "../api.js";
import { h } from "../dom.js";

export async function loginView(ctx) {
  document.title = "Log in · orch";
  const next = ctx.query.get("next");
  const target = next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/runbooks";
  if (ctx.me) {
    ctx.navigate(target, { replace: true });
    return;
  }
  const error = h("p", { class: "error", id: "login-error", role: "alert", hidden: true });
  const name = h("input", { id: "login-name", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h("form", { class: "login-form", "aria-describedby": "login-error", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "login-name" }, "User name"), name),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"), password),
    error,
    button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!name.value || !password.value) {
      error.textContent = "Enter your user name and password.";
      error.hidden = false;
      (name.value ? password : name).focus();
      return;
    }
    button.disabled = true;
    try {
      const me = await post("/session", { name: name.value, password: password.value }, { quiet401: true });
      await ctx.login(me);
      ctx.navigate(target, { replace: true });
    } catch (e) {
      error.textContent = e.status === 401 ? "Wrong user name or password." : `Could not log in: ${e.message}`;
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  const section = h("section", { class: "login" },
    h("h1", null, h("img", { src: document.querySelector("link[rel=icon]").href, alt: "", width: 32, height: 32 }), " orch console"),
    h("p", { class: "muted" }, "Log in to start, stop and follow runbooks."),
    form);
  ctx.main.append(section);
  name.focus();
  // "Sign in with <provider>" when the gateway has an OpenID provider (a full-page
  // navigation: the provider's page, then back to `target` with a session).
  let methods = null;
  try {
    methods = await get("/session/methods", { quiet401: true });
  } catch {
    return; // an older gateway, or none reachable: the form alone
  }
  if (!methods || !methods.oidc || !ctx.isCurrent()) return;
  const start = `${methods.oidc.start}?next=${encodeURIComponent(target)}`;
  section.append(
    h("p", { class: "login-or muted" }, "or"),
    h("a", { class: "button-link login-sso", id: "login-oidc", href: start }, `Sign in with ${methods.oidc.label}`));
}
