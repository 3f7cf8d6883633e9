/** Per-question review after submission: choice, key, an explanation per option, the task statement and the
 * reference; filters for wrong, flagged and domain. Built from GET /me/attempts/{id}/review. */
import { h, safeUrl, announce } from "./dom.js";
import { attemptTokenKey, call, errorText } from "./api.js";

const REASONS = [["wrong_key", "The key is wrong"], ["unclear", "The question is unclear"],
  ["outdated", "The facts are out of date"], ["typo", "A typo"], ["other", "Something else"]];

/**
 * "Report a problem": through the attempt-token route, so only in the tab that started the attempt.
 * @param {string} attemptId @param {string} questionId @param {number} number @param {string} attemptToken
 */
function reportBox(attemptId, questionId, number, attemptToken) {
  const id = `r-${questionId}`;
  const reason = /** @type {HTMLSelectElement} */ (h("select", { id: `${id}-reason`, "data-testid": "report-reason" },
    ...REASONS.map(([v, text]) => h("option", { value: v }, text))));
  const comment = /** @type {HTMLTextAreaElement} */ (h("textarea", { id: `${id}-comment`, maxlength: "500", rows: "3", "data-testid": "report-comment" }));
  const status = h("p", { role: "status", "data-testid": "report-status" });
  const send = /** @type {HTMLButtonElement} */ (h("button", { type: "submit", "data-testid": "report-send" }, "Send the report"));
  const form = h("form", { onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault();
    send.disabled = true;
    status.textContent = "Sending…";
    try {
      await call("POST", `/attempts/${encodeURIComponent(attemptId)}/questions/${encodeURIComponent(questionId)}/report`,
        { reason: reason.value, comment: comment.value.trim() }, { "X-Attempt-Token": attemptToken });
      status.textContent = "Thank you: the report was sent to the people who maintain the questions.";
    } catch (err) {
      send.disabled = false;
      status.textContent = `The report was not sent. ${errorText(err)}`;
    }
  } },
  h("p", {}, h("label", { for: `${id}-reason` }, "What is wrong? "), reason),
  h("p", {}, h("label", { for: `${id}-comment` }, "Details (optional, up to 500 characters)"), h("br"), comment),
  send, status);
  return h("details", { class: "report", "data-testid": "report" },
    h("summary", {}, `Report a problem with question ${number}`), form);
}

/**
 * @typedef {{id: string, text: string, correct: boolean, selected: boolean, explanation: string}} ReviewOption
 * @typedef {{number: number, questionId: string, type: string, selectCount: number, stem: string,
 *   options: ReviewOption[], selected: string[], key: string[], correct: boolean, flagged: boolean,
 *   domainId: string, domainName: string, taskStatement?: {id: string, text: string}, reference?: string}} ReviewQuestion
 */

/**
 * One question's options with the candidate's choice, the key and every option's explanation, then the answer,
 * the domain, the task statement and the reference link: the review's card body, and study mode's feedback
 * (a check answers in the same shape).
 * @param {{options: ReviewOption[], selected: string[], key: string[], domainName: string,
 *   taskStatement?: {id: string, text: string}, reference?: string|null}} q
 * @returns {Node[]}
 */
export function explained(q) {
  const url = safeUrl(q.reference);
  return /** @type {Node[]} */ ([
    h("ul", { class: "review-options" }, ...q.options.map((o) => h("li", {
      class: `review-option${o.correct ? " key" : ""}${o.selected ? " chosen" : ""}`, "data-testid": "review-option",
    },
      h("p", {}, h("strong", {}, `${o.id.toUpperCase()}. `), o.text),
      h("p", { class: "marks" },
        o.selected ? h("span", { class: "tag chosen-tag" }, "Your choice") : "",
        o.correct ? h("span", { class: "tag key-tag" }, "Correct answer") : ""),
      h("p", { class: "muted small", "data-testid": "explanation" }, o.explanation)))),
    h("p", { class: "muted small" }, `Your answer: ${q.selected.length ? q.selected.join(", ").toUpperCase() : "none"} · Key: ${q.key.join(", ").toUpperCase()}`),
    h("p", { class: "small" }, `${q.domainName}`, q.taskStatement ? ` · Task ${q.taskStatement.id}: ${q.taskStatement.text}` : ""),
    url ? h("p", { class: "small" }, h("a", { href: url, rel: "noopener noreferrer", target: "_blank", "data-testid": "reference" }, "Read the AWS documentation on this")) : "",
  ].filter((n) => n !== ""));
}

/** @param {ReviewQuestion} q @param {string} attemptId @param {string|null} attemptToken */
function questionCard(q, attemptId, attemptToken) {
  const verdict = !q.selected.length ? "Not answered" : q.correct ? "Correct" : "Incorrect";
  return h("article", { class: `card review-q ${q.correct ? "right" : "wrong"}`, "data-testid": "review-q",
    "data-correct": String(q.correct), "data-flagged": String(q.flagged), "data-domain-id": q.domainId },
    h("h2", { class: "small" }, `Question ${q.number} · ${verdict}${q.flagged ? " · Flagged" : ""}`),
    h("p", { class: "stem", "data-testid": "review-stem" }, q.stem),
    ...explained(q),
    attemptToken ? reportBox(attemptId, q.questionId, q.number, attemptToken) : "");
}

/**
 * @param {{attemptId: string, questions: ReviewQuestion[]}} review
 * @param {{resultHref?: string, reports?: boolean}} [where] the result's link; `reports: false` where the
 *   attempt-token report route does not apply (the anonymous diagnostic)
 * @returns {{nodes: Node[], focus: HTMLElement}}
 */
export function reviewView(review, where = {}) {
  const qs = review.questions;
  const reports = where.reports !== false;
  const attemptToken = reports ? sessionStorage.getItem(attemptTokenKey(review.attemptId)) : null;
  const title = h("h1", { tabindex: "-1" }, "Review your answers");
  const show = /** @type {HTMLSelectElement} */ (h("select", { id: "f-show", "data-testid": "filter-show" },
    h("option", { value: "all" }, "All questions"),
    h("option", { value: "wrong" }, "Wrong or unanswered"),
    h("option", { value: "flagged" }, "Flagged")));
  const domains = [...new Map(qs.map((q) => [q.domainId, q.domainName])).entries()];
  const domain = /** @type {HTMLSelectElement} */ (h("select", { id: "f-domain", "data-testid": "filter-domain" },
    h("option", { value: "" }, "All domains"), ...domains.map(([id, name]) => h("option", { value: id }, name))));
  const count = h("p", { role: "status", "data-testid": "review-count" });
  const list = h("div", { class: "review-list" });
  const apply = () => {
    const picked = qs.filter((q) => (show.value === "all" || (show.value === "wrong" ? !q.correct : q.flagged))
      && (!domain.value || q.domainId === domain.value));
    list.replaceChildren(...(picked.length ? picked.map((q) => questionCard(q, review.attemptId, attemptToken)) : [h("p", { class: "muted" }, "No question matches these filters.")]));
    count.textContent = `Showing ${picked.length} of ${qs.length} questions.`;
  };
  show.addEventListener("change", () => { apply(); announce(count.textContent || ""); });
  domain.addEventListener("change", () => { apply(); announce(count.textContent || ""); });
  apply();
  const wrong = qs.filter((q) => !q.correct).length, flagged = qs.filter((q) => q.flagged).length;
  return {
    nodes: [title,
      h("p", {}, `${qs.length - wrong} correct, ${wrong} wrong or unanswered, ${flagged} flagged.`),
      h("p", { class: "muted", hidden: attemptToken || !reports ? "" : null }, "To report a problem with a question, open this review in the browser tab where you took the exam."),
      h("div", { class: "filters" },
        h("label", { for: "f-show" }, "Show "), show, " ",
        h("label", { for: "f-domain" }, "Domain "), domain),
      count, list,
      h("p", { class: "controls" }, h("a", { class: "button secondary", href: where.resultHref || `#/result/${review.attemptId}` }, "Back to the result"),
        h("a", { class: "button secondary", href: "#/" }, "Back to your exams"))],
    focus: title,
  };
}
