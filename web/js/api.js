/** The API client: candidate routes with the bearer token kept in sessionStorage (never localStorage). */
const TOKEN_KEY = "exam-app:token";

/** @returns {string|null} */
export function token() { return sessionStorage.getItem(TOKEN_KEY); }
/** @param {string|null} value */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {number} retryAfter */
  constructor(status, code, message, retryAfter) {
    super(message); this.status = status; this.code = code; this.retryAfter = retryAfter;
  }
}

/**
 * @param {string} method @param {string} path @param {any} [body]
 * @returns {Promise<any>}
 */
export async function call(method, path, body) {
  /** @type {Record<string,string>} */
  const headers = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = data.error || {};
    throw new ApiError(res.status, err.code || "error", err.message || `HTTP ${res.status}`, Number(res.headers.get("Retry-After") || 0));
  }
  return data;
}
