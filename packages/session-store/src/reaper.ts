import type { Clock, TimerHandle } from "./clock.js";
import { DeadlineHeap } from "./deadline-heap.js";
import type { SessionState } from "./session-state.js";
import type { EndReason } from "./tombstones.js";

/** The limits the reaper enforces (the store's). */
export interface ReaperLimits {
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  /** 0: off. */
  readonly transactionTimeoutMs: number;
}

/** What the reaper asks of the store when a deadline falls due. */
export interface ReaperActions {
  end(state: SessionState, reason: EndReason): void;
  timeOutTransaction(state: SessionState): void;
}

/**
 * Expires idle and over-age sessions and times out transactions held too long. Deadlines sit in a min-heap and one
 * timer is armed for the earliest, rounded up to the granularity so that close deadlines share a wake-up: a session
 * expires within one granule of its deadline, and the cost does not grow with the number of live sessions. A busy
 * session is never touched; it is rescheduled when its request finishes.
 */
export class Reaper {
  readonly #granularityMs: number;
  readonly #clock: Clock;
  readonly #limits: ReaperLimits;
  readonly #actions: ReaperActions;
  readonly #heap = new DeadlineHeap<SessionState>();
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #stopped = false;

  constructor(granularityMs: number, clock: Clock, limits: ReaperLimits, actions: ReaperActions) {
    this.#granularityMs = granularityMs;
    this.#clock = clock;
    this.#limits = limits;
    this.#actions = actions;
  }

  /** Puts an idle session's next deadline in the heap, unless an earlier entry for it is already there. */
  schedule(state: SessionState): void {
    if (this.#stopped || state.endReason !== undefined || state.busy) return;
    const deadline = this.#nextDeadline(state);
    if (deadline === Infinity) return;
    if (state.heapDeadline !== undefined && state.heapDeadline <= deadline) return;
    state.heapDeadline = deadline;
    this.#heap.push(deadline, state);
    this.#arm();
  }

  /** Stops for good: no timer, no heap entry (the sessions forget theirs). */
  stop(sessions: Iterable<SessionState>): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.clear();
    for (const state of sessions) state.heapDeadline = undefined;
  }

  #nextDeadline(state: SessionState): number {
    const { idleTimeoutMs, maxLifetimeMs, transactionTimeoutMs } = this.#limits;
    let deadline = Infinity;
    if (state.expires) deadline = Math.min(state.lastActiveAt + idleTimeoutMs, state.createdAt + maxLifetimeMs);
    if (transactionTimeoutMs > 0 && state.transactionOpenedAt !== undefined && state.poison === undefined) {
      deadline = Math.min(deadline, state.transactionOpenedAt + transactionTimeoutMs);
    }
    return deadline;
  }

  /** Arms the single timer for the heap's earliest deadline, rounded up to the granularity. */
  #arm(): void {
    const top = this.#heap.peek();
    if (this.#stopped || top === undefined) return;
    const at = Math.ceil(top.at / this.#granularityMs) * this.#granularityMs;
    if (this.#timer !== undefined) {
      if (this.#timerAt !== undefined && this.#timerAt <= at) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), at - this.#clock.now());
  }

  #fire(): void {
    if (this.#stopped) return;
    this.#timer = undefined;
    this.#timerAt = undefined;
    const now = this.#clock.now();
    for (let top = this.#heap.peek(); top !== undefined && top.at <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      const state = top.key;
      if (state.heapDeadline === top.at) state.heapDeadline = undefined;
      this.#evaluate(state, now);
    }
    this.#arm();
  }

  /** Acts on a session whose heap entry fell due, judging by its real state (stale entries are harmless). */
  #evaluate(state: SessionState, now: number): void {
    if (state.endReason !== undefined || state.busy) return; // busy: rescheduled when its request finishes
    const { idleTimeoutMs, maxLifetimeMs, transactionTimeoutMs } = this.#limits;
    if (state.expires && now >= state.createdAt + maxLifetimeMs) {
      this.#actions.end(state, "lifetime");
      return;
    }
    if (state.expires && now >= state.lastActiveAt + idleTimeoutMs) {
      this.#actions.end(state, "expired");
      return;
    }
    if (
      transactionTimeoutMs > 0 &&
      state.transactionOpenedAt !== undefined &&
      state.poison === undefined &&
      now >= state.transactionOpenedAt + transactionTimeoutMs
    ) {
      this.#actions.timeOutTransaction(state);
    }
    this.schedule(state);
  }
}
