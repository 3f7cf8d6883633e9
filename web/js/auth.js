/**
 * Where the API is and how candidates sign in.
 *
 * `/config.json` (written at deploy by `python -m infra.web.publish`) names the API's base URL and the
 * Cognito hosted UI. With a hosted UI the app signs in with the authorization code flow and PKCE
 * (RFC 7636, S256 through crypto.subtle; the state is checked on return) and sends the ID token, which
 * the API Gateway Cognito authorizer accepts. Without the file (`make run`) the API is this origin and the
 * dev sign-in stays. Tokens are kept in sessionStorage (this tab only), never localStorage, as the OAuth
 * 2.0 for Browser-Based Apps guidance advises; sign-out revokes the refresh token and ends the hosted UI's
 * session through its logout endpoint.
 */
import { configure, setToken, token } from "./api.js";

/** @typedef {{domain: string, clientId: string, redirectUri: string, logoutUri: string, scopes: string[]}} CognitoConfig */
/**
 * `diagnosticKey`: the app's own first-party key for the free diagnostic's routes (`X-Api-Key`); without a
 * config file (`make run`) the local server's demo key.
 * @typedef {{apiUrl: string, cognito: CognitoConfig|null, diagnosticKey: string}} AppConfig
 */

const PENDING_KEY = "exam-app:oauth-pending";  // {state, verifier, hash} between the redirect and the callback
const REFRESH_KEY = "exam-app:refresh-token";
/** Refresh the ID token when it has less than this left (ms). */
const REFRESH_MARGIN_MS = 120_000;

/** @type {AppConfig} */
let config = { apiUrl: "", cognito: null, diagnosticKey: "" };

/** @returns {AppConfig} */
export function currentConfig() { return config; }

/** Sign-in goes through the Cognito hosted UI (deployed), not the dev screen (make run). */
export function hostedSignIn() { return config.cognito !== null; }

/** @param {Uint8Array} bytes @returns {string} base64url without padding (RFC 4648 section 5) */
export function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A PKCE code verifier: 32 random bytes, 43 characters of base64url. */
export function randomVerifier() { return base64url(crypto.getRandomValues(new Uint8Array(32))); }

/** @param {string} verifier @returns {Promise<string>} the S256 code challenge: base64url(SHA-256(verifier)) */
export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/**
 * The hosted UI's authorize URL.
 * @param {CognitoConfig} c @param {string} state @param {string} challenge
 */
export function authorizeUrl(c, state, challenge) {
  const q = new URLSearchParams({
    response_type: "code", client_id: c.clientId, redirect_uri: c.redirectUri, scope: c.scopes.join(" "),
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  return `${c.domain}/oauth2/authorize?${q}`;
}

/** @param {CognitoConfig} c */
export function logoutUrl(c) {
  return `${c.domain}/logout?${new URLSearchParams({ client_id: c.clientId, logout_uri: c.logoutUri })}`;
}

/** @param {string} jwt @returns {Record<string, any>} the token's claims ({} when it is not a JWT) */
export function claims(jwt) {
  const part = jwt.split(".")[1];
  if (!part) return {};
  try {
    const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
  } catch {
    return {};
  }
}

/** The name shown as "Signed in as": the dev id, or the ID token's email. @param {string} t */
export function displayName(t) {
  if (t.startsWith("dev:")) return t.slice(4);
  const c = claims(t);
  return String(c.email || c["cognito:username"] || "you");
}

/** @param {unknown} raw @returns {AppConfig} */
function parseConfig(raw) {
  /** @type {any} */
  const r = raw;
  const c = r && r.cognito;
  const text = (/** @type {unknown} */ v) => typeof v === "string" && v !== "";
  const cognito = c && text(c.domain) && text(c.clientId) && text(c.redirectUri)
    ? { domain: c.domain.replace(/\/$/, ""), clientId: c.clientId, redirectUri: c.redirectUri,
        logoutUri: text(c.logoutUri) ? c.logoutUri : c.redirectUri,
        scopes: Array.isArray(c.scopes) && c.scopes.length ? c.scopes.map(String) : ["openid", "email"] }
    : null;
  const diagnosticKey = !r ? "demo-partner-key" : text(r.diagnosticKey) ? r.diagnosticKey : "";
  return { apiUrl: r && typeof r.apiUrl === "string" ? r.apiUrl.replace(/\/$/, "") : "", cognito, diagnosticKey };
}

/** Read /config.json (absent under make run: the API is this origin, dev sign-in). */
async function loadConfig() {
  try {
    const res = await fetch("/config.json", { cache: "no-cache" });
    config = res.ok ? parseConfig(await res.json()) : parseConfig(null);
  } catch {
    config = parseConfig(null);
  }
  configure(config.apiUrl, freshToken);
}

/** Send the browser to the hosted UI, remembering the state, the verifier and where the candidate was. */
export async function startSignIn() {
  const c = config.cognito;
  if (!c) return;
  const state = randomVerifier();
  const verifier = randomVerifier();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, hash: location.hash }));
  location.assign(authorizeUrl(c, state, await challengeOf(verifier)));
}

/**
 * POST a form to the hosted UI's token endpoint.
 * @param {CognitoConfig} c @param {Record<string, string>} form @returns {Promise<any>}
 */
async function tokenRequest(c, form) {
  const res = await fetch(`${c.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: c.clientId, ...form }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok || !data.id_token) throw new Error(data.error_description || data.error || `HTTP ${res.status}`);
  return data;
}

/**
 * Back from the hosted UI (`?code=…&state=…`): check the state, exchange the code with the verifier,
 * keep the tokens, and take the code out of the address bar.
 * @returns {Promise<string|null>} an error in words, or null
 */
async function completeSignIn() {
  const c = config.cognito;
  const params = new URLSearchParams(location.search);
  if (!c || !(params.has("code") || params.has("error"))) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", `${location.pathname}${pending && pending.hash ? pending.hash : ""}`);
  if (params.has("error")) return `Sign-in did not complete: ${params.get("error_description") || params.get("error")}. Try again.`;
  if (!pending || params.get("state") !== pending.state) return "Sign-in did not complete: the answer did not match this tab's request. Try again.";
  try {
    const t = await tokenRequest(c, {
      grant_type: "authorization_code", code: String(params.get("code")), redirect_uri: c.redirectUri,
      code_verifier: pending.verifier,
    });
    setToken(t.id_token);
    if (t.refresh_token) sessionStorage.setItem(REFRESH_KEY, t.refresh_token);
    return null;
  } catch (e) {
    return `Sign-in did not complete (${e instanceof Error ? e.message : "error"}). Try again.`;
  }
}

/** @type {Promise<void>|null} */
let refreshing = null;

/**
 * Before each API call: an ID token about to expire is renewed with the refresh token (one request at a
 * time). Null when there is nothing to renew, so the call goes out at once.
 * @returns {Promise<void>|null}
 */
function freshToken() {
  const c = config.cognito;
  const t = token();
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (!c || !t || !refresh || t.startsWith("dev:")) return null;
  const exp = Number(claims(t).exp || 0) * 1000;
  if (exp - Date.now() > REFRESH_MARGIN_MS) return null;
  refreshing ??= tokenRequest(c, { grant_type: "refresh_token", refresh_token: refresh })
    .then((r) => setToken(r.id_token))
    .catch(() => { if (exp <= Date.now()) setToken(null); })  // the API's 401 then asks to sign in again
    .finally(() => { refreshing = null; });
  return refreshing;
}

/**
 * After the app forgot the tab's tokens: revoke the refresh token and end the hosted UI session.
 * @param {string|null} refresh the refresh token read before they were forgotten
 * @returns {boolean} true when the browser is leaving for the hosted UI
 */
export function signOutRedirect(refresh) {
  const c = config.cognito;
  if (!c) return false;
  const leave = () => location.assign(logoutUrl(c));
  if (!refresh) { leave(); return true; }
  fetch(`${c.domain}/oauth2/revoke`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: refresh, client_id: c.clientId }),
  }).catch(() => {}).finally(leave);
  return true;
}

/** The refresh token, read by sign-out before the tab forgets everything. */
export function refreshToken() { return sessionStorage.getItem(REFRESH_KEY); }

/**
 * Start-up: read the config, then finish a sign-in the hosted UI sent back.
 * @returns {Promise<string|null>} an error in words for the sign-in screen, or null
 */
export async function boot() {
  await loadConfig();
  return completeSignIn();
}
