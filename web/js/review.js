/** Per-question review after submission: choice, key, an explanation per option, the task statement and the
 * reference; filters for wrong, flagged and domain. Built from GET /me/attempts/{id}/review. */
import { h, safeUrl, announce } from "./dom.js";

/**
 * @typedef {{id: string, text: string, correct: boolean, selected: boolean, explanation: string}} ReviewOption
 * @typedef {{number: number, questionId: string, type: string, selectCount: number, stem: string,
 *   options: ReviewOption[], selected: string[], key: string[], correct: boolean, flagged: boolean,
 *   domainId: string, domainName: string, taskStatement?: {id: string, text: string}, reference?: string}} ReviewQuestion
 */

/** @param {ReviewQuestion} q */
function questionCard(q) {
  const verdict = !q.selected.length ? "Not answered" : q.correct ? "Correct" : "Incorrect";
  const url = safeUrl(q.reference);
  return h("article", { class: `card review-q ${q.correct ? "right" : "wrong"}`, "data-testid": "review-q",
    "data-correct": String(q.correct), "data-flagged": String(q.flagged), "data-domain-id": q.domainId },
    h("h2", { class: "small" }, `Question ${q.number} · ${verdict}${q.flagged ? " · Flagged" : ""}`),
    h("p", { class: "stem", "data-testid": "review-stem" }, q.stem),
    h("ul", { class: "review-options" }, ...q.options.map((o) => h("li", {
      class: `review-option${o.correct ? " key" : ""}${o.selected ? " chosen" : ""}`, "data-testid": "review-option",
    },
      h("p", {}, h("strong", {}, `${o.id.toUpperCase()}. `), o.text),
      h("p", { class: "marks" },
        o.selected ? h("span", { class: "tag chosen-tag" }, "Your choice") : "",
        o.correct ? h("span", { class: "tag key-tag" }, "Correct answer") : ""),
      h("p", { class: "muted small" }, o.explanation)))),
    h("p", { class: "muted small" }, `Your answer: ${q.selected.length ? q.selected.join(", ").toUpperCase() : "none"} · Key: ${q.key.join(", ").toUpperCase()}`),
    h("p", { class: "small" }, `${q.domainName}`, q.taskStatement ? ` · Task ${q.taskStatement.id}: ${q.taskStatement.text}` : ""),
    url ? h("p", { class: "small" }, h("a", { href: url, rel: "noopener noreferrer", target: "_blank", "data-testid": "reference" }, "Read the AWS documentation on this")) : "");
}

/**
 * @param {{attemptId: string, questions: ReviewQuestion[]}} review
 * @returns {{nodes: Node[], focus: HTMLElement}}
 */
export function reviewView(review) {
  const qs = review.questions;
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
    list.replaceChildren(...(picked.length ? picked.map(questionCard) : [h("p", { class: "muted" }, "No question matches these filters.")]));
    count.textContent = `Showing ${picked.length} of ${qs.length} questions.`;
  };
  show.addEventListener("change", () => { apply(); announce(count.textContent || ""); });
  domain.addEventListener("change", () => { apply(); announce(count.textContent || ""); });
  apply();
  const wrong = qs.filter((q) => !q.correct).length, flagged = qs.filter((q) => q.flagged).length;
  return {
    nodes: [title,
      h("p", {}, `${qs.length - wrong} correct, ${wrong} wrong or unanswered, ${flagged} flagged.`),
      h("div", { class: "filters" },
        h("label", { for: "f-show" }, "Show "), show, " ",
        h("label", { for: "f-domain" }, "Domain "), domain),
      count, list,
      h("p", { class: "controls" }, h("a", { class: "button secondary", href: `#/result/${review.attemptId}` }, "Back to the result"),
        h("a", { class: "button secondary", href: "#/" }, "Back to your exams"))],
    focus: title,
  };
}
