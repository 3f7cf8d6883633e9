import { h, show } from "./dom.js";
import { call, token, setToken } from "./api.js";

/** The dev sign-in: a candidate id turned into the `dev:` bearer token the local server accepts. */
function signIn() {
  const input = /** @type {HTMLInputElement} */ (h("input", { type: "text", id: "cid", name: "cid", autocomplete: "username", required: "" }));
  const form = h("form", {
    onsubmit: (/** @type {Event} */ e) => {
      e.preventDefault();
      const id = input.value.trim();
      if (!id) return;
      setToken(`dev:${id}`);
      route();
    },
  }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "Local development: any candidate id."),
    h("label", { for: "cid" }, "Candidate id "), input, " ", h("button", { type: "submit" }, "Sign in"));
  show(form);
}

async function home() {
  const who = /** @type {HTMLElement} */ (document.getElementById("who"));
  who.replaceChildren(h("button", { class: "secondary", onclick: () => { setToken(null); route(); } }, "Sign out"));
  show(h("p", {}, "Loading…"));
  try {
    const [exams, open, history] = await Promise.all([
      call("GET", "/exams"),
      call("GET", "/me/attempts?status=in_progress"),
      call("GET", "/me/attempts?limit=20"),
    ]);
    const examCards = exams.exams.map((/** @type {any} */ x) => h("section", { class: "card" },
      h("h2", {}, x.title),
      h("p", { class: "muted" }, `${x.questionCount} questions, ${x.durationMinutes} minutes, pass at ${x.passingScore}`)));
    const items = (open.attempts || open.items || []);
    const resume = items.length
      ? h("section", { class: "card" }, h("h2", {}, "In progress"),
          ...items.map((/** @type {any} */ a) => h("p", {}, `${a.mode} attempt started ${a.startedAt}`)))
      : null;
    const rows = (history.attempts || history.items || []).map((/** @type {any} */ a) =>
      h("tr", {}, h("td", {}, String(a.mode)), h("td", {}, String(a.startedAt || "")), h("td", {}, String(a.status)),
        h("td", {}, a.scaledScore != null ? String(a.scaledScore) : "")));
    show(h("h1", {}, "Your exams"), ...examCards, resume || "",
      h("h2", {}, "History"),
      rows.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Mode"), h("th", {}, "Started"), h("th", {}, "Status"), h("th", {}, "Score"))), h("tbody", {}, ...rows))
        : h("p", { class: "muted" }, "No attempts yet."));
  } catch (e) {
    show(h("p", { class: "error", role: "alert" }, `Could not load your exams: ${(/** @type {Error} */ (e)).message}. Reload to try again.`));
  }
}

function route() {
  if (!token()) signIn(); else home();
}

window.addEventListener("hashchange", route);
route();
