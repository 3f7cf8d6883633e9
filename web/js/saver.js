/**
 * Autosave: every change joins a queue of pending responses (one per question, the last change wins),
 * kept in sessionStorage so a reload loses nothing, sent debounced in one PUT, retried after Retry-After
 * (503, 429, busy) or with backoff while offline. On a channel with no save route (the anonymous diagnostic) the
 * queue is where the answers live until the submit sends them all.
 */
import { ApiError, call, errorText, mine } from "./api.js";

/** @typedef {{questionId: string, selected: string[], flagged: boolean}} Resp */
/** @typedef {"saved"|"saving"|"retrying"|"offline"|"error"|"kept"} SaveState */
/** @typedef {{state: SaveState, pending: number, retryIn?: number, message?: string}} SaveStatus */

/** @param {string} attemptId */
export const pendingKey = (attemptId) => `exam-app:pending:${attemptId}`;

/** @param {string} attemptId @returns {Record<string, Resp>} */
export function loadPending(attemptId) {
  try {
    const raw = JSON.parse(sessionStorage.getItem(pendingKey(attemptId)) || "{}");
    return raw && typeof raw === "object" ? raw : {};
  } catch {
    return {};
  }
}

/** @param {Resp|undefined} a @param {Resp} b */
const same = (a, b) => !!a && a.flagged === b.flagged && a.selected.join() === b.selected.join();

export class Saver {
  /**
   * @param {string} attemptId
   * @param {{
   *   onStatus: (s: SaveStatus) => void,
   *   onRemaining?: (seconds: number) => void,
   *   onClosed?: (e: ApiError) => void,
   *   delayMs?: number,
   * }} hooks
   * @param {import("./api.js").Channel} [channel]
   */
  constructor(attemptId, hooks, channel = mine(attemptId)) {
    this.attemptId = attemptId;
    this.channel = channel;
    this.hooks = hooks;
    this.delayMs = hooks.delayMs ?? 500;
    /** @type {Record<string, Resp>} */
    this.pending = loadPending(attemptId);
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.timer = undefined;
    /** @type {Promise<void>|null} */
    this.inflight = null;
    this.again = false;
    this.failures = 0;
    this.stopped = false;
    this.onOnline = () => { if (this.count) this.schedule(0); };
    window.addEventListener("online", this.onOnline);
  }

  get count() { return Object.keys(this.pending).length; }

  /** The queued responses (sent with a submit so nothing is lost). @returns {Resp[]} */
  queued() { return Object.values(this.pending); }

  /** @param {Resp} resp */
  put(resp) {
    this.pending[resp.questionId] = { questionId: resp.questionId, selected: [...resp.selected], flagged: resp.flagged };
    this.persist();
    if (!this.channel.saves) { this.status({ state: "kept", pending: this.count }); return; }
    this.status({ state: "saving", pending: this.count });
    this.schedule(this.delayMs);
  }

  persist() {
    if (this.count) sessionStorage.setItem(pendingKey(this.attemptId), JSON.stringify(this.pending));
    else sessionStorage.removeItem(pendingKey(this.attemptId));
  }

  /** @param {SaveStatus} s */
  status(s) { if (!this.stopped) this.hooks.onStatus(s); }

  /** @param {number} ms */
  schedule(ms) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.flush(); }, ms);
  }

  /** Send everything queued now. Resolves when this round is over (saved, or a retry is scheduled). */
  flush() {
    if (!this.channel.saves) return Promise.resolve();
    if (this.inflight) { this.again = true; return this.inflight; }
    clearTimeout(this.timer);
    const batch = this.queued();
    if (!batch.length) { this.status({ state: "saved", pending: 0 }); return Promise.resolve(); }
    this.status({ state: "saving", pending: batch.length });
    this.inflight = this.send(batch).finally(() => {
      this.inflight = null;
      if (this.again) { this.again = false; this.schedule(0); }
    });
    return this.inflight;
  }

  /** @param {Resp[]} batch */
  async send(batch) {
    try {
      const res = await call("PUT", `${this.channel.path}/responses`, { responses: batch }, this.channel.headers);
      for (const r of batch) if (same(this.pending[r.questionId], r)) delete this.pending[r.questionId];
      this.persist();
      this.failures = 0;
      if (typeof res.remainingSeconds === "number" && this.hooks.onRemaining) this.hooks.onRemaining(res.remainingSeconds);
      this.status(this.count ? { state: "saving", pending: this.count } : { state: "saved", pending: 0 });
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, "offline", String(e), 0);
      if (err.code === "attempt_expired" || err.code === "attempt_submitted") {
        if (this.hooks.onClosed) this.hooks.onClosed(err);
        return;
      }
      if (err.retryable) {
        this.failures += 1;
        const wait = err.retryAfter > 0 ? err.retryAfter : Math.min(30, 2 ** Math.min(this.failures, 5));
        const offline = err.status === 0;
        this.status({ state: offline ? "offline" : "retrying", pending: this.count, retryIn: wait });
        this.schedule(wait * 1000);
        return;
      }
      // Refused for good (422 and the like): these changes can never be saved as they are.
      for (const r of batch) if (same(this.pending[r.questionId], r)) delete this.pending[r.questionId];
      this.persist();
      this.status({ state: "error", pending: this.count, message: errorText(err) });
    }
  }

  /** Forget the queue (after a submit took it) and stop timers. */
  clear() {
    this.pending = {};
    this.persist();
    this.stop();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
  }
}
