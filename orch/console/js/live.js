// The live feed: one websocket to /api/v1/live shared by every view.
//
// Views subscribe with a spec ({job: id} | {runbook: id} | {all: true}) and a
// handler. The feed remembers the highest event seq it has seen; after a drop
// (or a "lagged" notice) it reconnects by itself with growing delays and
// re-subscribes with "after": that seq, so the server replays what was missed.
// Events are notices: views re-read the resources they name from the REST API.
// While the feed is down, views are asked to refresh on a slow timer instead.

import { API } from "./api.js";

const MIN_DELAY = 500;
const MAX_DELAY = 10000;
const POLL_WHILE_DOWN = 5000;
const BANNER_AFTER = 1500;
const SEEN_KEEP = 4096;

function keyOf(spec) {
  if (spec.job) return `job:${spec.job}`;
  if (spec.runbook) return `runbook:${spec.runbook}`;
  return "all";
}

function matches(spec, event) {
  if (spec.job) return event.job_id === spec.job;
  if (spec.runbook) return event.runbook_id === spec.runbook;
  return true;
}

export class LiveFeed {
  constructor(url = null) {
    this.url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${API}/live`;
    this.subs = new Map(); // key -> {spec, handlers:Set}
    this.refreshers = new Set();
    this.statusListeners = new Set();
    this.lastSeq = null;
    this.seen = new Set();
    this.seenOrder = [];
    this.ws = null;
    this.state = "idle"; // idle | open | down (the banner shows while down)
    this.delay = MIN_DELAY;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.bannerTimer = null;
    this.everOpened = false;
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.bannerTimer);
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.setState("idle");
  }

  /** Subscribe; returns a function that unsubscribes. */
  subscribe(spec, handler) {
    const key = keyOf(spec);
    let sub = this.subs.get(key);
    if (!sub) {
      sub = { spec, handlers: new Set() };
      this.subs.set(key, sub);
      this.sendSubscribe(sub.spec);
    }
    sub.handlers.add(handler);
    return () => {
      sub.handlers.delete(handler);
      if (sub.handlers.size === 0 && this.subs.get(key) === sub) {
        this.subs.delete(key);
        this.send({ unsubscribe: sub.spec });
      }
    };
  }

  /** fn() is called to re-read everything: on reconnect, after a lag, and on a timer while down. */
  onRefresh(fn) {
    this.refreshers.add(fn);
    return () => this.refreshers.delete(fn);
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.state, this.everOpened);
    return () => this.statusListeners.delete(fn);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const fn of this.statusListeners) fn(state, this.everOpened);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  sendSubscribe(spec) {
    const message = { ...spec };
    if (this.lastSeq !== null) message.after = this.lastSeq;
    this.send({ subscribe: message });
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const wasDown = this.everOpened;
      this.everOpened = true;
      this.delay = MIN_DELAY;
      clearTimeout(this.bannerTimer);
      this.bannerTimer = null;
      clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.setState("open");
      for (const sub of this.subs.values()) this.sendSubscribe(sub.spec);
      if (wasDown) this.refreshAll();
    };
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    if (this.state !== "down" && !this.bannerTimer) {
      // A short blip does not flash the banner.
      this.bannerTimer = setTimeout(() => {
        this.bannerTimer = null;
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) this.setState("down");
      }, BANNER_AFTER);
    }
    if (!this.pollTimer) this.pollTimer = setInterval(() => this.refreshAll(), POLL_WHILE_DOWN);
    const jitter = Math.random() * 0.3 * this.delay;
    this.reconnectTimer = setTimeout(() => this.connect(), this.delay + jitter);
    this.delay = Math.min(MAX_DELAY, this.delay * 2);
  }

  refreshAll() {
    for (const fn of this.refreshers) {
      try {
        fn();
      } catch (e) {
        console.error("refresh failed", e);
      }
    }
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === "events") {
      for (const event of msg.events || []) this.dispatch(event);
    } else if (msg.type === "subscribed") {
      const head = msg.seq ?? msg.last_seq ?? null;
      if (this.lastSeq === null && typeof head === "number") this.lastSeq = head;
      // Whatever changed between a view's first read and this subscription is re-read.
      this.refreshAll();
    } else if (msg.type === "lagged") {
      // The server dropped events for us: resume from where it says we are.
      if (typeof msg.last_seq === "number") this.lastSeq = msg.last_seq;
      if (this.ws) {
        this.ws.onclose = null;
        this.ws.close();
        this.ws = null;
      }
      this.refreshAll();
      this.connect();
    }
  }

  dispatch(event) {
    if (typeof event.seq === "number") {
      if (this.seen.has(event.seq)) return;
      this.seen.add(event.seq);
      this.seenOrder.push(event.seq);
      if (this.seenOrder.length > SEEN_KEEP) this.seen.delete(this.seenOrder.shift());
      if (this.lastSeq === null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    }
    for (const sub of this.subs.values()) {
      if (!matches(sub.spec, event)) continue;
      for (const handler of sub.handlers) {
        try {
          handler(event);
        } catch (e) {
          console.error("live handler failed", e);
        }
      }
    }
  }
}

/**
 * Coalesces re-reads: `refresh(key)` runs `load(key)` at most once at a time per key,
 * once more if asked again meanwhile.
 */
export function coalescer(load) {
  const running = new Map();
  const again = new Set();
  return function refresh(key) {
    if (running.has(key)) {
      again.add(key);
      return running.get(key);
    }
    const p = (async () => {
      try {
        do {
          again.delete(key);
          await load(key);
        } while (again.has(key));
      } finally {
        running.delete(key);
      }
    })();
    running.set(key, p);
    return p;
  };
}
