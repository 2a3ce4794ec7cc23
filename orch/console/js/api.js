// The console's only way to the system: the REST API under /api/v1.
// Cookie authentication; every write carries the session's CSRF token.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http-error";
    this.path = err.path ?? null;
    this.faults = err.faults || (err.path ? [{ path: err.path, message: err.message, code: err.code }] : []);
  }
}

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token;
}

/** Called on any 401 (the session expired or was ended elsewhere). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * request("GET", "/jobs", {query: {status: "running"}}) → decoded JSON (null for 204).
 * `raw` sends a JSON body as the given text, unchanged (the designer's editor content).
 */
export async function request(method, path, { body, raw, query, signal, quiet401 = false } = {}) {
  const url = new URL(API + path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined || raw !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const resp = await fetch(url, {
    method,
    headers,
    body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const error = new ApiError(resp.status, data);
    if (resp.status === 401 && !quiet401) onUnauthorized(error);
    throw error;
  }
  return data;
}

export const get = (path, opts) => request("GET", path, opts);
export const post = (path, body, opts) => request("POST", path, { ...opts, body: body ?? {} });
export const del = (path, opts) => request("DELETE", path, opts);

/** Every page of a list ({items, next}), up to `max` items. */
export async function getAll(path, { query, signal, max = 5000 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { query: { ...query, cursor, limit: 500 }, signal });
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}

/** True when the error means "this gateway has no such route" (an older API). */
export function isMissingRoute(error) {
  // aiohttp's own 404 ("Not Found") for an unknown path, unlike a handler's "no job …".
  return error instanceof ApiError
    && ((error.status === 404 && error.message === "Not Found") || error.status === 405);
}

let capabilities = null;

/**
 * What this gateway's API accepts, read once from its OpenAPI document:
 * `query("list_jobs")` → the set of query parameter names of that operation.
 * Lets the console use filters as the API grows without guessing.
 */
export function apiCapabilities() {
  if (!capabilities) {
    capabilities = get("/openapi.json").then((doc) => {
      const ops = new Map();
      const routes = new Set();
      for (const [path, methods] of Object.entries(doc.paths || {})) {
        for (const [method, op] of Object.entries(methods)) {
          routes.add(`${method.toUpperCase()} ${path}`);
          if (op && op.operationId) ops.set(op.operationId, op);
        }
      }
      return {
        has: (operationId) => ops.has(operationId),
        /** route("POST", "/api/v1/jobs/{id}/rerun") — does the API have it? */
        route: (method, path) => routes.has(`${method} ${path}`),
        query: (operationId) => new Set(((ops.get(operationId) || {}).parameters || [])
          .filter((p) => p.in === "query").map((p) => p.name)),
      };
    }).catch((e) => {
      capabilities = null;
      throw e;
    });
  }
  return capabilities;
}
