// Building DOM nodes from data without innerHTML: every text goes in as text,
// so nothing a runbook or a job carries can become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Append children (nested arrays, text; null/false skipped) to an element. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** h("a", {href: "/x"}, "text", child…) — an HTML element. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** s("rect", {x: 1}) — an SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/**
 * Redraw `container` with `draw()` and give focus back to the element that had it
 * (found again by its id or data-activity), so live redraws do not lose the keyboard.
 */
export function keepFocus(container, draw) {
  const active = document.activeElement;
  let key = null;
  if (active && active !== document.body && container.contains(active)) {
    if (active.id) key = `#${CSS.escape(active.id)}`;
    else if (active.dataset && active.dataset.activity) key = `[data-activity="${CSS.escape(active.dataset.activity)}"]`;
  }
  draw();
  if (key) {
    const again = container.querySelector(key);
    if (again && again !== document.activeElement) again.focus({ preventScroll: true });
  }
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
