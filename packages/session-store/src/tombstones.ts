import { BadBatonError } from "./errors.js";

/** Why a session ended. */
export type EndReason = "closed" | "expired" | "lifetime" | "killed" | "stalled" | "shutdown";

/** What is remembered about an ended session, so a late baton gets a precise answer. */
export interface Tombstone {
  readonly reason: EndReason;
  readonly database: string;
  readonly principal: string | null;
  /** When the session ended (clock time). */
  readonly endedAt: number;
  /** How long the session had been idle when it was reaped for idleness, in ms. */
  readonly idleForMs: number;
  /** How old the session was when it ended, in ms. */
  readonly ageMs: number;
}

/**
 * Ended sessions by id, kept for `ttlMs` and at most `maxEntries` (the oldest go first): bounded in time and in
 * memory, whatever the churn. A Map keeps insertion order, which here is also end order, so trimming is O(1) each.
 */
export class Tombstones {
  readonly #entries = new Map<string, Tombstone>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  add(id: string, tombstone: Tombstone): void {
    if (this.maxEntries <= 0 || this.ttlMs <= 0) return;
    this.#entries.delete(id);
    this.#entries.set(id, tombstone);
    this.#trim(tombstone.endedAt);
  }

  get(id: string, now: number): Tombstone | undefined {
    this.#trim(now);
    return this.#entries.get(id);
  }

  #trim(now: number): void {
    for (const [id, tombstone] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && now - tombstone.endedAt < this.ttlMs) break;
      this.#entries.delete(id);
    }
  }
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

/** The precise refusal for a baton of an ended session. */
export function tombstoneError(tombstone: Tombstone): BadBatonError {
  switch (tombstone.reason) {
    case "expired":
      return new BadBatonError(
        "STREAM_EXPIRED",
        `The stream has expired due to inactivity (idle for ${formatSeconds(tombstone.idleForMs)} s)`,
      );
    case "lifetime":
      return new BadBatonError(
        "STREAM_LIFETIME_EXCEEDED",
        `The stream exceeded the maximum stream lifetime (open for ${formatSeconds(tombstone.ageMs)} s)`,
      );
    case "killed":
      return new BadBatonError("STREAM_KILLED", "The stream was killed by an administrator");
    case "stalled":
      return new BadBatonError(
        "STREAM_STALLED",
        "The stream was ended because its client stopped reading a response; its transaction was rolled back",
      );
    case "shutdown":
      return new BadBatonError("SERVER_SHUTTING_DOWN", "The stream was closed because the server is shutting down");
    case "closed":
      return new BadBatonError("STREAM_CLOSED", "Stream for this baton was closed");
  }
}
