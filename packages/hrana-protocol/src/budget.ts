/**
 * Memory budgets for responses: what one response may hold, and what all responses of a server hold together.
 *
 * Sizes are estimates of the values a response carries (the same weights the drivers use to bound one statement's
 * result): text and blob lengths plus a small constant per value. They bound memory; they are not exact wire sizes.
 */
import { rowBytes } from "@hranad/driver";
import type { Col, CursorEntry, StmtResult } from "./messages.js";

/** Weight of a result's column list. */
function colsBytes(cols: readonly Col[]): number {
  let bytes = 0;
  for (const col of cols) bytes += (col.name?.length ?? 0) + (col.decltype?.length ?? 0) + 16;
  return bytes;
}

/** Weight of a statement result (its rows, the driver's `rowBytes`, and columns). */
export function stmtResultBytes(result: StmtResult): number {
  let bytes = 64 + colsBytes(result.cols);
  for (const row of result.rows) bytes += rowBytes(row);
  return bytes;
}

/** Weight of a cursor entry. */
export function cursorEntryBytes(entry: CursorEntry): number {
  switch (entry.type) {
    case "row":
      return rowBytes(entry.row) + 16;
    case "step_begin":
      return 32 + colsBytes(entry.cols);
    case "step_error":
    case "error":
      return entry.error.message.length + 64;
    default:
      return 64;
  }
}

/**
 * A pool of bytes shared by every response of a server: results being built and replies not yet sent. When it is
 * exhausted, statements fail with `SERVER_OVERLOADED` instead of growing the heap until the process dies.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  /** `limit` ≤ 0 means no limit. */
  constructor(limit: number) {
    this.limit = limit > 0 ? limit : Infinity;
  }

  get used(): number {
    return this.#used;
  }

  /** Bytes that can still be taken. */
  get available(): number {
    return Math.max(0, this.limit - this.#used);
  }

  take(bytes: number): void {
    this.#used += bytes;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/**
 * A statement error raised by a response bound: `RESPONSE_TOO_LARGE` (the response's own bound) or
 * `SERVER_OVERLOADED` (the server-wide pool is short; retry later). Reported inline like any statement error.
 */
export class ResponseBoundError extends Error {
  override readonly name = "ResponseBoundError";
  constructor(
    readonly code: "RESPONSE_TOO_LARGE" | "SERVER_OVERLOADED",
    message: string,
  ) {
    super(message);
  }
}

/** What bounds the next result of a response: one statement's limit, the response's, or the server's pool. */
export type RoomBound = "statement" | "response" | "server";

export interface ResponseBudgetOptions {
  /** Bytes one response may hold in all (a pipeline, a batch, a WebSocket message, a cursor fetch); ≤ 0: none. */
  readonly maxResponseBytes: number;
  /** Bytes one statement's result may hold (the drivers enforce it too); ≤ 0: none. */
  readonly maxResultBytes?: number;
  /** The server-wide pool this response draws from. */
  readonly pool?: ByteBudget;
}

/**
 * The bytes one response may still take. Every charge is also taken from the server's pool, and given back by
 * `release()` once the response has been sent (or dropped). Not reusable after `release()`.
 */
export class ResponseBudget {
  readonly #limit: number;
  readonly #statementLimit: number;
  readonly #pool: ByteBudget | undefined;
  #used = 0;
  #pooled = 0;
  #released = false;

  constructor(options: ResponseBudgetOptions) {
    this.#limit = options.maxResponseBytes > 0 ? options.maxResponseBytes : Infinity;
    const statement = options.maxResultBytes ?? 0;
    this.#statementLimit = statement > 0 ? statement : Infinity;
    this.#pool = options.pool;
  }

  /** Bytes charged so far. */
  get used(): number {
    return this.#used;
  }

  /** Whether the response has no room left at all (its own bound or the server's). */
  get exhausted(): boolean {
    return this.room().bytes <= 0;
  }

  /** The most bytes the next result may take, and which bound decides it. */
  room(): { readonly bytes: number; readonly bound: RoomBound } {
    const response = Math.max(0, this.#limit - this.#used);
    const server = this.#pool?.available ?? Infinity;
    if (this.#statementLimit <= response && this.#statementLimit <= server) return { bytes: this.#statementLimit, bound: "statement" };
    if (response <= server) return { bytes: response, bound: "response" };
    return { bytes: server, bound: "server" };
  }

  /** Records bytes now held by the response. */
  charge(bytes: number): void {
    this.#used += bytes;
    if (this.#pool !== undefined && !this.#released) {
      this.#pool.take(bytes);
      this.#pooled += bytes;
    }
  }

  /** Gives everything charged back to the server's pool. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#pool?.give(this.#pooled);
    this.#pooled = 0;
  }
}
