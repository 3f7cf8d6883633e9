/** The API client: candidate routes with the bearer token kept in sessionStorage (never localStorage). */
const TOKEN_KEY = "exam-app:token";

/** @returns {string|null} */
export function token() { return sessionStorage.getItem(TOKEN_KEY); }
/** @param {string|null} value */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

/** The API's base URL ("" = this origin, as under make run) and a hook run before each call. */
let base = "";
/** @type {() => Promise<void>|null} */
let beforeCall = () => null;
/**
 * Set by auth.js from /config.json: where the API is, and what renews the token before a call (null when
 * nothing is to be done, so the call still starts at once, with the token it had).
 * @param {string} apiUrl @param {() => Promise<void>|null} hook
 */
export function configure(apiUrl, hook) { base = apiUrl; beforeCall = hook; }

/** Where the token of an attempt started in this tab is kept. @param {string} attemptId */
export const attemptTokenKey = (attemptId) => `exam-app:attempt-token:${attemptId}`;

/**
 * An attempt's routes and what they need: the candidate's own under `/me/attempts` (the bearer token), or an
 * anonymous diagnostic under `/diagnostics` (the app's key and the attempt token; it has no save route, so its
 * answers stay on this device until the submit).
 * @typedef {{path: string, headers: Record<string, string>, saves: boolean}} Channel
 */

/** @param {string} attemptId @returns {Channel} */
export const mine = (attemptId) => ({ path: `/me/attempts/${encodeURIComponent(attemptId)}`, headers: {}, saves: true });

/** @param {string} attemptId @param {string} apiKey @param {string} attemptToken @returns {Channel} */
export const anonymous = (attemptId, apiKey, attemptToken) => ({
  path: `/diagnostics/${encodeURIComponent(attemptId)}`,
  headers: { "X-Api-Key": apiKey, "X-Attempt-Token": attemptToken },
  saves: false,
});

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the service could not be reached
   * @param {string} code the API's error code
   * @param {string} message
   * @param {number} retryAfter seconds from the Retry-After header (0 when absent)
   */
  constructor(status, code, message, retryAfter) {
    super(message); this.status = status; this.code = code; this.retryAfter = retryAfter;
  }
  /** Worth repeating the same request later: offline, throttled, busy. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500
      || this.code === "attempt_busy" || this.code === "idempotency_in_progress";
  }
}

/** A random key for `Idempotency-Key` (16-128 of A-Z a-z 0-9 _ -). */
export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {number} seconds */
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * One API call. Throws ApiError (status 0 when the network failed). A call that is safe to repeat
 * (every GET; a start with an Idempotency-Key) is retried up to `retries` times when the answer was
 * 503, 429 or "busy", after the answer's Retry-After (1 s when absent).
 * @param {string} method @param {string} path @param {any} [body]
 * @param {Record<string,string>} [extraHeaders]
 * @param {number} [retries]
 * @returns {Promise<any>}
 */
export async function call(method, path, body, extraHeaders = {}, retries = method === "GET" || "Idempotency-Key" in extraHeaders ? 3 : 0) {
  for (let left = retries; ; left--) {
    try {
      return await callOnce(method, path, body, extraHeaders);
    } catch (e) {
      if (!(e instanceof ApiError) || !e.retryable || e.status === 0 || left <= 0) throw e;
      await sleep(Math.min(e.retryAfter || 1, 10));
    }
  }
}

/**
 * @param {string} method @param {string} path @param {any} body
 * @param {Record<string,string>} extraHeaders
 * @returns {Promise<any>}
 */
async function callOnce(method, path, body, extraHeaders) {
  /** @type {Record<string,string>} */
  const headers = { ...extraHeaders };
  const renewing = beforeCall();
  if (renewing) await renewing;
  const t = token();
  if (t && path.startsWith("/me/")) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "offline", "The service could not be reached.", 0);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = data.error || {};
    throw new ApiError(res.status, err.code || "error", err.message || data.message || `HTTP ${res.status}`,
      Number(res.headers.get("Retry-After") || 0));
  }
  return data;
}

/**
 * An error in words, with what to do about it.
 * @param {unknown} e
 * @returns {string}
 */
export function errorText(e) {
  if (!(e instanceof ApiError)) return "Something went wrong in this page. Reload it to try again.";
  if (e.status === 0) return "The service cannot be reached. Check your connection, then try again.";
  if (e.status === 401 || e.status === 403) return "Your sign-in was not accepted. Sign out and sign in again.";
  if (e.code === "attempt_not_found") return "This attempt was not found. It may belong to another account.";
  if (e.code === "attempt_not_submitted") return "The review opens after the exam is submitted.";
  if (e.code === "nothing_to_practice") {
    return "There is nothing to practise in this set yet: a missed set needs questions you answered wrongly or flagged, "
      + "an unseen set questions you have not been served. Take a full exam or choose another set.";
  }
  if (e.status === 429) return "Too many requests just now. Wait a moment, then try again.";
  if (e.status >= 500) return `The service is busy. Try again${e.retryAfter ? ` in ${e.retryAfter} seconds` : " shortly"}.`;
  return `${e.message} (${e.code})`;
}
