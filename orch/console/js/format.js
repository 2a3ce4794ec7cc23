// Shared presentation: statuses, times, durations.
import { h } from "./dom.js";

export const FINISHED = new Set(["success", "warning", "failed", "stopped"]);
export const JOB_STATUSES = ["queued", "running", "success", "warning", "failed", "stopped"];

const STATUS_TEXT = {
  queued: "queued", running: "running", success: "success", warning: "warning",
  failed: "failed", stopped: "stopped", interrupted: "interrupted", up: "up", down: "down",
  draining: "draining", maintenance: "maintenance", pending: "pending", approved: "approved",
  rejected: "rejected", expired: "expired", unknown: "unknown",
};

/** A status badge: colour plus the word (colour is never the only signal). */
export function badge(status) {
  const known = status in STATUS_TEXT ? status : "unknown";
  return h("span", { class: ["badge", `st-${known}`], dataset: { status: status || "" } },
    STATUS_TEXT[known] === "unknown" ? String(status ?? "unknown") : STATUS_TEXT[known]);
}

export function parseTime(text) {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

const dateFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** A <time> with the local rendering and the exact UTC value as its datetime and title. */
export function time(text) {
  const t = parseTime(text);
  if (t === null) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: text, title: new Date(t).toISOString() }, dateFmt.format(t));
}

/** A <time> showing the local clock with milliseconds (log lines). */
export function clock(text) {
  const t = parseTime(text);
  if (t === null) return h("span", { class: "muted" }, "—");
  const d = new Date(t);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return h("time", { datetime: text, title: d.toISOString() },
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`);
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${Math.round(sec % 60)} s`;
  const hr = Math.floor(min / 60);
  return `${hr} h ${min % 60} min`;
}

export function between(start, end, now = Date.now()) {
  const a = parseTime(start);
  if (a === null) return null;
  const b = parseTime(end) ?? now;
  return b - a;
}

/** "12 s ago" style age of a time. */
export function age(text, now = Date.now()) {
  const t = parseTime(text);
  if (t === null) return "—";
  return `${duration(Math.max(0, now - t))} ago`;
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : "—";
}

/** datetime-local value ("2024-01-31T13:00:05") → RFC 3339 UTC, or "" when empty. */
export function localToUtc(value) {
  if (!value) return "";
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? value : t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3339 → datetime-local value in the browser's zone. */
export function utcToLocal(text) {
  const t = parseTime(text);
  if (t === null) return "";
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

let toastTimer = null;
/** A short message in the corner (also read by screen readers). */
export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = "toast"; }, 5000);
}
