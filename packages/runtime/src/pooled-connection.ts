import { DriverError } from "@hranad/driver";
import type {
  Column,
  Connection,
  DescribeResult,
  RowCursor,
  Statement,
  StatementResult,
  Value,
} from "@hranad/driver";
import type { CursorChunk } from "@hranad/driver/engine";
import { checkStatement } from "@hranad/driver";
import type { WorkerConnection } from "./worker-connection.js";

/**
 * A user's lease of a pooled connection. After `release()` (or a forced pool close) every method fails with
 * `CONNECTION_CLOSED`, even though the physical connection lives on for the next user.
 */
export class PooledConnection implements Connection {
  readonly id: number;
  #physical: WorkerConnection | undefined;
  readonly #giveBack: (physical: WorkerConnection) => Promise<void>;
  #cursor: ThreadedCursor | undefined;
  #released: Promise<void> | undefined;
  #lastAutocommit = true;
  #lastReadOnly = false;

  constructor(physical: WorkerConnection, giveBack: (physical: WorkerConnection) => Promise<void>) {
    this.id = physical.id;
    this.#physical = physical;
    this.#giveBack = giveBack;
  }

  get autocommit(): boolean {
    return this.#physical ? this.#physical.autocommit : this.#lastAutocommit;
  }

  get readOnly(): boolean {
    return this.#physical ? this.#physical.readOnly : this.#lastReadOnly;
  }

  get holdsState(): boolean {
    return this.#physical ? this.#physical.holdsState : false;
  }

  async execute(statement: Statement): Promise<StatementResult> {
    const physical = this.#live();
    return (await physical.request({ op: "execute", statement: checkStatement(statement) })) as StatementResult;
  }

  async executeScript(sql: string): Promise<void> {
    const physical = this.#live();
    if (typeof sql !== "string") throw new DriverError("ARGS_INVALID", "The script must be a string");
    await physical.request({ op: "script", sql });
  }

  async describe(sql: string): Promise<DescribeResult> {
    const physical = this.#live();
    if (typeof sql !== "string") throw new DriverError("ARGS_INVALID", "The SQL must be a string");
    return (await physical.request({ op: "describe", sql })) as DescribeResult;
  }

  async openCursor(statement: Statement): Promise<RowCursor> {
    const physical = this.#live();
    if (this.#cursor?.open) throw new DriverError("CURSOR_BUSY", "A cursor is already open on this connection");
    const checked = checkStatement(statement);
    const cursor = new ThreadedCursor(this);
    this.#cursor = cursor;
    try {
      const opened = (await physical.request({ op: "cursor-open", statement: checked })) as { columns: Column[] };
      cursor.columns = opened.columns;
      return cursor;
    } catch (error) {
      cursor.finish();
      throw error;
    }
  }

  async isAutocommit(): Promise<boolean> {
    const physical = this.#live();
    await physical.request({ op: "autocommit" });
    return physical.autocommit;
  }

  async setReadOnly(on: boolean): Promise<void> {
    const physical = this.#live();
    if (typeof on !== "boolean") throw new DriverError("ARGS_INVALID", "setReadOnly takes a boolean");
    await physical.request({ op: "read-only", on });
  }

  interrupt(): void {
    this.#physical?.interrupt();
  }

  release(): Promise<void> {
    if (!this.#released) {
      const physical = this.#detach();
      this.#released = physical ? this.#giveBack(physical) : Promise.resolve();
    }
    return this.#released;
  }

  /** Used by the pool when it closes by force: the lease dies without giving anything back. */
  invalidate(): void {
    this.#detach();
    this.#released ??= Promise.resolve();
  }

  /** The physical connection, for this lease's cursor. */
  physicalFor(cursor: ThreadedCursor): WorkerConnection {
    const physical = this.#live();
    if (this.#cursor !== cursor) throw new DriverError("CURSOR_BUSY", "The cursor was closed");
    return physical;
  }

  #detach(): WorkerConnection | undefined {
    const physical = this.#physical;
    if (physical) {
      this.#lastAutocommit = physical.autocommit;
      this.#lastReadOnly = physical.readOnly;
    }
    this.#physical = undefined;
    this.#cursor?.finish();
    this.#cursor = undefined;
    return physical;
  }

  #live(): WorkerConnection {
    if (!this.#physical) throw new DriverError("CONNECTION_CLOSED", "The connection was released");
    return this.#physical;
  }
}

/** A cursor whose statement runs in the connection's worker; each `next` brings one chunk across. */
class ThreadedCursor implements RowCursor {
  columns: readonly Column[] = [];
  affectedRowCount = 0;
  lastInsertRowid: bigint | null = null;
  readonly #lease: PooledConnection;
  #state: "open" | "done" | "closed" = "open";

  constructor(lease: PooledConnection) {
    this.#lease = lease;
  }

  get open(): boolean {
    return this.#state === "open";
  }

  /** Marks the cursor as no longer open (its statement finished or the lease ended). */
  finish(): void {
    if (this.#state === "open") this.#state = "closed";
  }

  async next(
    maxRows: number,
    maxBytes?: number,
  ): Promise<{ readonly rows: readonly (readonly Value[])[]; readonly done: boolean }> {
    if (this.#state === "done") return { rows: [], done: true };
    if (this.#state === "closed") throw new DriverError("CURSOR_BUSY", "The cursor was closed");
    if (!Number.isInteger(maxRows) || maxRows < 1) {
      throw new DriverError("ARGS_INVALID", "maxRows must be a positive integer");
    }
    if (maxBytes !== undefined && !(typeof maxBytes === "number" && maxBytes >= 0)) {
      throw new DriverError("ARGS_INVALID", "maxBytes must be a non-negative number");
    }
    const physical = this.#lease.physicalFor(this);
    let chunk: CursorChunk;
    try {
      const request = maxBytes ? { op: "cursor-next" as const, maxRows, maxBytes } : { op: "cursor-next" as const, maxRows };
      chunk = (await physical.request(request)) as CursorChunk;
    } catch (error) {
      this.#state = "closed";
      throw error;
    }
    if (chunk.done) {
      this.#state = "done";
      this.affectedRowCount = chunk.affectedRowCount;
      this.lastInsertRowid = chunk.lastInsertRowid;
    }
    return { rows: chunk.rows, done: chunk.done };
  }

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    let physical: WorkerConnection;
    try {
      physical = this.#lease.physicalFor(this);
    } catch {
      return;
    }
    await physical.request({ op: "cursor-close" });
  }
}
