/**
 * Build an element; children are nodes or strings (always set as text, never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
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

/** Replace the main region's content and move focus to it. @param {...Node} nodes */
export function show(...nodes) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  main.replaceChildren(...nodes);
  main.focus();
}
