/** Home: the exams, attempts in progress, the readiness verdict, the score trend (inline SVG with the 700 and 750
 * lines), each domain against the borderline expectation, and the history, paged. */
import { h, s } from "./dom.js";
import { call, errorText } from "./api.js";

/**
 * @typedef {{attemptId: string, startedAt: string, scaledScore: number, passed: boolean, timedOut: boolean}} ScorePoint
 * @typedef {{attemptId: string, startedAt: string, percent: number, expectedPercentAtCut: number}} DomainPoint
 * @typedef {{domainId: string, name: string, points: DomainPoint[]}} DomainTrend
 * @typedef {{ready: boolean, reasons: string[], attemptsConsidered: ScorePoint[],
 *   pooled: {items: number, scaledScore: number, scoreBand: {low: number, high: number}, passProbability: number}|null,
 *   nextStep: {domainId: string, name: string, taskStatements: {id: string, text: string, missed: number}[],
 *     moreAttemptsNeeded: number}|null,
 *   rule: {attempts: number, minScore: number, maxDomainGap: number}}} Readiness
 * @typedef {{examId: string, scores: ScorePoint[], domains: DomainTrend[], itemsSeen: number, bankItems: number,
 *   readiness: Readiness}} Progress
 */

/** @param {string} iso */
export const when = (iso) => (iso ? iso.replace("T", " ").replace(/:\d\dZ$/, " UTC") : "");

const CW = 640, CH = 240, L = 48, R = 16, T = 16, B = 36;

/**
 * The scaled-score trend over full timed attempts.
 * @param {ScorePoint[]} scores oldest first
 * @param {{lo: number, hi: number, cut: number, ready: number}} scale
 */
export function trendChart(scores, scale) {
  const y = (/** @type {number} */ v) => T + (1 - (v - scale.lo) / (scale.hi - scale.lo)) * (CH - T - B);
  const n = scores.length;
  const x = (/** @type {number} */ i) => (n === 1 ? (L + CW - R) / 2 : L + (i / (n - 1)) * (CW - L - R));
  const label = `Scaled scores of your full exams, oldest first: ${scores.map((p) => p.scaledScore).join(", ")}. `
    + `${scale.cut} passes; readiness asks for ${scale.ready}.`;
  // the two lines are close: one label at each end, the lower one below its line
  const line = (/** @type {number} */ v, /** @type {string} */ text, /** @type {string} */ dash, /** @type {boolean} */ atEnd) => [
    s("line", { x1: L, x2: CW - R, y1: y(v), y2: y(v), stroke: "#1a1d21", "stroke-width": 1.5, "stroke-dasharray": dash }),
    s("text", { x: atEnd ? CW - R : L + 6, y: atEnd ? y(v) + 14 : y(v) - 5, "text-anchor": atEnd ? "end" : "start",
      "font-size": 12, fill: "#1a1d21" }, text)];
  return s("svg", { viewBox: `0 0 ${CW} ${CH}`, class: "trend", role: "img", "aria-label": label, "data-testid": "score-trend" },
    s("title", {}, label),
    ...[scale.lo, 400, scale.cut, scale.hi].map((v) => s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12, fill: "#586170" }, String(v))),
    s("line", { x1: L, x2: L, y1: T, y2: CH - B, stroke: "#586170" }),
    s("line", { x1: L, x2: CW - R, y1: CH - B, y2: CH - B, stroke: "#586170" }),
    s("text", { x: (L + CW - R) / 2, y: CH - 4, "text-anchor": "middle", "font-size": 12, fill: "#586170" }, "Full exams, oldest to newest"),
    s("text", { x: 12, y: (T + CH - B) / 2, "text-anchor": "middle", "font-size": 12, fill: "#586170",
      transform: `rotate(-90 12 ${(T + CH - B) / 2})` }, "Scaled score"),
    ...line(scale.cut, `${scale.cut} pass`, "6 4", true),
    ...line(scale.ready, `${scale.ready} ready`, "2 3", false),
    n > 1 ? s("polyline", { points: scores.map((p, i) => `${x(i)},${y(p.scaledScore)}`).join(" "), fill: "none", stroke: "#1f5fbf", "stroke-width": 2.5 }) : "",
    ...scores.map((p, i) => s("circle", { cx: x(i), cy: y(p.scaledScore), r: 5, fill: p.passed ? "#17663a" : "#b00020", "data-testid": "trend-point" },
      s("title", {}, `${when(p.startedAt)}: ${p.scaledScore}`))));
}

/** @param {DomainTrend} d */
function domainTrend(d) {
  const w = 160, ht = 40, n = d.points.length;
  const x = (/** @type {number} */ i) => (n === 1 ? w / 2 : 4 + (i / (n - 1)) * (w - 8));
  const y = (/** @type {number} */ v) => 4 + (1 - v / 100) * (ht - 8);
  const last = d.points[n - 1];
  const label = `${d.name}: ${d.points.map((p) => `${Math.round(p.percent)}%`).join(", ")}; `
    + `borderline ${d.points.map((p) => `${Math.round(p.expectedPercentAtCut)}%`).join(", ")}.`;
  const pts = (/** @type {(p: DomainPoint) => number} */ f) => d.points.map((p, i) => `${x(i)},${y(f(p))}`).join(" ");
  return h("tr", { "data-testid": "domain-trend" },
    h("th", { scope: "row" }, d.name),
    h("td", {}, last ? `${Math.round(last.percent)}%` : "–"),
    h("td", {}, last ? `${Math.round(last.expectedPercentAtCut)}%` : "–"),
    h("td", {}, s("svg", { viewBox: `0 0 ${w} ${ht}`, class: "spark", role: "img", "aria-label": label },
      s("title", {}, label),
      n === 1 && last
        ? s("line", { x1: w / 2 - 14, x2: w / 2 + 14, y1: y(last.expectedPercentAtCut), y2: y(last.expectedPercentAtCut), stroke: "#1a1d21", "stroke-dasharray": "4 3" })
        : s("polyline", { points: pts((p) => p.expectedPercentAtCut), fill: "none", stroke: "#1a1d21", "stroke-dasharray": "4 3" }),
      s("polyline", { points: pts((p) => p.percent), fill: "none", stroke: "#1f5fbf", "stroke-width": 2 }),
      ...d.points.map((p, i) => s("circle", { cx: x(i), cy: y(p.percent), r: 3, fill: "#1f5fbf" })))));
}

/** @param {Readiness} r @param {number} cut */
function readinessCard(r, cut) {
  return h("section", { class: "card", "data-testid": "readiness" },
    h("h2", {}, r.ready ? "Ready for the real exam" : "Not ready yet"),
    h("ul", {}, ...r.reasons.map((t) => h("li", {}, t))),
    r.pooled ? h("p", {}, `Across these attempts your score is about ${r.pooled.scaledScore} (likely ${r.pooled.scoreBand.low}–${r.pooled.scoreBand.high}); `
      + `chance of passing ${cut}: ${Math.round(r.pooled.passProbability * 100)}%.`) : "",
    r.nextStep ? h("div", { "data-testid": "next-step" },
      h("p", {}, h("strong", {}, `Next: study ${r.nextStep.name}`),
        r.nextStep.moreAttemptsNeeded ? `, then take ${r.nextStep.moreAttemptsNeeded} more full exam${r.nextStep.moreAttemptsNeeded === 1 ? "" : "s"}.` : "."),
      r.nextStep.taskStatements.length
        ? h("ul", {}, ...r.nextStep.taskStatements.slice(0, 5).map((t) => h("li", {}, `${t.id} ${t.text}${t.missed ? ` (${t.missed} missed)` : ""}`)))
        : "") : "");
}

/** @type {Record<string, string>} */
const MODES = { full: "Full exam", diagnostic: "Free diagnostic", domain: "Practice: one domain",
  missed: "Practice: missed questions", unseen: "Practice: unseen questions" };

/** @param {any} a */
const modeName = (a) => MODES[a.mode] || `Practice (${a.mode})`;

/**
 * @typedef {{mode: string, domainId?: string, size: number, examId: string}} PracticeRequest
 * @typedef {{start: (body: any, study: boolean, button: HTMLButtonElement, errorEl: HTMLElement) => void,
 *   position: (id: string) => string}} HomeActions
 */

/**
 * The practice card: a domain, missed or unseen set, its size, and study mode (on by default).
 * @param {any} exam @param {HomeActions} actions
 */
function practiceCard(exam, actions) {
  const errorEl = h("p", { class: "error-text", role: "alert", "data-testid": "practice-error" });
  const mode = /** @type {HTMLSelectElement} */ (h("select", { id: "p-mode", "data-testid": "practice-mode" },
    h("option", { value: "domain" }, "One domain"),
    h("option", { value: "missed" }, "Questions I missed or flagged"),
    h("option", { value: "unseen" }, "Questions I have not seen")));
  const domain = /** @type {HTMLSelectElement} */ (h("select", { id: "p-domain", "data-testid": "practice-domain" },
    ...exam.domains.map((/** @type {any} */ d) => h("option", { value: d.id }, d.name))));
  const domainRow = h("p", {}, h("label", { for: "p-domain" }, "Domain "), domain);
  const size = /** @type {HTMLInputElement} */ (h("input", { type: "number", id: "p-size", min: "1", max: "65", value: "10",
    inputmode: "numeric", "data-testid": "practice-size" }));
  const study = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", id: "p-study", checked: "", "data-testid": "practice-study" }));
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "submit", "data-testid": "start-practice" }, "Start practice"));
  mode.addEventListener("change", () => { domainRow.hidden = mode.value !== "domain"; });
  return h("section", { class: "card", "data-testid": "practice" }, h("h2", {}, "Practice"),
    h("p", { class: "muted" }, "Untimed sets scored as percent correct; they do not count as timed exams."),
    h("form", { onsubmit: (/** @type {Event} */ e) => {
      e.preventDefault();
      const n = Math.min(65, Math.max(1, Math.round(Number(size.value) || 10)));
      /** @type {PracticeRequest} */
      const body = { examId: exam.examId, mode: mode.value, size: n };
      if (mode.value === "domain") body.domainId = domain.value;
      actions.start(body, study.checked, button, errorEl);
    } },
    h("p", {}, h("label", { for: "p-mode" }, "Set "), mode), domainRow,
    h("p", {}, h("label", { for: "p-size" }, "Questions (1–65) "), size),
    h("p", { class: "check-row" }, study, " ", h("label", { for: "p-study" }, "Study mode: check each answer and read the explanations as you go")),
    button, errorEl));
}

/**
 * The history table with a "Show more" button that follows nextToken.
 * @param {{attempts: any[], nextToken: string|null}} first
 */
function historyTable(first) {
  const body = h("tbody", {});
  const more = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "secondary", "data-testid": "history-more" }, "Show more"));
  const status = h("p", { role: "status", class: "muted" });
  /** @param {any[]} attempts */
  const add = (attempts) => body.append(...attempts.map((a) => {
    const done = a.status === "submitted";
    return h("tr", {}, h("td", {}, modeName(a)), h("td", {}, when(a.startedAt)),
      h("td", {}, done ? "Submitted" : "In progress"),
      h("td", {}, a.scaledScore != null ? String(a.scaledScore) : a.percent != null ? `${a.percent}%` : ""),
      h("td", {}, done
        ? h("span", {}, h("a", { href: `#/result/${a.attemptId}` }, "Result"), " · ", h("a", { href: `#/review/${a.attemptId}` }, "Review"))
        : h("a", { href: `#/exam/${a.attemptId}/1` }, "Resume")));
  }));
  let next = first.nextToken;
  add(first.attempts);
  more.hidden = !next;
  more.addEventListener("click", async () => {
    if (!next) return;
    more.disabled = true;
    try {
      const page = await call("GET", `/me/attempts?limit=10&nextToken=${encodeURIComponent(next)}`);
      add(page.attempts || []);
      next = page.nextToken;
      status.textContent = `${body.children.length} attempts shown.`;
    } catch (e) {
      status.textContent = `Could not load more. ${errorText(e)}`;
    }
    more.disabled = false;
    more.hidden = !next;
  });
  if (!first.attempts.length) return h("p", { class: "muted" }, "No attempts yet.");
  return h("div", {}, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "History" }, h("table", { "data-testid": "history" },
    h("thead", {}, h("tr", {}, h("th", {}, "Mode"), h("th", {}, "Started"), h("th", {}, "Status"), h("th", {}, "Score"),
      h("th", {}, h("span", { class: "sr-only" }, "Links")))), body)), more, status);
}

/**
 * @param {{exams: any[]}} exams
 * @param {{attempts: any[]}} open
 * @param {{attempts: any[], nextToken: string|null}} history
 * @param {Progress|null} progress
 * @param {HomeActions} actions
 * @returns {Node[]}
 */
export function homeView(exams, open, history, progress, actions) {
  const errorEl = h("p", { class: "error-text", role: "alert" });
  const exam = exams.exams[0];
  const examCards = exams.exams.map((x) => {
    const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button", "data-testid": "start-full",
      onclick: () => actions.start({ examId: x.examId, mode: "full" }, false, button, errorEl) }, "Start a full exam"));
    return h("section", { class: "card" }, h("h2", {}, x.title),
      h("p", { class: "muted" }, `${x.questionCount} questions, ${x.durationMinutes} minutes, pass at ${x.passingScore} on ${x.scaleMin}–${x.scaleMax}`),
      button);
  });
  const items = open.attempts || [];
  const resume = items.length
    ? h("section", { class: "card", "data-testid": "in-progress" }, h("h2", {}, "In progress"),
        h("ul", {}, ...items.map((a) => h("li", {}, `${modeName(a)} started ${when(a.startedAt)} `,
          h("a", { href: `#/exam/${a.attemptId}/${actions.position(a.attemptId)}`, "data-testid": "resume" }, "Resume")))))
    : "";
  const cut = exam ? exam.passingScore : 700;
  const progressPart = progress && progress.scores.length
    ? [readinessCard(progress.readiness, cut),
        h("section", {}, h("h2", {}, "Score trend"),
          trendChart(progress.scores, { lo: exam ? exam.scaleMin : 100, hi: exam ? exam.scaleMax : 1000, cut, ready: progress.readiness.rule.minScore })),
        h("section", {}, h("h2", {}, "Domains against the borderline candidate"),
          h("p", { class: "muted" }, `Solid: your percent correct per full exam; dashed: what a borderline candidate gets on the same questions. You have seen ${progress.itemsSeen} of ${progress.bankItems} questions in the bank.`),
          h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Domains against the borderline candidate" }, h("table", {},
            h("thead", {}, h("tr", {}, h("th", {}, "Domain"), h("th", {}, "Latest"), h("th", {}, "Borderline"), h("th", {}, "Trend"))),
            h("tbody", {}, ...progress.domains.map(domainTrend)))))]
    : [];
  const diagnostic = h("p", {}, "New here? ", h("a", { href: "#/diagnostic", "data-testid": "open-diagnostic" },
    "Take the free 10-question diagnostic"), " for a first estimate.");
  return /** @type {Node[]} */ ([h("h1", {}, "Your exams"), errorEl, resume, ...examCards,
    exam ? practiceCard(exam, actions) : "", diagnostic, ...progressPart,
    h("h2", {}, "History"), historyTable(history)].filter((n) => n !== ""));
}
