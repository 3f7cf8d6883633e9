/** The result of a submitted exam: the scaled score against the 700 cut (inline SVG), band, pass probability,
 * domain bars with the borderline mark, the weakest domain and the study plan. */
import { h, s } from "./dom.js";

/**
 * @typedef {{domainId: string, name: string, weight: number, correct: number, total: number,
 *   percent: number, expectedPercentAtCut: number, rating: string}} DomainResult
 * @typedef {{domainId: string, name: string, share: number, hours: number,
 *   taskStatements: {id: string, text: string, missed: number}[]}} PlanEntry
 * @typedef {{attemptId: string, mode?: string, scaledScore: number, passed: boolean, passingScore: number, scaleMin: number,
 *   scaleMax: number, scoreBand: {low: number, high: number}, passProbability: number,
 *   scored: {correct: number, total: number}, answered: number, timedOut?: boolean,
 *   domains: DomainResult[], weakestDomain: string|null, studyPlan: PlanEntry[]}} Result
 */

const W = 640, PAD = 24;

/**
 * The score on its scale, the band and the cut, as an SVG image with a text equivalent.
 * @param {Result} r
 * @returns {SVGElement}
 */
export function scoreScale(r) {
  const lo = r.scaleMin ?? 100, hi = r.scaleMax ?? 1000, cut = r.passingScore ?? 700;
  const x = (/** @type {number} */ v) => PAD + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (W - 2 * PAD);
  const label = `Scaled score ${r.scaledScore} on a scale from ${lo} to ${hi}; ${cut} to pass; `
    + `likely between ${r.scoreBand.low} and ${r.scoreBand.high}.`;
  const ticks = [lo, 400, cut, hi].filter((v, i, a) => a.indexOf(v) === i);
  return s("svg", { viewBox: `0 0 ${W} 96`, class: "scale", role: "img", "aria-label": label, "data-testid": "score-scale" },
    s("title", {}, label),
    s("rect", { x: PAD, y: 40, width: W - 2 * PAD, height: 14, rx: 7, fill: "#e3e7ed" }),
    s("rect", { x: x(r.scoreBand.low), y: 40, width: Math.max(2, x(r.scoreBand.high) - x(r.scoreBand.low)), height: 14,
      fill: "#9dbbe8", "data-testid": "band-rect" }),
    s("line", { x1: x(cut), x2: x(cut), y1: 26, y2: 66, stroke: "#1a1d21", "stroke-width": 3, "data-testid": "cut-line" }),
    s("text", { x: x(cut), y: 20, "text-anchor": "middle", "font-size": 13, fill: "#1a1d21" }, `${cut} to pass`),
    s("circle", { cx: x(r.scaledScore), cy: 47, r: 9, fill: r.passed ? "#17663a" : "#b00020", stroke: "#fff", "stroke-width": 2,
      "data-testid": "score-mark" }),
    ...ticks.map((v) => s("text", { x: x(v), y: 88, "text-anchor": "middle", "font-size": 13, fill: "#586170" }, String(v))));
}

/**
 * A horizontal bar of a percent, with a mark (the borderline expectation) when given.
 * @param {number} percent @param {string} label its text equivalent @param {string} fill @param {number} [mark]
 * @returns {SVGElement}
 */
function percentBar(percent, label, fill, mark) {
  const bw = 300;
  return s("svg", { viewBox: `0 0 ${bw} 22`, class: "bar", role: "img", "aria-label": label },
    s("title", {}, label),
    s("rect", { x: 0, y: 4, width: bw, height: 14, rx: 3, fill: "#e3e7ed" }),
    s("rect", { x: 0, y: 4, width: (bw * Math.min(100, percent)) / 100, height: 14, rx: 3, fill }),
    mark === undefined ? "" : s("line", { x1: (bw * mark) / 100, x2: (bw * mark) / 100, y1: 0, y2: 22, stroke: "#1a1d21", "stroke-width": 2 }));
}

/**
 * One domain: percent correct against what a borderline candidate gets on the same items.
 * @param {DomainResult} d @param {boolean} weakest
 */
function domainBar(d, weakest) {
  const meets = d.rating === "meets";
  const label = `${d.name}: ${Math.round(d.percent)}% correct (${d.correct} of ${d.total}); `
    + `a borderline candidate gets ${Math.round(d.expectedPercentAtCut)}%; ${meets ? "meets" : "needs improvement"}.`;
  return h("li", { class: "domain", "data-testid": "domain-bar", "data-domain-id": d.domainId, "data-weakest": weakest ? "" : null },
    h("div", { class: "domain-head" }, h("strong", {}, d.name), weakest ? h("span", { class: "tag" }, "Weakest") : ""),
    percentBar(d.percent, label, meets ? "#1f5fbf" : "#a3431a", d.expectedPercentAtCut),
    h("p", { class: "muted small" },
      `${Math.round(d.percent)}% (${d.correct} of ${d.total}) · borderline ${Math.round(d.expectedPercentAtCut)}% · `
      + (meets ? "Meets" : "Needs improvement")));
}

/**
 * Where to go after a result: its review and home.
 * @param {string} reviewHref
 * @returns {HTMLElement}
 */
function endLinks(reviewHref) {
  return h("p", { class: "controls" },
    h("a", { class: "button", href: reviewHref, "data-testid": "open-review" }, "Review every question"),
    h("a", { class: "button secondary", href: "#/" }, "Back to your exams"));
}

/**
 * @typedef {{attemptId: string, reviewHref?: string, extra?: Node[]}} ResultContext the review's link
 *   (default `#/review/<id>`) and anything to show after the study plan (the diagnostic's "save to my history")
 */

/**
 * The whole result view.
 * @param {Result & {note?: string|null}} r
 * @param {ResultContext} ctx
 * @returns {{nodes: Node[], focus: HTMLElement}}
 */
export function resultView(r, ctx) {
  const title = h("h1", { tabindex: "-1" }, r.mode === "diagnostic" ? "Your diagnostic result" : "Your result");
  const weakest = r.domains.find((d) => d.domainId === r.weakestDomain);
  const nodes = [
    title,
    r.note ? h("p", { class: "card", "data-testid": "note" }, r.note) : "",
    r.timedOut ? h("p", { class: "card", "data-testid": "timed-out" }, "Time ran out: the exam was scored on the answers saved by then.") : "",
    h("section", { class: "card result-head" },
      h("p", { class: "score-line" }, h("span", { class: "score", "data-testid": "score" }, String(r.scaledScore)),
        h("span", { class: "muted" }, ` out of ${r.scaleMax}, ${r.passingScore} to pass`)),
      h("p", { class: r.passed ? "verdict pass" : "verdict fail", "data-testid": "verdict" }, r.passed ? "Passed" : "Not passed yet"),
      scoreScale(r),
      h("p", { "data-testid": "band" }, `Your score is likely between ${r.scoreBand.low} and ${r.scoreBand.high}.`),
      h("p", { "data-testid": "pass-probability" }, `Chance that you would pass: ${Math.round(r.passProbability * 100)}%.`),
      h("p", { class: "muted" }, `${r.scored.correct} of ${r.scored.total} scored questions correct; ${r.answered} questions answered.`)),
    h("section", {}, h("h2", {}, "Domains"),
      h("p", { class: "muted" }, "Each bar is your percent correct; the black mark is what a borderline candidate gets on the same questions."),
      h("ul", { class: "domains" }, ...r.domains.map((d) => domainBar(d, d.domainId === r.weakestDomain)))),
    weakest ? h("p", { "data-testid": "weakest" }, "Weakest domain: ", h("strong", {}, weakest.name)) : "",
    h("section", { "data-testid": "study-plan" }, h("h2", {}, "Study plan"),
      h("ol", { class: "plan" }, ...r.studyPlan.map((p) => h("li", {},
        h("strong", {}, p.name), ` — ${p.hours} hours`,
        p.taskStatements.length
          ? h("ul", {}, ...p.taskStatements.map((t) => h("li", {}, `${t.id} ${t.text}${t.missed ? ` (${t.missed} missed)` : ""}`)))
          : "")))),
    ...(ctx.extra || []),
    endLinks(ctx.reviewHref || `#/review/${ctx.attemptId}`),
  ];
  return { nodes: /** @type {Node[]} */ (nodes.filter((n) => n !== "")), focus: title };
}

/**
 * @typedef {{id: string, text: string, correct: number, total: number, percent: number}} TaskResult
 * @typedef {{attemptId: string, mode: string, correct: number, total: number, percent: number,
 *   taskStatements: TaskResult[]}} PracticeResult
 */

/** @param {any} r @returns {r is PracticeResult} a practice set's result (percent correct, no scaled score) */
export const isPractice = (r) => !!r && typeof r.scaledScore !== "number";

const SETS = /** @type {Record<string, string>} */ ({ domain: "domain", missed: "missed questions", unseen: "unseen questions" });

/**
 * A practice set's result: percent correct and a bar per task statement.
 * @param {PracticeResult} r
 * @param {ResultContext} ctx
 * @returns {{nodes: Node[], focus: HTMLElement}}
 */
export function practiceResultView(r, ctx) {
  const title = h("h1", { tabindex: "-1" }, "Your practice result");
  return {
    focus: title,
    nodes: [title,
      h("section", { class: "card result-head" },
        h("p", { class: "score-line" }, h("span", { class: "score", "data-testid": "practice-percent" }, `${Math.round(r.percent)}%`),
          h("span", { class: "muted" }, ` correct in a ${SETS[r.mode] || r.mode} set`)),
        h("p", { "data-testid": "practice-count" }, `${r.correct} of ${r.total} questions right.`),
        h("p", { class: "muted" }, "Practice sets are untimed and scored as percent correct, not on the exam's scale.")),
      h("section", {}, h("h2", {}, "By task statement"),
        h("ul", { class: "domains" }, ...r.taskStatements.map((t) => {
          const label = `Task ${t.id}: ${Math.round(t.percent)}% correct (${t.correct} of ${t.total}).`;
          return h("li", { class: "domain", "data-testid": "task-bar" },
            h("div", { class: "domain-head" }, h("strong", {}, `${t.id} ${t.text}`)),
            percentBar(t.percent, label, "#1f5fbf"),
            h("p", { class: "muted small" }, `${Math.round(t.percent)}% (${t.correct} of ${t.total})`));
        }))),
      endLinks(ctx.reviewHref || `#/review/${ctx.attemptId}`)],
  };
}
