/**
 * The pluggable driver interface of hranad.
 *
 * Everything above the drivers (registry, session store, Hrana executor) speaks only these types. All methods
 * that touch SQLite are asynchronous because drivers run their connections off the main event loop.
 */

/** A SQLite value as hranad carries it. Integers are always `bigint` so that no precision is lost. */
export type Value = null | bigint | number | string | Uint8Array;

/** How a database file is opened. */
export type OpenMode =
  /** read-write, creating the file when it does not exist */
  | "create"
  /** read-write; a missing file is an error (never silently re-created empty) */
  | "readwrite"
  /** read-only at the file level */
  | "readonly";

export type JournalMode = "wal" | "delete" | "truncate" | "persist" | "memory" | "off";
export type Synchronous = "off" | "normal" | "full" | "extra";

export interface OpenOptions {
  /** A file path, or `":memory:"` for a private in-memory database per connection. */
  readonly path: string;
  readonly mode: OpenMode;
  /** Milliseconds a connection waits on a lock before SQLITE_BUSY. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Default `"wal"` (ignored for read-only and in-memory databases). */
  readonly journalMode?: JournalMode;
  /** Default `"normal"`. */
  readonly synchronous?: Synchronous;
  /** Per-statement deadline, enforced inside SQLite by the engine guard. Default 30000; 0 disables it. */
  readonly statementTimeoutMs?: number;
  /** Maximum number of connections of the pool. Default 8. */
  readonly maxConnections?: number;
  /** How long `acquire` waits for a free connection before failing with `POOL_TIMEOUT`. Default 5000. */
  readonly acquireTimeoutMs?: number;
  /**
   * Largest result `execute` builds, in approximate bytes of its values; past it the statement fails with
   * `RESPONSE_TOO_LARGE` (cursors stream any size, but each of their rows must fit this bound). Default 10 MiB; 0
   * disables the limit. A statement may lower it for one call (`Statement.maxResultBytes`).
   */
  readonly maxResultBytes?: number;
  /**
   * `PRAGMA journal_size_limit` of writable file connections, in bytes: a WAL (or a persisted rollback journal) that
   * grew past it — a big transaction, or a reader that kept the WAL from being reset — is truncated back to it the
   * next time SQLite resets it (the first commit after a checkpoint that reached its end). Default 64 MiB; -1 means
   * no limit (SQLite's own default); 0 truncates to the smallest size each time.
   */
  readonly journalSizeLimitBytes?: number;
  /**
   * `PRAGMA wal_autocheckpoint` of writable file connections: after a commit that leaves this many pages or more in
   * the WAL, the committing connection runs a PASSIVE checkpoint. Default 1000 (SQLite's own); 0 disables automatic
   * checkpoints, for a database whose checkpoints another process runs (a replicator such as Litestream).
   */
  readonly walAutocheckpointPages?: number;
  /** Idle connections beyond one are closed after this many milliseconds unused. Default 30000. */
  readonly idleConnectionTimeoutMs?: number;
  /**
   * Deadline, in ms, of a statement run on the pool's main-thread connection (`Pool.inline`); a request spends at
   * most three times this inline before the rest of it goes to a worker. Default 2; 0 turns inline work off.
   */
  readonly inlineBudgetMs?: number;
}

/** What a driver can and cannot do. Declared, never faked. */
export interface DriverCapabilities {
  /** Changeset capture through the SQLite session extension. */
  readonly changesets: boolean;
  /** Statements are interrupted inside SQLite at their deadline. */
  readonly statementDeadline: boolean;
  /** The engine-level read-only guard can be switched per connection. */
  readonly readOnlyGuard: boolean;
  /**
   * Short one-shot work may run on a main-thread connection (`Pool.inline`). It needs an engine that finishes an
   * interrupted statement at once: one that leaves it in progress would pin an old snapshot on the main thread.
   * Absent: false.
   */
  readonly inline?: boolean;
}

export interface Driver {
  /** Stable name used in configuration, e.g. `"better-sqlite3"`. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Opens (and validates) a database into a bounded pool of connections. */
  open(options: OpenOptions): Promise<Pool>;
}

export interface PoolStats {
  /** Connections that exist (idle + in use). */
  readonly open: number;
  readonly idle: number;
  readonly inUse: number;
  /** Callers waiting in `acquire`. */
  readonly waiting: number;
  readonly max: number;
}

export type CheckpointMode = "passive" | "full" | "restart" | "truncate";

export interface CheckpointResult {
  /** SQLite's `busy` flag: 1 when the checkpoint could not complete. */
  readonly busy: number;
  /** Frames in the WAL, and frames checkpointed (-1 when not in WAL mode). */
  readonly log: number;
  readonly checkpointed: number;
}

export interface Pool {
  readonly path: string;
  readonly mode: OpenMode;
  /**
   * Takes a connection, waiting until one is free. Rejects with a `DriverError` `POOL_TIMEOUT` after the
   * pool's acquire timeout (or `timeoutMs`), `ABORTED` when the signal aborts, `POOL_CLOSED` after `close`.
   */
  acquire(signal?: AbortSignal, timeoutMs?: number): Promise<Connection>;
  /**
   * The pool's main-thread connection for one short request, once the request before it has given it back; or
   * undefined (none, still opening, too many waiting, or the main thread's share of statement time is spent).
   * Release it before the request ends.
   */
  inline?(): Promise<InlineLease | undefined>;
  /** Runs a WAL checkpoint on an idle connection of the pool. */
  checkpoint(mode?: CheckpointMode): Promise<CheckpointResult>;
  stats(): PoolStats;
  /** Waits for every connection to be released, then closes them all. Idempotent. */
  close(): Promise<void>;
}

/** One statement to execute, with Hrana's argument model. */
export interface Statement {
  readonly sql: string;
  /** Positional arguments: `args[i]` binds parameter index `i + 1`. */
  readonly args?: readonly Value[];
  /**
   * Named arguments. A name may carry its prefix (`:a`, `@a`, `$a`) or not (`a` tries `:a`, `@a`, `$a`).
   * May be mixed with positional arguments when the statement's parameter numbering allows it.
   */
  readonly namedArgs?: readonly NamedArg[];
  /** When false, rows are not returned (columns still are). Default true. */
  readonly wantRows?: boolean;
  /**
   * A bound for this call of `execute` only, in the same approximate bytes as the pool's `maxResultBytes`: the
   * effective bound is the smaller positive one of the two (0 or absent: the pool's). Past it the statement fails
   * with `RESPONSE_TOO_LARGE` and is reset, as with the pool's bound. `openCursor` ignores it.
   */
  readonly maxResultBytes?: number;
}

export interface NamedArg {
  readonly name: string;
  readonly value: Value;
}

export interface Column {
  readonly name: string;
  /** The declared type of the column, or null for expressions. */
  readonly decltype: string | null;
}

export interface StatementResult {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Value[])[];
  /** `sqlite3_changes()` for INSERT/UPDATE/DELETE statements; 0 for every other statement. */
  readonly affectedRowCount: number;
  /** The last insert rowid after an INSERT statement; null for every other statement. */
  readonly lastInsertRowid: bigint | null;
}

export interface DescribeResult {
  /** One entry per parameter index (1-based index = position + 1); the name with its prefix, or null for `?`. */
  readonly params: readonly (string | null)[];
  readonly columns: readonly Column[];
  /** 0: not EXPLAIN, 1: EXPLAIN, 2: EXPLAIN QUERY PLAN. */
  readonly explain: 0 | 1 | 2;
  /** `sqlite3_stmt_readonly`. */
  readonly readonly: boolean;
}

/**
 * A cursor over one statement's rows, fetched in chunks so that a large result is never held whole. A cursor streams
 * any total size, but each row must fit the pool's `maxResultBytes` (when > 0): a larger row fails the cursor (at
 * `openCursor` for the first row, else at `next`) with `RESPONSE_TOO_LARGE` ("a single row is larger than N bytes")
 * instead of being brought across, and the statement is reset.
 */
export interface RowCursor {
  readonly columns: readonly Column[];
  /**
   * Next rows: at most `maxRows`, and, when `maxBytes` is given (> 0), no more rows once the chunk's size reaches
   * `maxBytes` (the same approximate bytes as `maxResultBytes`; the row that reaches it is included). A chunk holds
   * at least one row while any remain. `done` is true once the statement has finished.
   */
  next(maxRows: number, maxBytes?: number): Promise<{ readonly rows: readonly (readonly Value[])[]; readonly done: boolean }>;
  /** Valid once `next` has returned `done: true`. */
  readonly affectedRowCount: number;
  readonly lastInsertRowid: bigint | null;
  /** Finishes the statement early. Idempotent. */
  close(): Promise<void>;
}

export interface Connection {
  /** Unique within the process. */
  readonly id: number;
  /**
   * The autocommit state as of the end of the last call (read back from SQLite after every call, success or
   * error — never assumed).
   */
  readonly autocommit: boolean;
  /** Whether the engine guard currently refuses every write on this connection. */
  readonly readOnly: boolean;
  /**
   * Whether a user left state on this connection that another connection would not have (TEMP objects, changed
   * settings such as `PRAGMA foreign_keys`, attached databases), as of the end of the last call: whoever holds it
   * for a stream must keep it rather than trade it for another. Cleared when the connection goes back to its pool.
   */
  readonly holdsState: boolean;

  /**
   * Executes exactly one statement. More than one is `SQL_MANY_STATEMENTS`, none is `SQL_NO_STATEMENT`, SQL text
   * containing a NUL character is `SQL_CONTAINS_NUL` (as for `executeScript`, `describe` and `openCursor`).
   */
  execute(statement: Statement): Promise<StatementResult>;
  /** Runs a script of `;`-separated statements without arguments, stopping at the first error. */
  executeScript(sql: string): Promise<void>;
  /** Describes one statement without running it. */
  describe(sql: string): Promise<DescribeResult>;
  /** Opens a cursor over one statement. Only one cursor may be open per connection. */
  openCursor(statement: Statement): Promise<RowCursor>;
  /** Reads the autocommit state back from SQLite. */
  isAutocommit(): Promise<boolean>;
  /** Switches the engine guard: while on, every write path is refused inside SQLite. */
  setReadOnly(on: boolean): Promise<void>;
  /**
   * Starts capturing a changeset of this connection's writes. Present only when the driver's
   * `capabilities.changesets` is true.
   */
  startCapture?(): Promise<ChangesetCapture>;
  /**
   * Interrupts the statement this connection is running now, inside SQLite; best effort, a no-op when the connection
   * is idle or released. The interrupted statement fails with SQLITE_INTERRUPT; the autocommit state is read back
   * as after any error (an interrupted write inside a transaction may roll the whole transaction back). Synchronous
   * and cheap: callable from the main thread while the connection's thread is blocked inside SQLite.
   */
  interrupt(): void;
  /** Returns the connection to its pool (rolling back any open transaction first). Idempotent. */
  release(): Promise<void>;
}

/**
 * A lease of a pool's main-thread connection, for one short request. Its statements never wait for a lock (busy
 * timeout 0) and stop at a deadline of a few milliseconds. Work is done in units (a request of a pipeline): when a
 * statement of a unit meets a lock, outlives its deadline, or the unit outgrows its budget, the lease rolls the unit
 * back and throws `InlineRedirect` — only if the unit began outside a transaction, on a connection holding no user
 * state, and has committed nothing yet; the caller then re-runs the whole unit (and the rest) on a worker
 * connection. Otherwise the statement's own error is thrown, as on any connection.
 */
export interface InlineLease extends Connection {
  /** Starts a unit of work; `key` names it (its SQL) so that a unit found slow goes to a worker next time. */
  beginUnit(key: string): void;
  /** Whether a unit of this key was found slow here lately (it goes to a worker for a while). */
  knownSlow(key: string): boolean;
  /** The unit finished inline: a unit of its key that was found slow before is forgiven. */
  endUnit(): void;
}

/** The main thread's inline work, process-wide. */
export interface InlineStats {
  readonly statements: number;
  readonly redirects: number;
  readonly usedMsThisWindow: number;
}

/** A changeset capture attached to one connection (the SQLite session extension). */
export interface ChangesetCapture {
  /** The changeset of the writes captured so far. */
  changeset(): Promise<Uint8Array>;
  /** Detaches the capture. Idempotent. */
  close(): Promise<void>;
}
