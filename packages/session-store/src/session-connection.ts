import {
  DriverError,
  SqliteError,
  type ChangesetCapture,
  type Connection,
  type DescribeResult,
  type RowCursor,
  type Statement,
  type StatementResult,
  type Value,
} from "@hranad/driver";
import { TransactionAbortedError } from "./errors.js";
import type { SessionState } from "./session-state.js";

/**
 * SQLite result codes after which the engine itself may have rolled the transaction back (deadline interrupt,
 * lock or I/O trouble). SQLITE_CONSTRAINT is deliberately absent: `INSERT OR ROLLBACK` and `RAISE(ROLLBACK)` are
 * rollbacks the client asked for, and keep SQLite's ordinary semantics.
 */
const SERVER_ROLLBACK_CODES = new Set([
  "SQLITE_INTERRUPT",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_ABORT",
  "SQLITE_FULL",
  "SQLITE_IOERR",
  "SQLITE_NOMEM",
  "SQLITE_CORRUPT",
]);

/**
 * libSQL's `BEGIN TRANSACTION READONLY` (what `@libsql/client` sends for `batch(…, "read")` and
 * `transaction("read")`). Stock SQLite would parse `READONLY` as a transaction name and allow writes, so the session
 * runs `BEGIN DEFERRED` and switches the engine guard on until the transaction ends.
 */
const BEGIN_READONLY = /^\s*BEGIN\s+(?:DEFERRED\s+)?TRANSACTION\s+READONLY\s*;?\s*$/i;

export function isBeginReadOnly(sql: string): boolean {
  return typeof sql === "string" && sql.length < 128 && BEGIN_READONLY.test(sql);
}

function isServerRollback(error: unknown): boolean {
  if (error instanceof SqliteError) return SERVER_ROLLBACK_CODES.has(error.code);
  // The connection's worker died or the connection was lost: whatever it held is gone.
  return error instanceof DriverError && (error.code === "WORKER_FAILED" || error.code === "CONNECTION_CLOSED");
}

/**
 * The session's view of its pinned connection. It refuses every call once the session has ended (the connection
 * may already serve someone else) or is poisoned, and after a failed call it compares the autocommit state before
 * and after: a transaction that the server ended under the client poisons the session. It also makes
 * `BEGIN TRANSACTION READONLY` really read-only: the engine guard is on from the BEGIN until the transaction ends
 * (COMMIT, ROLLBACK, or an error that rolled it back); a read-only session's guard stays on throughout.
 */
export class SessionConnection implements Connection {
  readonly #state: SessionState;
  /** Present only when the pinned connection can capture changesets. */
  readonly startCapture?: () => Promise<ChangesetCapture>;

  constructor(state: SessionState) {
    this.#state = state;
    if (typeof state.inner?.startCapture === "function") {
      this.startCapture = () => this.#call((inner) => inner.startCapture!());
    }
  }

  get id(): number {
    return this.#state.inner?.id ?? this.#state.connectionId;
  }

  /** False while poisoned: from the client's point of view the transaction is still open, and failed. */
  get autocommit(): boolean {
    if (this.#state.poison !== undefined) return false;
    return this.#state.autocommit;
  }

  get readOnly(): boolean {
    return this.#state.inner?.readOnly ?? this.#state.readOnly;
  }

  get holdsState(): boolean {
    return this.#state.inner?.holdsState ?? false;
  }

  execute(statement: Statement): Promise<StatementResult> {
    if (isBeginReadOnly(statement.sql)) return this.#beginReadOnly((inner) => inner.execute({ ...statement, sql: "BEGIN DEFERRED" }));
    return this.#call((inner) => inner.execute(statement));
  }

  executeScript(sql: string): Promise<void> {
    return this.#call((inner) => inner.executeScript(sql));
  }

  describe(sql: string): Promise<DescribeResult> {
    return this.#call((inner) => inner.describe(sql));
  }

  async openCursor(statement: Statement): Promise<RowCursor> {
    const wasInTransaction = this.#inTransaction();
    const cursor = isBeginReadOnly(statement.sql)
      ? await this.#beginReadOnly((inner) => inner.openCursor({ ...statement, sql: "BEGIN DEFERRED" }))
      : await this.#call((inner) => inner.openCursor(statement));
    this.#state.cursors.add(cursor);
    return new GuardedCursor(cursor, this.#state, wasInTransaction);
  }

  isAutocommit(): Promise<boolean> {
    // A session that holds no connection is in autocommit: no need to take one to say so.
    if (this.#state.inner === undefined && this.#state.poison === undefined && this.#state.endReason === undefined) {
      return Promise.resolve(true);
    }
    return this.#call((inner) => inner.isAutocommit());
  }

  /** A read-only session's guard cannot be switched off from inside the session. */
  setReadOnly(on: boolean): Promise<void> {
    if (!on && this.#state.readOnly) {
      return Promise.reject(new DriverError("NOT_SUPPORTED", "This stream is read-only"));
    }
    return this.#call((inner) => inner.setReadOnly(on));
  }

  /**
   * Interrupts the statement running on the session's connection. A no-op once the session has ended (the
   * connection may already serve someone else) or while it holds none.
   */
  interrupt(): void {
    if (this.#state.endReason !== undefined) return;
    this.#state.inner?.interrupt();
  }

  /** The store owns the session's connection and returns it when the session ends; this is a no-op. */
  release(): Promise<void> {
    return Promise.resolve();
  }

  #inTransaction(): boolean {
    return !this.#state.autocommit;
  }

  /** Runs the BEGIN of a read-only transaction, then switches the guard on for the transaction's life. */
  #beginReadOnly<T>(begin: (inner: Connection) => Promise<T>): Promise<T> {
    return this.#call(async (inner) => {
      const result = await begin(inner);
      if (!inner.readOnly) await inner.setReadOnly(true);
      this.#state.readOnlyTransaction = true;
      return result;
    });
  }

  async #call<T>(run: (inner: Connection) => Promise<T>): Promise<T> {
    checkUsable(this.#state);
    const wasInTransaction = this.#inTransaction();
    try {
      const inner = await this.#state.track(connectionOf(this.#state));
      checkUsable(this.#state);
      const result = await this.#state.track(run(inner));
      this.#state.noteAutocommit(this.#state.autocommit);
      await settleReadOnly(this.#state);
      return result;
    } catch (error) {
      const autocommit = this.#state.autocommit;
      this.#state.noteAutocommit(autocommit);
      if (wasInTransaction && autocommit && isServerRollback(error)) poison(this.#state, error);
      await settleReadOnly(this.#state).catch(() => undefined);
      throw error;
    }
  }
}

/**
 * The session's connection, taken again from its pool when the session gave its own back between requests (with
 * the session's read-only guard switched on). Concurrent calls share one acquisition.
 */
function connectionOf(state: SessionState): Promise<Connection> {
  if (state.inner !== undefined) return Promise.resolve(state.inner);
  state.acquiring ??= (async () => {
    try {
      const connection = await state.pool.acquire();
      try {
        if (state.readOnly) await connection.setReadOnly(true);
      } catch (error) {
        await connection.release().catch(() => undefined);
        throw error;
      }
      if (state.endReason !== undefined) {
        // Ended while it waited (killed, expired): the connection goes straight back.
        await connection.release().catch(() => undefined);
        throw new DriverError("CONNECTION_CLOSED", "The stream is closed");
      }
      state.inner = connection;
      state.connectionId = connection.id;
      return connection;
    } finally {
      state.acquiring = undefined;
    }
  })();
  return state.acquiring;
}

/** A read-only transaction that ended (COMMIT, ROLLBACK, or an error that rolled it back): writes are allowed again. */
async function settleReadOnly(state: SessionState): Promise<void> {
  const inner = state.inner;
  if (!state.readOnlyTransaction || inner === undefined || !inner.autocommit || state.endReason !== undefined) return;
  state.readOnlyTransaction = false;
  if (!state.readOnly) await inner.setReadOnly(false);
}

function checkUsable(state: SessionState): void {
  if (state.endReason !== undefined) throw new DriverError("CONNECTION_CLOSED", "The stream is closed");
  if (state.poison !== undefined) throw new TransactionAbortedError(state.poison.code, state.poison.message);
}

function poison(state: SessionState, cause: unknown): void {
  if (state.poison !== undefined) return;
  const why = cause instanceof SqliteError || cause instanceof DriverError ? ` (${cause.code})` : "";
  state.poison = {
    code: "TRANSACTION_ABORTED",
    message: `The server rolled back this stream's transaction${why}; every later request on the stream fails`,
  };
}

/** A cursor that refuses to go on once its session ended or was poisoned, and poisons like `#call` does. */
class GuardedCursor implements RowCursor {
  constructor(
    readonly inner: RowCursor,
    readonly state: SessionState,
    readonly wasInTransaction: boolean,
  ) {}

  get columns(): RowCursor["columns"] {
    return this.inner.columns;
  }
  get affectedRowCount(): number {
    return this.inner.affectedRowCount;
  }
  get lastInsertRowid(): bigint | null {
    return this.inner.lastInsertRowid;
  }

  async next(maxRows: number, maxBytes?: number): Promise<{ readonly rows: readonly (readonly Value[])[]; readonly done: boolean }> {
    checkUsable(this.state);
    try {
      const page = await this.state.track(this.inner.next(maxRows, maxBytes));
      if (page.done) await this.#readBack(undefined);
      return page;
    } catch (error) {
      await this.#readBack(error);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.state.cursors.delete(this.inner);
    await this.state.track(this.inner.close());
    await settleReadOnly(this.state);
  }

  /** A cursor's statement may change the transaction state; read it back from SQLite rather than assume it. */
  async #readBack(error: unknown): Promise<void> {
    let autocommit: boolean;
    try {
      const inner = this.state.inner;
      autocommit = inner === undefined ? true : await this.state.track(inner.isAutocommit());
    } catch {
      autocommit = this.state.autocommit;
    }
    this.state.noteAutocommit(autocommit);
    if (error !== undefined && this.wasInTransaction && autocommit && isServerRollback(error)) poison(this.state, error);
    await settleReadOnly(this.state).catch(() => undefined);
  }
}
