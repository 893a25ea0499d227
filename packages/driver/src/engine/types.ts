import type {
  CheckpointMode,
  CheckpointResult,
  Column,
  DescribeResult,
  JournalMode,
  OpenMode,
  Statement,
  StatementResult,
  Synchronous,
  Value,
} from "../types.js";

/** Everything an engine needs to open one connection (the pool's options with defaults applied). */
export interface EngineOpenOptions {
  readonly path: string;
  readonly mode: OpenMode;
  readonly busyTimeoutMs: number;
  readonly journalMode: JournalMode;
  readonly synchronous: Synchronous;
  /** 0 disables the deadline. */
  readonly statementTimeoutMs: number;
  /** Capacity of the prepared-statement cache (keyed by SQL text). */
  readonly statementCacheSize: number;
  /** Largest result of `execute`, and largest row of a cursor, in approximate bytes (0 = no limit). */
  readonly maxResultBytes: number;
  /** `PRAGMA journal_size_limit` of writable file connections (-1 = none); validated by the driver. */
  readonly journalSizeLimitBytes: number;
  /**
   * `PRAGMA wal_autocheckpoint` in pages; absent: SQLite's default (1000). The main-thread connection sets 0: a
   * checkpoint's writes and syncs must not run on the event loop (worker connections and the WAL guard do them).
   */
  readonly walAutocheckpointPages?: number;
}

/** One chunk of a cursor. `affectedRowCount`/`lastInsertRowid` are final once `done` is true. */
export interface CursorChunk {
  readonly rows: Value[][];
  readonly done: boolean;
  readonly affectedRowCount: number;
  readonly lastInsertRowid: bigint | null;
}

export interface EngineCursor {
  readonly columns: readonly Column[];
  /** At most `maxRows` rows, and no more once the chunk reaches `maxBytes` (when > 0); at least one while any remain. */
  step(maxRows: number, maxBytes?: number): CursorChunk;
  /** Resets the statement early (releasing its read snapshot). Idempotent. */
  close(): void;
}

/**
 * A synchronous connection that runs inside a worker thread. Every method may throw a `DriverError` or a
 * `SqliteError`; the host reads `inTransaction` back after every call, failed ones included.
 */
export interface EngineConnection {
  readonly inTransaction: boolean;
  readonly readOnly: boolean;
  /** A user left state on the connection since its last reset (TEMP objects, settings, attachments). */
  readonly holdsState: boolean;
  /**
   * The engine guard's interrupt key of this connection (`@hranad/sqlite-guard`'s `interruptKey`), which the host
   * hands to the main thread so that `Connection.interrupt()` can reach the connection. Absent: not interruptible.
   */
  readonly interruptKey?: string;
  execute(statement: Statement): StatementResult;
  executeScript(sql: string): void;
  describe(sql: string): DescribeResult;
  /** Opens the connection's only cursor (`CURSOR_BUSY` if one is open). */
  openCursor(statement: Statement): EngineCursor;
  setReadOnly(on: boolean): void;
  /** Changes the per-statement deadline (ms, 0 = none) for statements that start from now on. */
  setDeadline(ms: number): void;
  checkpoint(mode: CheckpointMode): CheckpointResult;
  /**
   * Before the connection goes back to its pool: closes the cursor, rolls back, restores the base read-only state.
   * Returns false when a user left state on it (a setting, a temp object, an attachment): the pool closes it then.
   */
  reset(): boolean;
  close(): void;
  /** Optional: a promise the host awaits before it runs the next request (see `NativeDatabase.settle`). */
  settle?(): Promise<void> | undefined;
}

/** What an engine module (the file a worker imports by URL) must export. */
export interface EngineModule {
  open(options: EngineOpenOptions): EngineConnection;
}
