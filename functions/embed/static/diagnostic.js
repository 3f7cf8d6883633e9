/*!
 * <exam-diagnostic>: the free 10-question readiness check, as a dependency-free web component.
 *
 * Embed it with two lines (the script's own URL tells the component where the API is):
 *
 *   <script src="https://API_HOST/embed/diagnostic.js"></script>
 *   <exam-diagnostic api-key="YOUR_PARTNER_KEY" exam="clf-c02"></exam-diagnostic>
 *
 * Attributes
 *   api-key   your partner API key (sent as X-Api-Key; required)
 *   exam      the exam id (default "clf-c02")
 *   api-base  optional: the API's base URL; by default the script's URL minus "/embed/diagnostic.js"
 *
 * Theming: set these CSS custom properties on the element (or any ancestor); they are read
 * through the shadow DOM. Defaults in brackets.
 *   --exam-accent   buttons, progress, bars, focus ring           [#1f5fbf]
 *   --exam-bg       background; also the text colour on buttons   [#ffffff]
 *   --exam-fg       text                                          [#1a1d21]
 *   --exam-muted    secondary text and borders                    [#586170]
 *   --exam-radius   corner radius                                 [12px]
 *   --exam-font     font stack                                    [system-ui, sans-serif]
 *
 *   Example:
 *     exam-diagnostic {
 *       --exam-accent: #0b6e4f;
 *       --exam-bg: #fbfaf7;
 *       --exam-fg: #1d2a24;
 *       --exam-muted: #55625b;
 *       --exam-radius: 6px;
 *       --exam-font: "Source Sans 3", system-ui, sans-serif;
 *     }
 *
 * State: the host element's data-state attribute is "start", "loading", "question", "error" or
 * "result". When a freshly submitted result shows, the element dispatches a bubbling, composed
 * CustomEvent "exam-diagnostic-result" with detail {attemptId, result}. (A result restored after a
 * page reload is shown again but not re-announced with the event.)
 *
 * Progress survives a reload: the attempt and the answers are kept in sessionStorage under
 * "exam-diagnostic:<exam>" (this browser tab only). The attempt token is never put in the DOM,
 * in the event, or in any log.
 */
(() => {
  "use strict";

  const TAG = "exam-diagnostic";
  if (typeof window === "undefined" || !window.customElements || customElements.get(TAG)) return;

  // Captured while this script runs: document.currentScript is null once loading is over.
  const SCRIPT_BASE = (() => {
    const el =
      document.currentScript || document.querySelector('script[src*="/embed/diagnostic.js"]');
    const src = el && el.src;
    if (!src) return "";
    return src.replace(/[?#].*$/, "").replace(/\/embed\/diagnostic\.js$/, "");
  })();

  const MESSAGES = {
    key: "This page's exam key was not accepted. Please tell the site owner.",
    busy: "Lots of people are taking the check right now. Please try again in a moment.",
    network: "We could not reach the exam service. Your answers are kept on this page.",
  };
  const REQUEST_TIMEOUT_MS = 30000;
  const STUDY_FIRST = 3; // task statements listed per domain in the study plan
  const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six"];

  const CSS = `
:host {
  --_accent: var(--exam-accent, #1f5fbf);
  --_bg: var(--exam-bg, #ffffff);
  --_fg: var(--exam-fg, #1a1d21);
  --_muted: var(--exam-muted, #586170);
  --_radius: var(--exam-radius, 12px);
  --_font: var(--exam-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  --_line: #c9ced6;
  --_line: color-mix(in srgb, var(--_muted) 45%, transparent);
  --_soft: #eef1f5;
  --_soft: color-mix(in srgb, var(--_fg) 7%, var(--_bg));
  --_tint: color-mix(in srgb, var(--_accent) 10%, var(--_bg));
  display: block;
  box-sizing: border-box;
  width: 100%;
  max-width: 640px;
  color: var(--_fg);
  background: var(--_bg);
  font-family: var(--_font);
  font-size: 1rem;
  line-height: 1.5;
  border: 1px solid var(--_line);
  border-radius: var(--_radius);
  text-align: start;
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
.panel { padding: clamp(16px, 4vw, 28px); }
h2, h3, h4, p { margin: 0; }
h2 { font-size: 1.35rem; line-height: 1.3; }
h3 { font-size: 1.1rem; margin-top: 1.75rem; }
h4 { font-size: 1rem; }
p + p, p + ul, h2 + p { margin-top: 0.6rem; }
.muted { color: var(--_muted); }
.small { font-size: 0.9rem; }
[tabindex="-1"]:focus { outline: none; }
[tabindex="-1"]:focus-visible { outline: 2px dashed var(--_accent); outline-offset: 4px; }
button, input { font: inherit; }
:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
button {
  min-height: 48px;
  min-width: 48px;
  padding: 0.6rem 1.25rem;
  border-radius: var(--_radius);
  border: 2px solid var(--_accent);
  background: var(--_accent);
  color: var(--_bg);
  font-weight: 600;
  cursor: pointer;
  touch-action: manipulation;
}
button.secondary { background: transparent; color: var(--_accent); }
button:hover:not(:disabled) { filter: brightness(1.08); }
button:disabled { opacity: 0.45; cursor: not-allowed; }
.features { margin: 1rem 0 1.25rem; padding-left: 1.25rem; }
.features li + li { margin-top: 0.25rem; }
.progress-label { font-weight: 600; color: var(--_muted); font-size: 0.95rem; }
.progressbar {
  height: 8px;
  margin: 0.4rem 0 1.25rem;
  border-radius: 999px;
  background: var(--_soft);
  overflow: hidden;
}
.progressbar > div { height: 100%; background: var(--_accent); border-radius: inherit; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { padding: 0; margin: 0; width: 100%; }
.stem { font-size: 1.15rem; font-weight: 600; line-height: 1.45; }
.hint { margin: 0.5rem 0 0.9rem; color: var(--_muted); font-weight: 600; }
.options { display: grid; gap: 0.6rem; }
.option {
  display: flex;
  align-items: flex-start;
  gap: 0.75rem;
  min-height: 48px;
  padding: 0.75rem 0.9rem;
  border: 1px solid var(--_line);
  border-radius: var(--_radius);
  cursor: pointer;
  overflow-wrap: anywhere;
}
.option:hover { border-color: var(--_accent); }
.option:has(input:checked) { border-color: var(--_accent); background: var(--_tint); }
.option:has(input:disabled) { cursor: not-allowed; opacity: 0.6; }
.option input {
  flex: none;
  width: 1.35rem;
  height: 1.35rem;
  margin: 0.1rem 0 0;
  accent-color: var(--_accent);
}
.nav { display: flex; flex-wrap: wrap; gap: 0.75rem; justify-content: space-between; margin-top: 1.5rem; }
.nav .spacer { flex: 1 1 auto; }
.unanswered { margin-top: 0.9rem; color: var(--_muted); font-size: 0.95rem; }
.status { display: flex; align-items: center; gap: 0.75rem; min-height: 6rem; }
.spinner {
  width: 1.5rem; height: 1.5rem; flex: none;
  border: 3px solid var(--_soft); border-top-color: var(--_accent); border-radius: 50%;
  animation: spin 0.9s linear infinite;
}
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 3s; } }
.error-box {
  border-left: 4px solid var(--_accent);
  padding: 0.75rem 1rem;
  background: var(--_soft);
  border-radius: 0 var(--_radius) var(--_radius) 0;
  font-weight: 600;
}
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.25rem; }
.scorebox { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 0.75rem; margin-top: 1rem; }
.score { font-size: clamp(3rem, 14vw, 4.5rem); font-weight: 800; line-height: 1; color: var(--_accent); }
.scale { color: var(--_muted); font-weight: 600; }
.verdict { font-weight: 700; margin-top: 0.75rem; }
.note { margin-top: 0.75rem; padding: 0.6rem 0.8rem; background: var(--_soft); border-radius: var(--_radius); font-size: 0.95rem; }
.domains { list-style: none; margin: 0.75rem 0 0; padding: 0; display: grid; gap: 1rem; }
.domain-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 0.5rem; }
.domain-name { font-weight: 600; }
.domain-pct { margin-left: auto; font-weight: 700; }
.badge {
  display: inline-block;
  padding: 0.05rem 0.5rem;
  border-radius: 999px;
  border: 1px solid var(--_accent);
  color: var(--_accent);
  font-size: 0.8rem;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: 0.03em;
}
.track { position: relative; height: 14px; margin: 0.4rem 0 0.3rem; border-radius: 999px; background: var(--_soft); }
.fill { height: 100%; border-radius: inherit; background: var(--_accent); }
.domain[data-rating="needs_improvement"] .fill { opacity: 0.6; }
.marker { position: absolute; top: -5px; bottom: -5px; width: 3px; margin-left: -1.5px; background: var(--_fg); border-radius: 2px; }
.domain-detail { font-size: 0.9rem; color: var(--_muted); }
.plan { margin: 0.75rem 0 0; padding-left: 1.25rem; }
.plan > li + li { margin-top: 1rem; }
.plan ul { margin: 0.35rem 0 0; padding-left: 1.1rem; }
.plan ul li + li { margin-top: 0.25rem; }
.ts-id { font-weight: 600; }
.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
@media (forced-colors: active) {
  .fill, .progressbar > div { background: Highlight; forced-color-adjust: none; }
  .marker { background: CanvasText; forced-color-adjust: none; }
}
`;

  /** Build an element: h("p", {class: "x", onclick: fn}, "text", child). Text is never parsed as HTML. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "checked") el.checked = Boolean(value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function percentText(fraction) {
    const pct = Number(fraction) * 100;
    if (!Number.isFinite(pct)) return "–";
    if (pct > 0 && pct < 1) return "under 1%";
    if (pct > 99 && pct < 100) return "over 99%";
    return `${Math.round(pct)}%`;
  }

  function hoursText(hours) {
    const n = Number(hours);
    if (!Number.isFinite(n)) return "";
    const shown = Math.round(n * 10) / 10;
    return `${shown} ${shown === 1 ? "hour" : "hours"}`;
  }

  function clampPercent(value) {
    const n = Number(value);
    return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0;
  }

  function sentence(text) {
    const s = String(text || "").trim();
    if (!s) return "";
    const first = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(first) ? first : `${first}.`;
  }

  /** A failed request, described for people. `retry` says whether repeating it can help. */
  class DiagnosticError extends Error {
    constructor(message, { kind = "api", retry = false, status = 0, code = "" } = {}) {
      super(message);
      this.kind = kind;
      this.retry = retry;
      this.status = status;
      this.code = code;
    }
  }

  class ExamDiagnostic extends HTMLElement {
    static get observedAttributes() {
      return ["exam"];
    }

    #root;
    #view;
    #live;
    #ready = false;
    #busy = false;
    #session = null; // {attemptId, attemptToken, questions, answers, current, result}
    #pending = null; // repeats the request that failed
    #liveTimer = 0;

    constructor() {
      super();
      this.#root = this.attachShadow({ mode: "open" });
    }

    connectedCallback() {
      if (this.#ready) return;
      this.#ready = true;
      this.#applyStyles();
      this.#live = h("div", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "true" });
      this.#view = h("div", { class: "panel" });
      this.#root.append(this.#view, this.#live);
      this.#restore(false);
    }

    attributeChangedCallback(name, oldValue, newValue) {
      if (name === "exam" && this.#ready && oldValue !== newValue && !this.#busy) this.#restore(false);
    }

    get exam() {
      return (this.getAttribute("exam") || "clf-c02").trim();
    }

    get apiBase() {
      const attr = (this.getAttribute("api-base") || "").trim();
      return (attr || SCRIPT_BASE).replace(/\/+$/, "");
    }

    // ------------------------------------------------------------------ plumbing

    #applyStyles() {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        this.#root.adoptedStyleSheets = [sheet]; // not blocked by a page's style-src CSP
      } catch {
        this.#root.append(h("style", null, CSS));
      }
    }

    #setState(state) {
      this.setAttribute("data-state", state);
    }

    #announce(text) {
      clearTimeout(this.#liveTimer);
      this.#live.textContent = "";
      // A short gap so that the same text twice in a row is announced twice.
      this.#liveTimer = setTimeout(() => {
        this.#live.textContent = text;
      }, 60);
    }

    #show(...nodes) {
      this.#view.replaceChildren(...nodes);
    }

    get #storageKey() {
      return `exam-diagnostic:${this.exam}`;
    }

    #load() {
      try {
        const raw = window.sessionStorage.getItem(this.#storageKey);
        if (!raw) return null;
        const s = JSON.parse(raw);
        if (
          !s ||
          typeof s.attemptId !== "string" ||
          typeof s.attemptToken !== "string" ||
          !Array.isArray(s.questions) ||
          s.questions.length === 0
        ) {
          return null;
        }
        const answers = s.answers && typeof s.answers === "object" ? s.answers : {};
        const current = Number.isInteger(s.current) ? s.current : 0;
        return { ...s, answers, current, result: s.result || null };
      } catch {
        return null;
      }
    }

    #save() {
      const s = this.#session;
      if (!s) return;
      try {
        window.sessionStorage.setItem(
          this.#storageKey,
          JSON.stringify({
            attemptId: s.attemptId,
            attemptToken: s.attemptToken,
            questions: s.questions,
            answers: s.answers,
            current: s.current,
            result: s.result,
          }),
        );
      } catch {
        // Storage full or blocked (private mode, sandboxed frame): answers stay in memory.
      }
    }

    #forget() {
      this.#session = null;
      try {
        window.sessionStorage.removeItem(this.#storageKey);
      } catch {
        // nothing to remove
      }
    }

    #restore(focus) {
      this.#pending = null;
      this.#session = this.#load();
      if (this.#session && this.#session.result) this.#renderResult(this.#session.result, focus);
      else if (this.#session) this.#renderQuestion(focus);
      else this.#renderStart(focus);
    }

    async #request(method, path, body, extraHeaders) {
      const headers = { "Content-Type": "application/json", ...extraHeaders };
      const key = this.getAttribute("api-key");
      if (key) headers["X-Api-Key"] = key.trim();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      let response;
      let data = null;
      try {
        response = await fetch(this.apiBase + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          mode: "cors",
          credentials: "omit",
          cache: "no-store",
          signal: controller.signal,
        });
        const text = await response.text();
        if (text) {
          try {
            data = JSON.parse(text);
          } catch {
            data = null;
          }
        }
      } catch {
        throw new DiagnosticError(MESSAGES.network, { kind: "network", retry: true });
      } finally {
        clearTimeout(timer);
      }
      const status = response.status;
      if (response.ok) {
        if (data && typeof data === "object") return data;
        throw new DiagnosticError(MESSAGES.network, { kind: "network", retry: true, status });
      }
      if (status === 429) throw new DiagnosticError(MESSAGES.busy, { kind: "busy", retry: true, status });
      if (status >= 500) throw new DiagnosticError(MESSAGES.network, { kind: "network", retry: true, status });
      const apiError = data && typeof data === "object" && data.error && typeof data.error === "object" ? data.error : null;
      if (apiError && typeof apiError.message === "string" && apiError.message) {
        throw new DiagnosticError(sentence(apiError.message), {
          kind: "api",
          status,
          code: typeof apiError.code === "string" ? apiError.code : "",
        });
      }
      if (status === 403) throw new DiagnosticError(MESSAGES.key, { kind: "key", status });
      throw new DiagnosticError(`The exam service could not handle this request (error ${status}).`, {
        kind: "api",
        status,
      });
    }

    /** Run one request with a loading screen; on failure show the error, and let Retry repeat it. */
    async #run(task, loadingText) {
      if (this.#busy) return;
      this.#busy = true;
      this.#pending = () => this.#run(task, loadingText);
      this.#renderLoading(loadingText);
      try {
        await task();
        this.#pending = null;
      } catch (err) {
        const error =
          err instanceof DiagnosticError ? err : new DiagnosticError(MESSAGES.network, { kind: "network", retry: true });
        this.#renderError(error);
      } finally {
        this.#busy = false;
      }
    }

    // ------------------------------------------------------------------ actions

    #start() {
      this.#run(async () => {
        const data = await this.#request("POST", "/diagnostics", { examId: this.exam });
        if (
          typeof data.attemptId !== "string" ||
          typeof data.attemptToken !== "string" ||
          !Array.isArray(data.questions) ||
          data.questions.length === 0
        ) {
          throw new DiagnosticError(MESSAGES.network, { kind: "network", retry: true });
        }
        this.#session = {
          attemptId: data.attemptId,
          attemptToken: data.attemptToken,
          questions: data.questions,
          answers: {},
          current: 0,
          result: null,
        };
        this.#save();
        this.#renderQuestion(true);
      }, "Preparing your questions…");
    }

    #go(delta) {
      const s = this.#session;
      if (!s) return;
      const next = Math.min(s.questions.length - 1, Math.max(0, s.current + delta));
      if (next === s.current) return;
      s.current = next;
      this.#save();
      this.#renderQuestion(true);
    }

    #submit() {
      const s = this.#session;
      if (!s) return;
      const responses = s.questions
        .map((q) => ({ questionId: q.questionId, selected: [...(s.answers[q.questionId] || [])] }))
        .filter((r) => r.selected.length > 0);
      const attemptId = s.attemptId;
      this.#run(async () => {
        const result = await this.#request(
          "POST",
          `/diagnostics/${encodeURIComponent(attemptId)}/submit`,
          { responses },
          { "X-Attempt-Token": s.attemptToken },
        );
        if (typeof result.scaledScore !== "number") {
          throw new DiagnosticError(MESSAGES.network, { kind: "network", retry: true });
        }
        s.result = result;
        this.#save();
        this.#renderResult(result, true);
        this.dispatchEvent(
          new CustomEvent("exam-diagnostic-result", {
            bubbles: true,
            composed: true,
            detail: { attemptId, result },
          }),
        );
      }, "Scoring your answers…");
    }

    #restart() {
      this.#forget();
      this.#pending = null;
      this.#renderStart(true);
    }

    // ------------------------------------------------------------------ screens

    #renderStart(focus) {
      this.#setState("start");
      const count = 10;
      const start = h(
        "button",
        { type: "button", "data-testid": "start", onclick: () => this.#start() },
        "Start the check",
      );
      this.#show(
        h(
          "section",
          { "aria-labelledby": "start-title" },
          h("h2", { id: "start-title" }, `Free ${this.exam.toUpperCase()} readiness check`),
          h(
            "ul",
            { class: "features" },
            h("li", null, `${count} questions, no time limit`),
            h("li", null, "No account needed"),
            h("li", null, "An estimated score on the 100 to 1000 scale, your weakest area and a study plan"),
          ),
          start,
        ),
      );
      if (focus) start.focus();
    }

    #renderLoading(text) {
      this.#setState("loading");
      const status = h(
        "div",
        { class: "status", role: "status", tabindex: "-1" },
        h("span", { class: "spinner", "aria-hidden": "true" }),
        h("p", null, text),
      );
      this.#show(status);
      status.focus({ preventScroll: true });
    }

    #renderError(error) {
      this.#setState("error");
      const s = this.#session;
      const inProgress = Boolean(s && !s.result);
      const retry =
        error.retry && this.#pending
          ? h("button", { type: "button", "data-testid": "retry", onclick: () => this.#pending && this.#pending() }, "Try again")
          : null;
      const back = inProgress
        ? h("button", { type: "button", class: "secondary", onclick: () => this.#renderQuestion(true) }, "Back to the questions")
        : null;
      // An attempt the service no longer accepts (expired, already gone): offer a fresh start.
      const startOver =
        error.kind === "api" && s
          ? h("button", { type: "button", class: "secondary", "data-testid": "restart", onclick: () => this.#restart() }, "Start a new check")
          : null;
      const message = h("p", { class: "error-box", "data-testid": "error", tabindex: "-1" }, error.message);
      this.#show(
        h(
          "section",
          { "aria-labelledby": "error-title" },
          h("h2", { id: "error-title" }, "Something got in the way"),
          message,
          retry || back || startOver ? h("div", { class: "actions" }, retry, back, startOver) : null,
        ),
      );
      this.#announce(error.message);
      (retry || message).focus();
    }

    #renderQuestion(focus) {
      const s = this.#session;
      const total = s.questions.length;
      s.current = Math.min(total - 1, Math.max(0, s.current || 0));
      const index = s.current;
      const q = s.questions[index];
      const number = index + 1;
      const selectCount = Math.max(1, Number(q.selectCount) || 1);
      const multiple = q.type === "multiple" || selectCount > 1;
      const chosen = new Set(Array.isArray(s.answers[q.questionId]) ? s.answers[q.questionId] : []);
      const last = number === total;
      this.#setState("question");

      const inputs = [];
      const options = (q.options || []).map((option) => {
        const input = h("input", {
          type: multiple ? "checkbox" : "radio",
          name: `q-${number}`,
          value: option.id,
          "data-testid": "option",
          checked: chosen.has(option.id),
        });
        inputs.push(input);
        return h("label", { class: "option" }, input, h("span", null, option.text));
      });

      const counter = multiple ? h("span", { class: "counter" }) : null;
      const unanswered = last ? h("p", { class: "unanswered", id: "unanswered" }) : null;
      const refresh = () => {
        const picked = inputs.filter((i) => i.checked).map((i) => i.value);
        if (multiple) {
          const full = picked.length >= selectCount;
          for (const i of inputs) i.disabled = full && !i.checked;
          counter.textContent = ` (${picked.length} of ${selectCount} selected)`;
        }
        if (unanswered) {
          const missing = s.questions.filter((x) => !(s.answers[x.questionId] || []).length).length;
          unanswered.textContent = missing
            ? `${missing} ${missing === 1 ? "question is" : "questions are"} unanswered and will count as incorrect.`
            : "All questions answered.";
        }
      };
      const onChange = () => {
        const picked = inputs.filter((i) => i.checked).map((i) => i.value);
        if (picked.length) s.answers[q.questionId] = picked.slice(0, selectCount);
        else delete s.answers[q.questionId];
        this.#save();
        refresh();
      };
      for (const i of inputs) i.addEventListener("change", onChange);

      const heading = h("h2", { class: "stem", id: "stem", tabindex: "-1", "data-testid": "question-stem" }, q.stem);
      const hintText = multiple ? `Choose ${NUMBER_WORDS[selectCount] || selectCount}.` : "Choose one.";
      const progressText = `Question ${number} of ${total}`;
      const bar = h(
        "div",
        {
          class: "progressbar",
          role: "progressbar",
          "aria-label": "Progress",
          "aria-valuemin": "0",
          "aria-valuemax": String(total),
          "aria-valuenow": String(number),
          "aria-valuetext": progressText,
        },
        h("div", null),
      );
      bar.firstChild.style.width = `${(number / total) * 100}%`;

      const prev = h(
        "button",
        { type: "button", class: "secondary", "data-testid": "prev", disabled: index === 0, onclick: () => this.#go(-1) },
        "Previous",
      );
      const forward = last
        ? h("button", { type: "submit", "data-testid": "submit", "aria-describedby": "unanswered" }, "Submit answers")
        : h("button", { type: "submit", "data-testid": "next" }, "Next");

      const form = h(
        "form",
        { novalidate: true, "aria-labelledby": "progress-label" },
        h("p", { class: "progress-label", id: "progress-label" }, progressText),
        bar,
        h(
          "fieldset",
          { "aria-describedby": "hint" },
          h("legend", null, heading),
          h("p", { class: "hint", id: "hint" }, hintText, counter),
          h("div", { class: "options" }, options),
        ),
        h("div", { class: "nav" }, prev, h("span", { class: "spacer" }), forward),
        unanswered,
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (this.#busy) return;
        if (last) this.#submit();
        else this.#go(1);
      });
      refresh();
      this.#show(form);
      if (focus) {
        heading.focus();
        this.#announce(progressText);
      }
    }

    #renderResult(result, focus) {
      const scaleMax = result.scaleMax ?? 1000;
      const passing = result.passingScore ?? 700;
      const band = result.scoreBand || {};
      const heading = h("h2", { tabindex: "-1", id: "result-title" }, "Your readiness estimate");

      const domains = (Array.isArray(result.domains) ? result.domains : []).map((d) => {
        const weakest = d.domainId === result.weakestDomain;
        const pct = clampPercent(d.percent);
        const cut = clampPercent(d.expectedPercentAtCut);
        const fill = h("div", { class: "fill" });
        fill.style.width = `${pct}%`;
        const marker = h("div", { class: "marker", title: `About ${Math.round(cut)}% at the pass mark` });
        marker.style.left = `${cut}%`;
        const rating = d.rating === "meets" ? "At or above the pass mark" : "Needs improvement";
        return h(
          "li",
          {
            class: "domain",
            "data-testid": "domain-bar",
            "data-domain-id": d.domainId,
            "data-rating": d.rating,
            "data-weakest": weakest ? "true" : null,
          },
          h(
            "div",
            { class: "domain-head" },
            h("span", { class: "domain-name" }, d.name),
            weakest ? h("span", { class: "badge", "data-testid": "weakest" }, "Weakest") : null,
            h("span", { class: "domain-pct" }, `${Math.round(pct)}%`),
          ),
          h("div", { class: "track", "aria-hidden": "true" }, fill, marker),
          h(
            "p",
            { class: "domain-detail" },
            `${d.correct} of ${d.total} correct. About ${Math.round(cut)}% is typical at the pass mark. ${rating}.`,
          ),
        );
      });

      const plan = (Array.isArray(result.studyPlan) ? result.studyPlan : []).map((p) => {
        const statements = Array.isArray(p.taskStatements) ? p.taskStatements : [];
        const first = statements.slice(0, STUDY_FIRST); // the API lists the most missed first
        const more = statements.length - first.length;
        return h(
          "li",
          null,
          h("h4", null, `${p.name}: ${hoursText(p.hours)}`),
          first.length
            ? h(
                "ul",
                null,
                first.map((t) =>
                  h(
                    "li",
                    null,
                    h("span", { class: "ts-id" }, `${t.id} `),
                    t.text,
                    t.missed ? h("span", { class: "muted" }, ` (missed ${t.missed})`) : null,
                  ),
                ),
                more > 0 ? h("li", { class: "muted" }, `and ${more} more in this domain`) : null,
              )
            : null,
        );
      });

      const again = h(
        "button",
        { type: "button", class: "secondary", "data-testid": "restart", onclick: () => this.#restart() },
        "Take the check again",
      );

      this.#show(
        h(
          "section",
          { "aria-labelledby": "result-title" },
          heading,
          h(
            "div",
            { class: "scorebox" },
            h("p", { class: "score", "data-testid": "score" }, String(result.scaledScore)),
            h("p", { class: "scale" }, `out of ${scaleMax}, ${passing} to pass`),
          ),
          h(
            "p",
            { class: "verdict" },
            result.passed ? "At this level you would likely pass." : "You are not at the pass mark yet.",
          ),
          h("p", { "data-testid": "band" }, `Your score is likely between ${band.low} and ${band.high}.`),
          h("p", { "data-testid": "pass-probability" }, `Chance of passing today: ${percentText(result.passProbability)}`),
          result.note ? h("p", { class: "note", "data-testid": "note" }, result.note) : null,
          h("h3", null, "By domain"),
          h("p", { class: "small muted" }, "The line on each bar marks what a candidate right at the pass mark typically scores."),
          h("ul", { class: "domains" }, domains),
          h(
            "section",
            { "data-testid": "study-plan", "aria-labelledby": "plan-title" },
            h("h3", { id: "plan-title" }, "Your study plan"),
            plan.length
              ? [
                  h("p", { class: "small muted" }, "Hours per domain, and the task statements to study first."),
                  h("ol", { class: "plan" }, plan),
                ]
              : h("p", null, "Nothing stood out: review the whole exam guide at your own pace."),
          ),
          h("div", { class: "actions" }, again),
        ),
      );
      this.#setState("result");
      if (focus) {
        heading.focus();
        this.#announce(`Your estimated score is ${result.scaledScore} out of ${scaleMax}.`);
      }
    }
  }

  customElements.define(TAG, ExamDiagnostic);
})();
