/** The app's router: #/ home, #/exam/<id>/<n|submit> (a full exam or a practice set), #/result/<id>, #/review/<id>,
 * and, with no account needed, #/diagnostic and #/diagnostic/<id>/<n|submit|result|review>. */
import { h, show, showAll } from "./dom.js";
import { attemptTokenKey, call, errorText, mine, randomKey, token, setToken } from "./api.js";
// the screens' modules load when first needed, so the sign-in screen stays light (the first screen's budget)
const examModule = () => import("./exam.js");
const resultModule = () => import("./result.js");
import { CLAIM_KEY, claimBox, diagnosticChannel, notHere, startView } from "./diagnostic.js";
import { boot, displayName, hostedSignIn, refreshToken, signOutRedirect, startSignIn } from "./auth.js";

/** @type {() => void} */
let leave = () => {};
/** Results just received from a submit, so the result screen needs no second request. @type {Map<string, any>} */
const results = new Map();

/** @param {string} hash */
function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

const app = {
  go,
  /** @param {string} attemptId @param {any} result */
  showResult(attemptId, result) {
    if (result) results.set(attemptId, result);
    go(`#/result/${attemptId}`);
  },
};

/** Why the last hosted sign-in failed, shown on the sign-in screen. @type {string|null} */
let signInError = null;

/** The dev sign-in: a candidate id turned into the `dev:` bearer token the local server accepts. */
function signIn() {
  if (hostedSignIn()) {  // deployed: Cognito's hosted UI (auth.js)
    show(h("h1", {}, "Sign in"), signInError ? h("p", { class: "error", role: "alert" }, signInError) : "",
      h("p", {}, h("button", { type: "button", "data-testid": "sign-in", onclick: startSignIn }, "Sign in or create an account")),
      ...signInExtras());
    return;
  }
  const input = /** @type {HTMLInputElement} */ (h("input", { type: "text", id: "cid", name: "cid", autocomplete: "username", required: "", "data-testid": "candidate-id" }));
  const form = h("form", {
    onsubmit: (/** @type {Event} */ e) => {
      e.preventDefault();
      const id = input.value.trim();
      if (!id) return;
      setToken(`dev:${id}`);
      route();
    },
  }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "Local development: any candidate id."),
    h("label", { for: "cid" }, "Candidate id "), input, " ", h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in"));
  show(form, ...signInExtras());
}

/** Under the sign-in: why it is asked for (a diagnostic to save), and the diagnostic that needs no account. */
function signInExtras() {
  return [sessionStorage.getItem(CLAIM_KEY)
    ? h("p", { class: "card", "data-testid": "claim-pending" }, "Sign in, and your diagnostic result is saved to your history.")
    : h("p", {}, "No account yet? ", h("a", { href: "#/diagnostic", "data-testid": "open-diagnostic" }, "Take the free 10-question diagnostic"), ": no sign-in needed.")];
}

/**
 * Start a full exam or a practice set (`body` as POST /me/attempts takes it).
 * @param {any} body @param {boolean} study @param {HTMLButtonElement} button @param {HTMLElement} errorEl
 */
async function startExam(body, study, button, errorEl) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const [a, { positionKey, studyKey }] = await Promise.all([
      call("POST", "/me/attempts", body, { "Idempotency-Key": randomKey() }), examModule()]);
    sessionStorage.setItem(positionKey(a.attemptId), "1");
    if (body.mode !== "full" && !study) sessionStorage.setItem(studyKey(a.attemptId), "0");
    // the attempt token opens the problem-report route (there is no /me one); kept for this tab only
    sessionStorage.setItem(attemptTokenKey(a.attemptId), a.attemptToken);
    go(`#/exam/${a.attemptId}/1`);
  } catch (e) {
    button.disabled = false;
    button.textContent = label;
    errorEl.textContent = `${body.mode === "full" ? "The exam" : "The practice set"} did not start. ${errorText(e)}`;
  }
}

async function home() {
  show(h("p", {}, "Loading…"));
  try {
    const [exams, open, history, progress, { homeView }, { positionKey }] = await Promise.all([
      call("GET", "/exams"),
      call("GET", "/me/attempts?status=in_progress"),
      call("GET", "/me/attempts?limit=10"),
      call("GET", "/me/progress").catch(() => null),  // home still works without the trends
      import("./home.js"),
      examModule(),
    ]);
    show(...homeView(exams, open, history, progress, {
      start: startExam,
      position: (id) => sessionStorage.getItem(positionKey(id)) || "1",
    }));
  } catch (e) {
    show(h("p", { class: "error", role: "alert" }, `Could not load your exams. ${errorText(e)}`));
  }
}

/**
 * The result of an attempt: the one a submit just returned, else read from its channel (an attempt still in
 * progress goes back to its questions).
 * @param {string} id @param {import("./api.js").Channel} channel @param {string} base the attempt's screen URL
 * @param {Node[]} extra
 */
async function result(id, channel = mine(id), base = `#/exam/${id}`, extra = []) {
  let r = results.get(id);
  if (!r) {
    show(h("p", {}, "Loading your result…"));
    try {
      const attempt = await call("GET", channel.path, undefined, channel.headers);
      if (attempt.status === "in_progress") { go(`${base}/1`); return; }
      r = attempt.result;
    } catch (e) {
      show(h("p", { class: "error", role: "alert" }, errorText(e)));
      return;
    }
  }
  const { isPractice, practiceResultView, resultView } = await resultModule();
  const ctx = { attemptId: id, reviewHref: channel.saves ? undefined : `${base}/review`, extra };
  const view = isPractice(r) ? practiceResultView(r, ctx) : resultView(r, ctx);
  showAll(view.nodes, view.focus);
}

/**
 * The per-question review of a submitted attempt.
 * @param {string} id @param {import("./api.js").Channel} channel
 * @param {{resultHref?: string, reports?: boolean}} [where]
 */
async function review(id, channel = mine(id), where = {}) {
  show(h("p", {}, "Loading the review…"));
  try {
    const [data, mod] = await Promise.all([call("GET", `${channel.path}/review`, undefined, channel.headers), import("./review.js")]);
    const view = mod.reviewView(data, where);
    showAll(view.nodes, view.focus);
  } catch (e) {
    show(h("p", { class: "error", role: "alert" }, errorText(e)), h("p", {}, h("a", { href: "#/" }, "Back to your exams")));
  }
}

/** The anonymous diagnostic's screens: #/diagnostic (start), then its questions, result and review. @param {string[]} parts */
async function diagnostic(parts) {
  const id = parts[1], where = parts[2] || "1";
  const none = () => {};
  if (!id) { show(...startView(go)); return none; }
  const channel = diagnosticChannel(id);
  if (!channel) { show(...notHere()); return none; }
  const base = `#/diagnostic/${id}`;
  if (where === "review") { await review(id, channel, { resultHref: `${base}/result`, reports: false }); return none; }
  if (where === "result") { await result(id, channel, base, [claimBox(id, go)]); return none; }
  const { openExam } = await examModule();
  return openExam(id, where, {
    go,
    showResult(attemptId, r) { if (r) results.set(attemptId, r); go(`${base}/result`); },
  }, { channel, hashBase: base });
}

/** Sign out: forget the token and everything this tab kept for the candidate (queues, positions, attempt tokens). */
function signOut() {
  leave();  // the exam screen sends what is queued, still with the token
  leave = () => {};
  const refresh = refreshToken();
  setToken(null);
  for (const key of Object.keys(sessionStorage)) if (key.startsWith("exam-app:")) sessionStorage.removeItem(key);
  if (!signOutRedirect(refresh)) go("#/");  // deployed: through the hosted UI's logout endpoint
}

function header() {
  const who = /** @type {HTMLElement} */ (document.getElementById("who"));
  const t = token();
  who.replaceChildren(t
    ? h("span", {}, h("span", { class: "muted" }, `Signed in as ${displayName(t)} `),
        h("button", { type: "button", class: "secondary", "data-testid": "sign-out", onclick: signOut }, "Sign out"))
    : "");
}

let routing = 0;

async function route() {
  const turn = ++routing;
  leave();
  leave = () => {};
  header();
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "diagnostic") {
    const stop = await diagnostic(parts);
    if (turn === routing) leave = stop; else stop();
    return;
  }
  if (!token()) { signIn(); return; }
  const claim = sessionStorage.getItem(CLAIM_KEY);
  if (claim) { go(`#/diagnostic/${claim}/result`); return; }  // signed in to save a diagnostic: its result claims it
  if (parts[0] === "exam" && parts[1]) {
    const { openExam } = await examModule();
    const stop = await openExam(parts[1], parts[2] || "", app);
    if (turn === routing) leave = stop; else stop();  // the candidate moved on while it loaded
  }
  else if (parts[0] === "result" && parts[1]) await result(parts[1]);
  else if (parts[0] === "review" && parts[1]) await review(parts[1]);
  else await home();
}

boot().then((error) => {  // /config.json, and a sign-in coming back from the hosted UI
  signInError = error;
  window.addEventListener("hashchange", route);
  route();
});
