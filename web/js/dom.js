/**
 * Build an element; children are nodes or strings (always set as text, never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  return /** @type {HTMLElement} */ (fill(document.createElement(tag), props, children));
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Build an SVG element, the same way as h().
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {SVGElement}
 */
export function s(tag, props = {}, ...children) {
  return /** @type {SVGElement} */ (fill(document.createElementNS(SVG_NS, tag), props, children));
}

/**
 * @param {Element} el
 * @param {Record<string, any>} props
 * @param {(Node|string|null|undefined|false)[]} children
 * @returns {Element}
 */
function fill(el, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/**
 * Replace the main region's content, title the page (`title`, else the screen's h1) and move focus to the
 * main region (or to `focus`).
 * @param {Node[]} nodes
 * @param {HTMLElement} [focus]
 * @param {string} [title]
 */
export function showAll(nodes, focus, title) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  main.replaceChildren(...nodes);
  const heading = title || main.querySelector("h1")?.textContent || "";
  document.title = heading ? `${heading} · Exam practice` : "Exam practice";
  (focus || main).focus();
}

/** Replace the main region's content and move focus to it. @param {...Node} nodes */
export function show(...nodes) { showAll(nodes); }

/** Say something to screen readers through the page's polite live region. @param {string} text */
export function announce(text) {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = "";
  // a fresh text node after a tick, so the same words twice are announced twice
  setTimeout(() => { live.textContent = text; }, 30);
}

/** @param {number} seconds @returns {string} h:mm:ss or m:ss */
export function clock(seconds) {
  const t = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** Only http(s) links from item data become hrefs. @param {unknown} url @returns {string|null} */
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}
