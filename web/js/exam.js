/**
 * The exam screen: one question at a time, a navigator, flags, keys, the server's countdown, autosave,
 * a review screen before submitting, and submission (by the candidate or when time runs out). The same screen
 * serves a full exam, a practice set (untimed; in study mode each complete answer is saved, then checked, and
 * right or wrong is shown with every option's explanation) and the anonymous diagnostic (answers kept on this
 * device until the submit). Item text is always set as text (h() never parses HTML).
 */
import { h, showAll, announce, clock } from "./dom.js";
import { ApiError, call, errorText, mine } from "./api.js";
import { Saver, loadPending } from "./saver.js";

/** @typedef {{id: string, text: string}} Option */
/** @typedef {{number: number, questionId: string, type: string, selectCount: number, stem: string, options: Option[]}} Question */
/** @typedef {{selected: string[], flagged: boolean}} Answer */
/** @typedef {{go: (hash: string) => void, showResult: (attemptId: string, result: any) => void}} App */
/**
 * @typedef {{channel?: import("./api.js").Channel, hashBase?: string}} Where the attempt's routes (default the
 *   candidate's own) and the screen's URL (default `#/exam/<id>`)
 */

const WORDS = ["zero", "one", "two", "three", "four", "five", "six"];
const LETTERS = "abcdef";

/** @param {string} attemptId */
export const positionKey = (attemptId) => `exam-app:pos:${attemptId}`;

/** Study mode is on for a practice set unless it was started with it off. @param {string} attemptId */
export const studyKey = (attemptId) => `exam-app:study:${attemptId}`;

/** The questions checked in study mode in this tab (shown checked again after a reload). @param {string} attemptId */
const checkedKey = (attemptId) => `exam-app:checked:${attemptId}`;

const PRACTICE = ["domain", "missed", "unseen"];

/**
 * Open the exam screen for an attempt at question `where` (1-based) or at "submit" (the review before submitting).
 * @param {string} attemptId @param {string} where @param {App} app @param {Where} [at]
 * @returns {Promise<() => void>} what to call when leaving the screen
 */
export async function openExam(attemptId, where, app, at = {}) {
  showAll([h("p", {}, "Loading your questions…")]);
  const channel = at.channel || mine(attemptId);
  let attempt;
  try {
    attempt = await call("GET", channel.path, undefined, channel.headers);
  } catch (e) {
    showAll([h("p", { class: "error", role: "alert" }, errorText(e)), h("p", {}, h("a", { href: "#/" }, "Back to your exams"))]);
    return () => {};
  }
  if (attempt.status !== "in_progress") {
    app.showResult(attemptId, attempt.result);
    return () => {};
  }
  const screen = new ExamScreen(attempt, app, channel, at.hashBase || `#/exam/${attemptId}`);
  screen.start(where);
  return () => screen.stop();
}

class ExamScreen {
  /** @param {any} attempt @param {App} app @param {import("./api.js").Channel} channel @param {string} hashBase */
  constructor(attempt, app, channel, hashBase) {
    this.app = app;
    this.channel = channel;
    this.hashBase = hashBase;
    /** @type {string} */
    this.id = attempt.attemptId;
    this.noun = attempt.mode === "full" ? "exam" : attempt.mode === "diagnostic" ? "diagnostic" : "practice set";
    this.study = PRACTICE.includes(attempt.mode) && sessionStorage.getItem(studyKey(this.id)) !== "0";
    /** Study mode's checks, by question id: a checked answer is final. @type {Map<string, any>} */
    this.checks = new Map();
    /** @type {string[]} */
    this.checked = JSON.parse(sessionStorage.getItem(checkedKey(this.id)) || "[]");
    this.feedback = h("section");
    this.checkBtn = h("button");
    /** @type {Question[]} */
    this.questions = attempt.questions;
    /** @type {Record<string, Answer>} */
    this.answers = {};
    for (const q of this.questions) this.answers[q.questionId] = { selected: [], flagged: false };
    for (const r of attempt.responses || []) {
      if (this.answers[r.questionId]) this.answers[r.questionId] = { selected: [...(r.selected || [])], flagged: !!r.flagged };
    }
    // changes not yet saved (a reload during an outage) are newer than the server's copy
    for (const r of Object.values(loadPending(this.id))) {
      if (this.answers[r.questionId]) this.answers[r.questionId] = { selected: [...r.selected], flagged: !!r.flagged };
    }
    this.index = 0;
    this.view = "question";
    this.timed = typeof attempt.remainingSeconds === "number";
    this.deadline = this.timed ? performance.now() + attempt.remainingSeconds * 1000 : 0;
    this.warned10 = this.timed && attempt.remainingSeconds <= 60;
    this.warned1 = false;
    this.submitting = false;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this.ticker = undefined;
    this.saver = new Saver(this.id, {
      onStatus: (st) => this.showSave(st),
      onRemaining: (sec) => { if (this.timed) this.deadline = performance.now() + sec * 1000; },
      onClosed: () => { this.submit(true); },
    }, channel);
    this.onKey = (/** @type {KeyboardEvent} */ e) => this.key(e);
    // the screen's parts, built once; the question's own parts are rebuilt on every move
    this.hint = h("p");
    /** @type {HTMLInputElement[]} */
    this.inputs = [];
    this.flagBtn = h("button");
    this.errorEl = h("div");
    this.timerEl = h("span", { class: "timer", role: "timer", "aria-label": "Time left", "data-testid": "timer" });
    this.warnEl = h("p", { class: "warning", "aria-live": "assertive", "data-testid": "time-warning" });
    this.saveEl = h("span", { class: "save", role: "status", "data-testid": "save-state" },
      channel.saves ? "All answers saved" : "Answers kept in this browser until you submit");
    // the screen's h1: "Question n of 65", or "Review before submitting"
    this.countEl = h("h1", { class: "count", tabindex: "-1", "data-testid": "progress" });
    this.bar = h("div", { class: "exam-bar" }, this.countEl, this.timed ? this.timerEl : "", this.saveEl);
    this.body = h("div", { class: "exam-body" });
    /** @type {HTMLButtonElement[]} */
    this.navButtons = this.questions.map((q, i) => /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", class: "nav-q", "data-testid": "nav-q", onclick: () => this.goTo(i) }, String(q.number))));
    this.nav = h("nav", { class: "navigator", "aria-label": "Questions" },
      h("h2", { class: "small" }, "Questions"),
      h("ol", { class: "nav-grid" }, ...this.navButtons.map((b) => h("li", {}, b))),
      h("p", { class: "legend muted" },
        h("span", { class: "nav-q sample answered", "aria-hidden": "true" }, "1"), " answered ",
        h("span", { class: "nav-q sample", "aria-hidden": "true" }, "2"), " unanswered ",
        h("span", { class: "nav-q sample flagged", "aria-hidden": "true" }, "3"), " flagged ",
        h("span", { class: "nav-q sample current", "aria-hidden": "true" }, "4"), " current",
        this.study ? h("span", {}, h("span", { class: "nav-q sample answered right", "aria-hidden": "true" }, "5"), " right ",
          h("span", { class: "nav-q sample answered wrong", "aria-hidden": "true" }, "6"), " wrong") : ""));
    this.keysHelp = h("p", { class: "muted keys" }, "Keys: 1–6 or A–E choose an option, N next, P previous, F flag."
      + (this.study ? " Study mode: Check answer shows right or wrong and the explanations; a checked answer is final." : ""));
  }

  // ------------------------------------------------------------------ layout

  /** @param {string} where */
  start(where) {
    if (where === "submit") this.view = "submit";
    else {
      const n = Number(where) || Number(sessionStorage.getItem(positionKey(this.id))) || 1;
      this.index = Math.min(Math.max(n, 1), this.questions.length) - 1;
    }
    document.addEventListener("keydown", this.onKey);
    this.render();
    if (this.timed) {
      this.tick();
      if (!this.submitting) this.ticker = setInterval(() => this.tick(), 1000);
    }
    if (this.saver.count) this.saver.flush();
  }

  stop() {
    document.removeEventListener("keydown", this.onKey);
    clearInterval(this.ticker);
    // leaving the exam (Home, Back): send what is queued once; if that fails it stays queued for next time
    if (this.saver.count && !this.submitting) this.saver.flush();
    this.saver.stop();
  }

  render() {
    if (this.view === "submit") this.renderSubmit(); else this.renderQuestion();
  }

  /** @param {string} hash */
  setHash(hash) { history.replaceState(null, "", hash); }

  // ------------------------------------------------------------------ question

  get q() { return this.questions[this.index]; }

  renderQuestion() {
    const q = this.q, total = this.questions.length;
    sessionStorage.setItem(positionKey(this.id), String(this.index + 1));
    this.setHash(`${this.hashBase}/${this.index + 1}`);
    this.countEl.textContent = `Question ${this.index + 1} of ${total}`;
    const multiple = q.type === "multiple";
    const stem = h("p", { class: "stem", id: "stem", tabindex: "-1", "data-testid": "question-stem" }, q.stem);
    this.hint = h("p", { class: "hint", id: "hint", "aria-live": "polite", "data-testid": "hint" });
    this.inputs = [];
    const options = q.options.map((o, i) => {
      const input = /** @type {HTMLInputElement} */ (h("input", {
        type: multiple ? "checkbox" : "radio", name: `q-${q.questionId}`, value: o.id, id: `opt-${o.id}`,
        "data-testid": "option", onchange: () => this.choose(i, input.checked),
      }));
      this.inputs.push(input);
      return h("label", { class: "option", for: `opt-${o.id}` }, input,
        h("span", { class: "letter", "aria-hidden": "true" }, `${o.id.toUpperCase()}.`), h("span", { class: "text" }, o.text));
    });
    const fieldset = h("fieldset", { class: "question", "aria-describedby": "stem hint" },
      h("legend", { class: "sr-only" }, `Question ${this.index + 1} of ${total}`), stem, this.hint, h("div", { class: "options" }, ...options));
    this.flagBtn = h("button", { type: "button", class: "secondary", "data-testid": "flag", onclick: () => this.toggleFlag() });
    const prev = h("button", { type: "button", class: "secondary", "data-testid": "prev", onclick: () => this.move(-1) }, "Previous");
    const next = this.index + 1 < total
      ? h("button", { type: "button", "data-testid": "next", onclick: () => this.move(1) }, "Next")
      : h("button", { type: "button", "data-testid": "to-review", onclick: () => this.openSubmit() }, "Review and submit");
    if (this.index === 0) prev.setAttribute("disabled", "");
    const controls = h("div", { class: "controls" }, prev, this.flagBtn, next);
    const finish = this.index + 1 < total
      ? h("p", {}, h("button", { type: "button", class: "link", "data-testid": "to-review", onclick: () => this.openSubmit() }, "Review and submit"))
      : "";
    this.feedback = h("section", { class: "feedback", "aria-label": "Your answer checked", "data-testid": "feedback", hidden: "" });
    this.checkBtn = h("button", { type: "button", "data-testid": "check", onclick: () => this.check(true) }, "Check answer");
    this.body.replaceChildren(fieldset, this.study ? h("p", {}, this.checkBtn) : "", this.feedback, controls, finish, this.keysHelp);
    this.sync();
    showAll([this.bar, this.warnEl, this.body, this.nav], stem, `Question ${this.index + 1} of ${total}`);
    if (this.checked.includes(q.questionId)) this.check(false);
  }

  /** @param {Question} q */
  complete(q) {
    return this.answers[q.questionId].selected.length === (q.type === "multiple" ? q.selectCount : 1);
  }

  /**
   * Study mode: save the current question's complete answer at once, check it and show right or wrong with every
   * option's explanation; from then on the answer is final. A check already made is shown again without a request.
   * @param {boolean} fresh the candidate has just asked (say the verdict, move focus to it)
   */
  async check(fresh) {
    const q = this.q, a = this.answers[q.questionId];
    if (!this.study || this.view !== "question" || !this.complete(q)) return;
    if (fresh && this.saver.count) this.saver.flush();  // the save goes now, not after the debounce
    const panel = this.feedback;
    panel.hidden = false;
    const done = this.checks.get(q.questionId);
    if (!done) panel.replaceChildren(h("p", { class: "muted", role: "status" }, "Checking your answer…"));
    try {
      const [res, review] = await Promise.all([
        done || call("POST", `${this.channel.path}/check`, { questionId: q.questionId, selected: a.selected }, this.channel.headers, 2),
        import("./review.js"),
      ]);
      this.checks.set(q.questionId, res);
      if (!this.checked.includes(q.questionId)) {
        this.checked.push(q.questionId);
        sessionStorage.setItem(checkedKey(this.id), JSON.stringify(this.checked));
      }
      if (panel !== this.feedback) return;  // the candidate moved on meanwhile
      this.sync();
      const verdict = res.correct ? "Correct" : `Incorrect: the answer is ${res.key.join(", ").toUpperCase()}`;
      const heading = h("h2", { class: `verdict ${res.correct ? "pass" : "fail"}`, tabindex: "-1", "data-testid": "check-verdict" }, `${verdict}.`);
      panel.replaceChildren(heading, ...review.explained(res));
      if (fresh) { heading.focus(); announce(`${verdict}. The explanation of every option follows.`); }
    } catch (e) {
      if (panel !== this.feedback) return;
      panel.replaceChildren(h("p", { class: "error", role: "alert" }, `Your answer is kept, but it could not be checked. ${errorText(e)}`),
        h("button", { type: "button", class: "secondary", "data-testid": "check-again", onclick: () => this.check(true) }, "Check again"));
    }
  }

  /** Bring inputs, the hint, the flag button and the navigator in line with the answers. */
  sync() {
    const q = this.q, a = this.answers[q.questionId];
    if (this.view === "question" && this.inputs.length) {
      const full = q.type === "multiple" && a.selected.length >= q.selectCount;
      const locked = this.checks.has(q.questionId);
      q.options.forEach((o, i) => {
        const input = this.inputs[i];
        input.checked = a.selected.includes(o.id);
        input.disabled = locked || (full && !input.checked);
      });
      this.checkBtn.hidden = locked;
      if (this.complete(q)) this.checkBtn.removeAttribute("disabled"); else this.checkBtn.setAttribute("disabled", "");
      if (q.type === "multiple") {
        this.hint.textContent = `Choose ${WORDS[q.selectCount] || q.selectCount}. ${a.selected.length} of ${q.selectCount} selected.`;
      } else {
        this.hint.textContent = "Choose one.";
      }
      this.flagBtn.textContent = a.flagged ? "Flagged for review" : "Flag for review";
      this.flagBtn.setAttribute("aria-pressed", String(a.flagged));
    }
    this.questions.forEach((qq, i) => {
      const ans = this.answers[qq.questionId], b = this.navButtons[i];
      const answered = ans.selected.length > 0;
      b.classList.toggle("answered", answered);
      b.classList.toggle("flagged", ans.flagged);
      const current = this.view === "question" && i === this.index;
      b.classList.toggle("current", current);
      if (current) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
      b.dataset.state = answered ? "answered" : "unanswered";
      b.dataset.flagged = String(ans.flagged);
      const checked = this.checks.get(qq.questionId);  // study mode: right or wrong, once checked
      b.classList.toggle("right", !!checked && checked.correct);
      b.classList.toggle("wrong", !!checked && !checked.correct);
      b.dataset.check = checked ? (checked.correct ? "right" : "wrong") : "";
      b.setAttribute("aria-label", `Question ${qq.number}, ${answered ? "answered" : "unanswered"}`
        + `${checked ? (checked.correct ? ", correct" : ", incorrect") : ""}${ans.flagged ? ", flagged" : ""}`);
    });
  }

  /** @param {number} i option index @param {boolean} on */
  choose(i, on) {
    const q = this.q, a = this.answers[q.questionId], id = q.options[i].id;
    if (this.checks.has(q.questionId)) { this.sync(); return; }  // study mode: a checked answer is final
    if (q.type === "multiple") {
      if (on && !a.selected.includes(id)) {
        if (a.selected.length >= q.selectCount) {
          announce(`You have chosen ${q.selectCount} already. Clear one to choose another.`);
          this.sync();
          return;
        }
        a.selected = [...a.selected, id].sort();
      } else if (!on) {
        a.selected = a.selected.filter((x) => x !== id);
      }
    } else {
      a.selected = [id];
    }
    this.changed();
  }

  toggleFlag() {
    const a = this.answers[this.q.questionId];
    a.flagged = !a.flagged;
    announce(a.flagged ? `Question ${this.index + 1} flagged for review` : `Flag removed from question ${this.index + 1}`);
    this.changed();
  }

  changed() {
    const q = this.q, a = this.answers[q.questionId];
    this.sync();
    this.saver.put({ questionId: q.questionId, selected: a.selected, flagged: a.flagged });
  }

  /** @param {number} step */
  move(step) {
    const n = this.index + step;
    if (n < 0) return;
    if (n >= this.questions.length) { this.openSubmit(); return; }
    this.goTo(n);
  }

  /** @param {number} i */
  goTo(i) {
    this.view = "question";
    this.index = i;
    this.renderQuestion();
    announce(`Question ${i + 1} of ${this.questions.length}`);
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || this.submitting) return;
    const t = /** @type {HTMLElement|null} */ (e.target);
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && !["radio", "checkbox"].includes(/** @type {HTMLInputElement} */ (t).type)))) return;
    if (this.view !== "question") return;
    const k = e.key.toLowerCase();
    let i = -1;
    if (k >= "1" && k <= "6") i = Number(k) - 1;
    else if (k.length === 1 && k >= "a" && k <= "e") i = LETTERS.indexOf(k);
    if (i >= 0) {
      e.preventDefault();
      if (i >= this.q.options.length) return;
      const id = this.q.options[i].id;
      const on = this.q.type === "multiple" ? !this.answers[this.q.questionId].selected.includes(id) : true;
      this.choose(i, on);
      return;
    }
    if (k === "n") { e.preventDefault(); this.move(1); }
    else if (k === "p") { e.preventDefault(); this.move(-1); }
    else if (k === "f") { e.preventDefault(); this.toggleFlag(); }
  }

  // ------------------------------------------------------------------ timer and save state

  remaining() { return Math.max(0, Math.round((this.deadline - performance.now()) / 1000)); }

  tick() {
    const left = this.remaining();
    this.timerEl.textContent = `Time left ${clock(left)}`;
    this.timerEl.classList.toggle("low", left <= 600);
    if (left <= 60 && !this.warned1) {
      this.warned1 = this.warned10 = true;
      this.warnEl.textContent = "1 minute left. Your answers are submitted automatically when time runs out.";
    } else if (left <= 600 && !this.warned10) {
      this.warned10 = true;
      this.warnEl.textContent = left > 540 ? "10 minutes left." : `${Math.ceil(left / 60)} minutes left.`;
    }
    if (left <= 0 && !this.submitting) {
      clearInterval(this.ticker);
      this.submit(true);
    }
  }

  /** @param {import("./saver.js").SaveStatus} st */
  showSave(st) {
    const el = this.saveEl;
    el.dataset.state = st.state;
    const n = st.pending === 1 ? "1 change" : `${st.pending} changes`;
    if (st.state === "saved") el.textContent = "All answers saved";
    else if (st.state === "saving") el.textContent = "Saving…";
    else if (st.state === "kept") el.textContent = "Answers kept in this browser until you submit";
    else if (st.state === "offline") el.textContent = `Offline: ${n} kept on this device, retrying in ${st.retryIn} s`;
    else if (st.state === "retrying") el.textContent = `Service busy: ${n} waiting, retrying in ${st.retryIn} s`;
    else el.textContent = `Not saved: ${st.message || ""}`;
  }

  // ------------------------------------------------------------------ review before submitting

  openSubmit() {
    this.view = "submit";
    this.renderSubmit();
    announce("Review before submitting");
  }

  renderSubmit() {
    this.setHash(`${this.hashBase}/submit`);
    this.countEl.textContent = "Review before submitting";
    const unanswered = this.questions.filter((q) => !this.answers[q.questionId].selected.length);
    const flagged = this.questions.filter((q) => this.answers[q.questionId].flagged);
    const answered = this.questions.length - unanswered.length;
    const list = (/** @type {Question[]} */ qs, /** @type {string} */ testid, /** @type {string} */ none) => qs.length
      ? h("ul", { class: "jump-list", "data-testid": testid }, ...qs.map((q) => h("li", {},
          h("button", { type: "button", class: "secondary", onclick: () => this.goTo(q.number - 1) }, `Question ${q.number}`))))
      : h("p", { class: "muted", "data-testid": testid }, none);
    const confirmBox = h("div", { class: "confirm", hidden: "" },
      h("p", { id: "confirm-text" }, "Submit now? You cannot change your answers afterwards."),
      h("div", { class: "controls" },
        h("button", { type: "button", "data-testid": "confirm-submit", onclick: () => this.submit(false) }, `Yes, submit my ${this.noun}`),
        h("button", { type: "button", class: "secondary", "data-testid": "cancel-submit", onclick: () => { confirmBox.hidden = true; ask.hidden = false; ask.focus(); } }, "Cancel")));
    const ask = h("button", { type: "button", "data-testid": "submit", onclick: () => {
      ask.hidden = true; confirmBox.hidden = false;
      /** @type {HTMLElement} */ (confirmBox.querySelector("button")).focus();
    } }, `Submit ${this.noun === "exam" ? "exam" : `the ${this.noun}`}`);
    this.errorEl = h("div", { role: "alert" });
    this.body.replaceChildren(
      h("p", { "data-testid": "answered-summary" }, `${answered} of ${this.questions.length} answered, ${unanswered.length} unanswered, ${flagged.length} flagged.`),
      h("h2", {}, `Unanswered (${unanswered.length})`), list(unanswered, "unanswered-list", "Every question has an answer."),
      h("h2", {}, `Flagged for review (${flagged.length})`), list(flagged, "flagged-list", "No question is flagged."),
      this.errorEl,
      h("div", { class: "controls" },
        h("button", { type: "button", class: "secondary", "data-testid": "back-to-questions", onclick: () => this.goTo(this.index) }, "Back to the questions"),
        ask),
      confirmBox);
    this.sync();
    showAll([this.bar, this.warnEl, this.body, this.nav], this.countEl);
  }

  /**
   * Submit, sending whatever is still queued with it. On time-out the server scores what it holds.
   * @param {boolean} auto
   */
  async submit(auto) {
    if (this.submitting) return;
    this.submitting = true;
    clearInterval(this.ticker);
    const note = h("p", { class: "card", role: "status", "data-testid": "submitting" },
      auto ? "Time is up. Submitting your answers…" : "Submitting your answers…");
    showAll([note], note);
    const queued = this.saver.queued();
    const path = `${this.channel.path}/submit`, headers = this.channel.headers;
    for (let round = 0; ; round++) {
      try {
        const result = await call("POST", path, queued.length ? { responses: queued } : undefined, headers);
        this.finish(result);
        return;
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError(0, "offline", String(e), 0);
        if (err.status === 422 && queued.length) {
          // the queued changes themselves were refused (the save route would refuse them too): submit what is saved
          queued.length = 0;
          continue;
        }
        if (err.code === "attempt_expired" || err.code === "attempt_submitted" || err.status === 409) {
          // Closed already (or the late answers were refused): the server holds the result.
          try {
            const again = queued.length ? await call("POST", path, undefined, headers) : null;
            if (again) { this.finish(again); return; }
          } catch { /* fall through to reading the attempt */ }
          try {
            const attempt = await call("GET", this.channel.path, undefined, headers);
            if (attempt.result) { this.finish(attempt.result); return; }
          } catch { /* retry below */ }
        }
        if (!err.retryable && err.status !== 409) {
          this.submitting = false;
          showAll([h("p", { class: "error", role: "alert" }, `Your ${this.noun} was not submitted: ${errorText(err)}`),
            h("button", { type: "button", onclick: () => this.submit(auto) }, "Try again")]);
          return;
        }
        const wait = err.retryAfter > 0 ? err.retryAfter : Math.min(30, 2 ** Math.min(round + 1, 5));
        note.textContent = `${errorText(err)} Your answers are kept; retrying in ${wait} s.`;
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    }
  }

  /** @param {any} result */
  finish(result) {
    this.saver.clear();
    this.stop();
    sessionStorage.removeItem(positionKey(this.id));
    this.app.showResult(this.id, result);
  }
}
