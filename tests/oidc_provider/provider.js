// A real OpenID provider for orch's tests: the certified `oidc-provider` package on
// 127.0.0.1, with open dynamic client registration (each test registers its gateway's
// callback URL), the users of users.json with their groups, a `groups` scope/claim,
// and a plain username/password form as its login interaction (consent is implied for
// every client, as for a company's own applications).
//
//   node provider.js [--port N] [--issuer URL]
//
// prints one JSON line {"issuer", "port"} on stdout once it listens, then logs to
// stderr. Fault injection for the tests, on the same port (never exposed elsewhere):
// POST /__test/faults {"tamper_id_token": bool, "hang": [path prefixes]} and
// POST /__test/faults {} to clear them; POST /__test/groups {"username", "groups"} changes
// a user's groups (as a directory admin would), until the provider stops.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";

import Provider from "oidc-provider";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    issuer: { type: "string" },
    users: { type: "string", default: new URL("./users.json", import.meta.url).pathname },
  },
});

const USERS = JSON.parse(readFileSync(args.users, "utf8"));
const byName = new Map(USERS.map((u) => [u.username, u]));
const bySub = new Map(USERS.map((u) => [u.sub, u]));

const faults = { tamper_id_token: false, hang: [] };
const hung = new Set();

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId, error) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test provider · Sign in</title></head>
<body>
<h1>Test provider</h1>
<p>Sign in to continue to ${escape(clientId)}.</p>
${error ? `<p role="alert" id="provider-error">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="username">Username</label> <input id="username" name="username" autocomplete="off" autofocus>
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button type="submit">Sign in</button>
</form>
</body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}

function tamper(jwt) {
  // flip bits in the signature's first bytes: same header and claims, bad signature
  const [header, payload, signature] = jwt.split(".");
  const raw = Buffer.from(signature, "base64url");
  for (let i = 0; i < 8; i += 1) raw[i] ^= 0xff;
  return `${header}.${payload}.${raw.toString("base64url")}`;
}

function send(res, status, type, body) {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(args.port), "127.0.0.1", resolve));
const { port } = server.address();
const issuer = args.issuer || `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: `test-${randomBytes(4).toString("hex")}`, use: "sig", alg: "RS256" };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username"],
    email: ["email", "email_verified"],
    groups: ["groups"],
  },
  scopes: ["openid", "profile", "email", "groups"],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: user.name,
          preferred_username: user.username,
          email: user.email,
          email_verified: true,
          groups: user.groups,
        };
      },
    };
  },
  // a first-party provider: every client gets what it asked for, without a consent page
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid profile email groups");
    await grant.save();
    return grant;
  },
  async renderError(ctx, out) {
    ctx.type = "html";
    ctx.body = `<!doctype html><title>Test provider · error</title><h1>${escape(out.error)}</h1><p>${escape(out.error_description || "")}</p>`;
  },
});

// the token endpoint's answer, after the provider made it: the tamper fault
provider.use(async (ctx, next) => {
  await next();
  if (faults.tamper_id_token && ctx.path === "/token" && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token) };
  }
});

const callback = provider.callback();

async function interaction(req, res, url) {
  const parts = url.pathname.split("/").filter(Boolean); // interaction, uid[, login]
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== parts[1]) return send(res, 400, "text/plain", "interaction mismatch");
  const clientId = details.params.client_id;
  if (req.method === "GET" && parts.length === 2) {
    return send(res, 200, "text/html; charset=utf-8", loginPage(details.uid, clientId));
  }
  if (req.method === "POST" && parts[2] === "login") {
    const form = await readForm(req);
    const user = byName.get(form.get("username") || "");
    if (!user || user.password !== form.get("password")) {
      return send(res, 401, "text/html; charset=utf-8",
        loginPage(details.uid, clientId, "Wrong username or password."));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } },
      { mergeWithLastSubmission: false });
  }
  return send(res, 404, "text/plain", "no such page");
}

server.on("request", async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname === "/__test/faults" && req.method === "POST") {
      const body = await readJson(req);
      faults.tamper_id_token = Boolean(body.tamper_id_token);
      faults.hang = Array.isArray(body.hang) ? body.hang : [];
      if (faults.hang.length === 0) {
        for (const r of hung) r.destroy();
        hung.clear();
      }
      return send(res, 200, "application/json", JSON.stringify(faults));
    }
    if (url.pathname === "/__test/groups" && req.method === "POST") {
      const body = await readJson(req);
      const user = byName.get(body.username);
      if (!user || !Array.isArray(body.groups)) return send(res, 400, "text/plain", "no such user");
      user.groups = body.groups.map(String);
      return send(res, 200, "application/json", JSON.stringify(user.groups));
    }
    if (faults.hang.some((prefix) => url.pathname.startsWith(prefix))) {
      hung.add(res); // answered never: the caller's timeout must end the wait
      res.on("close", () => hung.delete(res));
      return undefined;
    }
    if (url.pathname.startsWith("/interaction/")) return await interaction(req, res, url);
    return callback(req, res);
  } catch (err) {
    process.stderr.write(`provider error: ${err.stack || err}\n`);
    if (!res.headersSent) send(res, 500, "text/plain", String(err.message || err));
    return undefined;
  }
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    for (const r of hung) r.destroy();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
