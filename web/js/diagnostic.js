/**
 * The free diagnostic with no account: its start screen, the channel its questions use (the exam screen's, with
 * the app's key and the attempt token), and "save this result to my history" (the claim route) on its result.
 */
import { h } from "./dom.js";
import { anonymous, call, errorText, randomKey, token } from "./api.js";
import { currentConfig } from "./auth.js";

/** Where a diagnostic started in this tab keeps its attempt token. @param {string} attemptId */
const tokenKey = (attemptId) => `exam-app:diagnostic:${attemptId}`;

const EXAM_ID = "clf-c02";

/** A claim asked for before signing in, made right after it. */
export const CLAIM_KEY = "exam-app:claim-after-sign-in";

/** @param {unknown} e */
function why(e) {
  const err = /** @type {any} */ (e);
  if (err && err.status === 403 && err.message === "Forbidden") return "The app's diagnostic key was not accepted. Try again later.";
  return errorText(e);
}

/** The diagnostic's routes, or null when this tab did not start it. @param {string} attemptId */
export function diagnosticChannel(attemptId) {
  const t = sessionStorage.getItem(tokenKey(attemptId));
  return t ? anonymous(attemptId, currentConfig().diagnosticKey, t) : null;
}

/** @param {(hash: string) => void} go @returns {Node[]} */
export function startView(go) {
  if (!currentConfig().diagnosticKey) {
    return [h("h1", {}, "Free diagnostic"), h("p", { class: "error", role: "alert" }, "The free diagnostic is not set up on this site yet.")];
  }
  const errorEl = h("p", { class: "error-text", role: "alert" });
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button", "data-testid": "start-diagnostic", onclick: async () => {
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const d = await call("POST", "/diagnostics", { examId: EXAM_ID },
        { "X-Api-Key": currentConfig().diagnosticKey, "Idempotency-Key": randomKey() });
      sessionStorage.setItem(tokenKey(d.attemptId), d.attemptToken);
      go(`#/diagnostic/${d.attemptId}/1`);
    } catch (e) {
      button.disabled = false;
      button.textContent = "Start the diagnostic";
      errorEl.textContent = `The diagnostic did not start. ${why(e)}`;
    }
  } }, "Start the diagnostic"));
  return [h("h1", {}, "Free diagnostic"),
    h("p", {}, "Ten questions from the four domains, no account and no timer. You get an estimate of your score with "
      + "its likely range, your weakest domain and a study plan; then you can save it to your history."),
    h("p", { class: "muted" }, "Your answers stay in this browser tab until you submit."),
    errorEl, h("p", { class: "controls" }, button, token() ? h("a", { class: "button secondary", href: "#/" }, "Back to your exams") : "")];
}

/** The screen for a diagnostic this tab cannot open. @returns {Node[]} */
export function notHere() {
  return [h("h1", {}, "Free diagnostic"),
    h("p", { class: "error", role: "alert" }, "This diagnostic was started in another tab or browser, and only that one can open it. "
      + "Start a new one here, or go back to the tab you started it in."),
    h("p", {}, h("a", { class: "button", href: "#/diagnostic" }, "Start a new diagnostic"))];
}

/**
 * "Save this result to my history": the claim with the attempt token. Signed out, it first sends the candidate to
 * sign in and claims right after (CLAIM_KEY).
 * @param {string} attemptId @param {(hash: string) => void} go
 * @returns {HTMLElement}
 */
export function claimBox(attemptId, go) {
  const status = h("p", { role: "status", "data-testid": "claim-status" });
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button", "data-testid": "claim" },
    token() ? "Save this result to my history" : "Sign in to save this result to my history"));
  const claim = async () => {
    sessionStorage.removeItem(CLAIM_KEY);
    button.disabled = true;
    status.textContent = "Saving…";
    try {
      await call("POST", `/me/diagnostics/${encodeURIComponent(attemptId)}/claim`, undefined,
        { "X-Attempt-Token": sessionStorage.getItem(tokenKey(attemptId)) || "" }, 2);
      button.hidden = true;
      status.replaceChildren("Saved: this result is in your history. ", h("a", { href: "#/", "data-testid": "to-history" }, "See your exams and history"));
    } catch (e) {
      button.disabled = false;
      status.textContent = `The result was not saved. ${why(e)}`;
    }
  };
  button.addEventListener("click", () => {
    if (token()) { claim(); return; }
    sessionStorage.setItem(CLAIM_KEY, attemptId);
    go("#/");
  });
  if (token() && sessionStorage.getItem(CLAIM_KEY) === attemptId) claim();  // back from signing in
  return h("section", { class: "card", "data-testid": "claim-box" }, h("h2", {}, "Keep this result"),
    h("p", {}, "Save it to your history to see it beside your practice exams and track your progress."), button, status);
}
