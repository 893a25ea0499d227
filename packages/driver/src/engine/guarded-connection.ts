import { DriverError } from "../errors.js";
import { resolveArguments } from "../binding.js";
import { LruCache } from "../lru-cache.js";
import { statementKind, type StatementKind } from "../statement-kind.js";
import { rowBytes } from "../values.js";
import type {
  CheckpointMode,
  CheckpointResult,
  Column,
  DescribeResult,
  Statement,
  StatementResult,
  Value,
} from "../types.js";
import { normalizeError, scrubPath } from "./errors.js";
import { GUARD_SQL, parseGuardDescription, type GuardDescription } from "./guard.js";
import type { Bindings, NativeAdapter, NativeDatabase, NativeRows, NativeStatement } from "./native.js";
import type { CursorChunk, EngineConnection, EngineCursor, EngineOpenOptions } from "./types.js";

const NO_BINDINGS: Bindings = { params: [], values: [] };
const JOURNAL_MODES = new Set(["wal", "delete", "truncate", "persist", "memory", "off"]);
const SYNCHRONOUS = new Set(["off", "normal", "full", "extra"]);
const CHECKPOINT_MODES = new Set(["passive", "full", "restart", "truncate"]);
/**
 * Makes SQLite check this connection's schema against the database file: a statement that reads a table starts
 * with a schema cookie check, and on a mismatch SQLite drops its cached schema and reloads it. (`PRAGMA
 * schema_version` reads the cookie but does not compare it.) With `LIMIT 0` it reads no row.
 */
const SCHEMA_CHECK_SQL = "SELECT 1 FROM sqlite_schema LIMIT 0";

/**
 * A statement of the LRU cache. Everything the engine reads from its description (parameter names, EXPLAIN, tail,
 * empty) and its kind follow from the SQL text alone, so a schema change cannot make them stale; the native
 * statement is re-prepared by SQLite itself when it meets a changed schema (SQLITE_SCHEMA, inside `step`).
 */
interface CachedStatement {
  readonly description: GuardDescription;
  readonly kind: StatementKind;
  native: NativeStatement | undefined;
}

function isMemoryPath(path: string): boolean {
  return path === ":memory:" || path === "" || path.startsWith("file::memory:");
}

/** The bound of one `execute`: the smaller positive one of the pool's and the statement's (0: none). */
function effectiveLimit(pool: number, statement: number | undefined): number {
  if (statement === undefined || !(statement > 0)) return pool;
  return pool > 0 ? Math.min(pool, statement) : statement;
}

/** SQLite ignores everything after a NUL in SQL text: such text is refused rather than silently cut. */
function checkNoNul(sql: string): void {
  if (sql.includes("\u0000")) throw new DriverError("SQL_CONTAINS_NUL", "SQL text must not contain a NUL character");
}

function rowTooLarge(limit: number): DriverError {
  return new DriverError("RESPONSE_TOO_LARGE", `A single row is larger than ${limit} bytes`);
}

/** A blob that is a view into a larger buffer is copied, so that posting a row does not post the whole buffer. */
function compactRow(row: Value[]): Value[] {
  for (let i = 0; i < row.length; i += 1) {
    const value = row[i];
    if (value instanceof Uint8Array && (value.byteOffset !== 0 || value.byteLength !== value.buffer.byteLength)) {
      row[i] = value.slice();
    }
  }
  return row;
}

function toBigInt(value: Value | undefined): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(Math.trunc(value));
  return 0n;
}

/**
 * Opens one connection on a native SQLite binding, loads the engine guard into it and returns the shared
 * engine implementation (binding, statement kind, results, cursors, read-only switch, deadline).
 */
export function openGuardedConnection(
  adapter: NativeAdapter,
  extensionPath: string,
  options: EngineOpenOptions,
): EngineConnection {
  let native: NativeDatabase;
  try {
    native = adapter.open(options.path, options.mode);
  } catch (error) {
    const normalized = normalizeError(error, options.path);
    if (normalized instanceof DriverError && normalized.code === "OPEN_FAILED") throw normalized;
    throw new DriverError("OPEN_FAILED", `Cannot open the database: ${scrubPath(messageOf(normalized), options.path)}`);
  }
  try {
    return new GuardedConnection(native, adapter, extensionPath, options);
  } catch (error) {
    try {
      native.close();
    } catch {
      // the open already failed; nothing more to report
    }
    const normalized = normalizeError(error, options.path);
    throw new DriverError("OPEN_FAILED", `Cannot open the database: ${messageOf(normalized)}`);
  }
}

/** Whether a binding's error is SQLite's generic SQLITE_ERROR, the code of a statement that does not compile. */
function isSqliteErrorCode(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "SQLITE_ERROR";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class GuardedCursor implements EngineCursor {
  readonly columns: readonly Column[];
  readonly #owner: GuardedConnection;
  readonly #kind: StatementKind;
  /** The largest row brought across (the pool's maxResultBytes; 0 = any). */
  readonly #maxRowBytes: number;
  #rows: NativeRows | undefined;
  #pending: Value[] | undefined;
  #finished: CursorChunk | undefined;

  constructor(
    owner: GuardedConnection,
    kind: StatementKind,
    columns: readonly Column[],
    rows: NativeRows | undefined,
    first: Value[] | undefined,
    finished: CursorChunk | undefined,
    maxRowBytes: number,
  ) {
    this.#owner = owner;
    this.#kind = kind;
    this.#maxRowBytes = maxRowBytes;
    this.columns = columns;
    this.#rows = rows;
    this.#pending = first;
    this.#finished = finished;
  }

  get open(): boolean {
    return this.#rows !== undefined;
  }

  step(maxRows: number, maxBytes?: number): CursorChunk {
    if (!Number.isInteger(maxRows) || maxRows < 1) {
      throw new DriverError("ARGS_INVALID", "maxRows must be a positive integer");
    }
    if (maxBytes !== undefined && !(typeof maxBytes === "number" && maxBytes >= 0)) {
      throw new DriverError("ARGS_INVALID", "maxBytes must be a non-negative number");
    }
    if (this.#finished) return { ...this.#finished, rows: [] };
    const rows = this.#rows;
    if (!rows) throw new DriverError("CURSOR_BUSY", "The cursor was closed");
    const byteBound = maxBytes !== undefined && maxBytes > 0 ? maxBytes : Infinity;
    const chunk: Value[][] = [];
    let bytes = 0;
    if (this.#pending) {
      chunk.push(this.#pending);
      bytes += rowBytes(this.#pending);
      this.#pending = undefined;
    }
    try {
      while (chunk.length < maxRows && bytes < byteBound) {
        const row = rows.next();
        if (row === undefined) {
          this.#rows = undefined;
          this.#owner.cursorEnded(this);
          const { affectedRowCount, lastInsertRowid } = this.#owner.changesFor(this.#kind, null);
          this.#finished = { rows: [], done: true, affectedRowCount, lastInsertRowid };
          return { ...this.#finished, rows: chunk };
        }
        const size = rowBytes(row);
        if (this.#maxRowBytes > 0 && size > this.#maxRowBytes) throw rowTooLarge(this.#maxRowBytes);
        chunk.push(compactRow(row));
        bytes += size;
      }
    } catch (error) {
      this.#rows = undefined;
      this.#owner.cursorEnded(this);
      try {
        rows.close(); // resets the statement (a no-op after SQLite's own error)
      } catch {
        // the error being reported matters more
      }
      throw this.#owner.normalize(error);
    }
    return { rows: chunk, done: false, affectedRowCount: 0, lastInsertRowid: null };
  }

  close(): void {
    const rows = this.#rows;
    this.#rows = undefined;
    this.#pending = undefined;
    if (!this.#finished) this.#finished = { rows: [], done: true, affectedRowCount: 0, lastInsertRowid: null };
    this.#owner.cursorEnded(this);
    if (rows) {
      try {
        rows.close();
      } catch {
        // resetting a statement cannot fail in a way the caller could act on
      }
    }
  }
}

class GuardedConnection implements EngineConnection {
  readonly #db: NativeDatabase;
  readonly #adapter: NativeAdapter;
  readonly #path: string;
  readonly #token: string;
  readonly #baseReadOnly: boolean;
  readonly #maxResultBytes: number;
  readonly interruptKey: string;
  readonly #statements: LruCache<string, CachedStatement>;
  /** Our own statements (guard calls, changes()), re-prepared after every read-only switch too. */
  readonly #internal = new Map<string, NativeStatement>();
  #readOnly = false;
  /** A user left state on the connection (TEMP objects, settings, attachments) since its last reset. */
  #holdsState = false;
  /** The current call compiled a statement: the guard's state mark must be read after it. */
  #compiled = false;
  #cursor: GuardedCursor | undefined;
  #closed = false;
  /** The guard's per-statement deadline now, in ms (0 = none). */
  #deadlineMs = 0;

  constructor(db: NativeDatabase, adapter: NativeAdapter, extensionPath: string, options: EngineOpenOptions) {
    this.#db = db;
    this.#adapter = adapter;
    this.#path = options.path;
    this.#statements = new LruCache(Math.max(1, options.statementCacheSize));
    this.#baseReadOnly = options.mode === "readonly";
    this.#maxResultBytes = options.maxResultBytes ?? 0;

    try {
      db.loadExtension(extensionPath);
    } catch (error) {
      // The message names the extension file: keep only its name (server paths stay private).
      const name = extensionPath.slice(extensionPath.lastIndexOf("/") + 1);
      throw new Error(`the engine guard could not be loaded: ${messageOf(error).split(extensionPath).join(name)}`);
    }
    const token = this.#internalValue(GUARD_SQL.token, NO_BINDINGS);
    if (typeof token !== "string") throw new Error("the engine guard returned no token");
    this.#token = token;
    const key = this.#internalValue(GUARD_SQL.interruptKey, { params: [null], values: [token] });
    if (typeof key !== "string") throw new Error("the engine guard returned no interrupt key");
    this.interruptKey = key;

    const busy = Math.max(0, Math.trunc(options.busyTimeoutMs));
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    if (!this.#baseReadOnly && !isMemoryPath(options.path)) {
      if (!JOURNAL_MODES.has(options.journalMode)) throw new Error(`unknown journal mode ${options.journalMode}`);
      db.exec(`PRAGMA journal_mode = ${options.journalMode.toUpperCase()}`);
      db.exec(`PRAGMA journal_size_limit = ${Math.trunc(options.journalSizeLimitBytes)}`);
      if (options.walAutocheckpointPages !== undefined) {
        db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.trunc(options.walAutocheckpointPages))}`);
      }
    }
    if (!SYNCHRONOUS.has(options.synchronous)) throw new Error(`unknown synchronous mode ${options.synchronous}`);
    db.exec(`PRAGMA synchronous = ${options.synchronous.toUpperCase()}`);
    const deadline = Math.max(0, Math.trunc(options.statementTimeoutMs));
    this.#internalValue(GUARD_SQL.deadline, { params: [null, null], values: [this.#token, BigInt(deadline)] });
    this.#deadlineMs = deadline;
    // Clients must not reach other files of the server through ATTACH.
    this.#internalValue(GUARD_SQL.attach, { params: [null, null], values: [this.#token, 0n] });
    if (this.#baseReadOnly) this.#switchReadOnly(true);
    // The set-up's own PRAGMAs are the connection's base state, not a user's.
    this.#takeDirty();
  }

  /** Whether a user left state on the connection beyond its database (settings, temp objects, attachments). */
  #takeDirty(): boolean {
    const dirty = this.#internalValue(GUARD_SQL.dirty, { params: [null], values: [this.#token] });
    return dirty === 1n || dirty === 1;
  }

  get inTransaction(): boolean {
    return this.#closed ? false : this.#db.inTransaction;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  normalize(error: unknown): unknown {
    return normalizeError(error, this.#path);
  }

  /** Whether a user left state on the connection (see `EngineConnection.holdsState`). */
  get holdsState(): boolean {
    return this.#holdsState;
  }

  execute(statement: Statement): StatementResult {
    try {
      return this.#execute(statement);
    } finally {
      this.#noteState();
    }
  }

  executeScript(sql: string): void {
    try {
      this.#executeScript(sql);
    } finally {
      this.#noteState();
    }
  }

  describe(sql: string): DescribeResult {
    try {
      return this.#describeStatement(sql);
    } finally {
      this.#noteState();
    }
  }

  openCursor(statement: Statement): EngineCursor {
    try {
      return this.#openCursor(statement);
    } finally {
      this.#noteState();
    }
  }

  /**
   * After a call that compiled something: reads (and clears) the guard's mark of statements that leave state on the
   * connection, and remembers it until the connection is reset. Calls that only ran cached statements cost nothing.
   */
  #noteState(): void {
    if (!this.#compiled) return;
    this.#compiled = false;
    if (this.#holdsState || this.#closed) return;
    try {
      if (this.#takeDirty()) this.#holdsState = true;
    } catch {
      this.#holdsState = true; // when in doubt, the connection keeps its user
    }
  }

  #execute(statement: Statement): StatementResult {
    this.#usable();
    try {
      const entry = this.#entry(statement.sql);
      const bindings = this.#bind(entry, statement);
      const native = this.#prepared(entry, statement.sql);
      if (native.reader) {
        let rows: Value[][];
        if (statement.wantRows === false) {
          // Still run the statement to its end (side effects, RETURNING), but keep no row.
          const iterator = native.iterate(bindings);
          while (iterator.next() !== undefined) {
            // discard
          }
          rows = [];
        } else {
          rows = this.#collect(native, bindings, effectiveLimit(this.#maxResultBytes, statement.maxResultBytes));
        }
        const columns = native.columns();
        return { columns, rows, ...this.changesFor(entry.kind, null) };
      }
      const result = native.run(bindings);
      return {
        columns: [],
        rows: [],
        ...this.changesFor(entry.kind, { changes: result.changes, lastInsertRowid: result.lastInsertRowid }),
      };
    } catch (error) {
      throw this.normalize(error);
    }
  }

  /** All rows of a reader, failing with RESPONSE_TOO_LARGE (and resetting it) past the result size limit. */
  #collect(native: NativeStatement, bindings: Bindings, limit: number): Value[][] {
    if (limit <= 0) return native.all(bindings).map(compactRow);
    const rows: Value[][] = [];
    const iterator = native.iterate(bindings);
    let bytes = 0;
    try {
      for (let row = iterator.next(); row !== undefined; row = iterator.next()) {
        bytes += rowBytes(row);
        if (bytes > limit) {
          throw new DriverError(
            "RESPONSE_TOO_LARGE",
            `The result is larger than ${limit} bytes: add a LIMIT, or read it through a cursor`,
          );
        }
        rows.push(compactRow(row));
      }
    } catch (error) {
      iterator.close();
      throw error;
    }
    return rows;
  }

  #executeScript(sql: string): void {
    this.#usable();
    this.#compiled = true;
    if (typeof sql !== "string") throw new DriverError("ARGS_INVALID", "The script must be a string");
    checkNoNul(sql);
    try {
      // A script cannot be retried once one of its statements ran: check the schema before it instead. In
      // autocommit that is invisible (the check's read transaction ends with it). Inside a transaction the check
      // could start the transaction's read snapshot early, so there it only follows an error: the failed
      // statement, sent again, then meets the current schema.
      if (this.#db.inTransaction) {
        try {
          this.#db.exec(sql);
        } catch (error) {
          if (isSqliteErrorCode(error)) this.#checkSchema();
          throw error;
        }
      } else {
        this.#checkSchema();
        this.#db.exec(sql);
      }
    } catch (error) {
      throw this.normalize(error);
    }
  }

  #describeStatement(sql: string): DescribeResult {
    this.#usable();
    this.#compiled = true;
    try {
      // A statement that compiles against a stale schema would be described with its old columns: check first
      // (describe is not on the hot path), and then a failure is the statement's own. Inside a transaction only
      // after an error, as for scripts.
      let description: GuardDescription;
      if (this.#db.inTransaction) {
        description = this.#currentSchema(() => this.#describe(sql));
      } else {
        this.#checkSchema();
        description = this.#describe(sql);
      }
      this.#checkSingle(description);
      return {
        params: description.params,
        columns: description.columns,
        explain: description.explain,
        readonly: description.readonly,
      };
    } catch (error) {
      throw this.normalize(error);
    }
  }

  #openCursor(statement: Statement): EngineCursor {
    this.#usable();
    try {
      const entry = this.#entry(statement.sql);
      const bindings = this.#bind(entry, statement);
      const native = this.#prepared(entry, statement.sql);
      let cursor: GuardedCursor;
      if (!native.reader) {
        const result = native.run(bindings);
        const changes = this.changesFor(entry.kind, result);
        cursor = new GuardedCursor(this, entry.kind, [], undefined, undefined, { rows: [], done: true, ...changes }, 0);
        return cursor;
      }
      const rows = native.iterate(bindings);
      let first: Value[] | undefined;
      try {
        // Step once so that errors of the first step surface here and the column list is current.
        first = rows.next();
      } catch (error) {
        throw this.normalize(error);
      }
      const columns = native.columns();
      if (first === undefined) {
        const changes = this.changesFor(entry.kind, null);
        const done: CursorChunk = { rows: [], done: true, ...changes };
        return new GuardedCursor(this, entry.kind, columns, undefined, undefined, done, this.#maxResultBytes);
      }
      if (this.#maxResultBytes > 0 && rowBytes(first) > this.#maxResultBytes) {
        rows.close();
        throw rowTooLarge(this.#maxResultBytes);
      }
      cursor = new GuardedCursor(this, entry.kind, columns, rows, compactRow(first), undefined, this.#maxResultBytes);
      this.#cursor = cursor;
      return cursor;
    } catch (error) {
      throw this.normalize(error);
    }
  }

  /** Called by a cursor that reached its end, failed or was closed. */
  cursorEnded(cursor: GuardedCursor): void {
    if (this.#cursor === cursor) this.#cursor = undefined;
  }

  setReadOnly(on: boolean): void {
    this.#usable();
    if (typeof on !== "boolean") throw new DriverError("ARGS_INVALID", "setReadOnly takes a boolean");
    try {
      this.#switchReadOnly(on);
    } catch (error) {
      throw this.normalize(error);
    }
  }

  setDeadline(ms: number): void {
    this.#usable();
    if (ms === this.#deadlineMs) return;
    try {
      this.#internalValue(GUARD_SQL.deadline, { params: [null, null], values: [this.#token, BigInt(Math.max(0, Math.trunc(ms)))] });
      this.#deadlineMs = ms;
    } catch (error) {
      throw this.normalize(error);
    }
  }

  checkpoint(mode: CheckpointMode): CheckpointResult {
    this.#usable();
    if (!CHECKPOINT_MODES.has(mode)) throw new DriverError("ARGS_INVALID", `Unknown checkpoint mode ${String(mode)}`);
    try {
      const rows = this.#db.prepare(`PRAGMA wal_checkpoint(${mode.toUpperCase()})`, false).all(NO_BINDINGS);
      const row = rows[0] ?? [];
      return { busy: Number(row[0] ?? 0), log: Number(row[1] ?? -1), checkpointed: Number(row[2] ?? -1) };
    } catch (error) {
      throw this.normalize(error);
    }
  }

  /**
   * Readies the connection for its next user: rolls back, restores the base read-only mode, and reports whether it
   * is clean. A connection whose user changed a setting, created a temp object or attached a database is not: its
   * pool must close it rather than hand that state to someone else.
   */
  reset(): boolean {
    if (this.#closed) return false;
    this.#cursor?.close();
    try {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      if (this.#readOnly !== this.#baseReadOnly) this.#switchReadOnly(this.#baseReadOnly);
      const clean = !this.#takeDirty() && !this.#holdsState;
      this.#holdsState = false;
      this.#compiled = false;
      return clean;
    } catch (error) {
      throw this.normalize(error);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#cursor?.close();
    this.#statements.clear();
    this.#internal.clear();
    this.#closed = true;
    this.#db.close();
  }

  /** `affectedRowCount`/`lastInsertRowid` by Hrana's rules; asks SQLite when the binding cannot say exactly. */
  changesFor(
    kind: StatementKind,
    known: { changes: number; lastInsertRowid: bigint | null } | null,
  ): { affectedRowCount: number; lastInsertRowid: bigint | null } {
    if (kind === "select" || kind === "other") return { affectedRowCount: 0, lastInsertRowid: null };
    if (known && (kind !== "insert" || known.lastInsertRowid !== null)) {
      return { affectedRowCount: known.changes, lastInsertRowid: kind === "insert" ? known.lastInsertRowid : null };
    }
    const row = this.#internalRow("SELECT changes(), last_insert_rowid()", NO_BINDINGS);
    return {
      affectedRowCount: Number(toBigInt(row[0])),
      lastInsertRowid: kind === "insert" ? toBigInt(row[1]) : null,
    };
  }

  #usable(): void {
    if (this.#closed) throw new DriverError("CONNECTION_CLOSED", "The connection is closed");
    if (this.#cursor) throw new DriverError("CURSOR_BUSY", "A cursor is open on this connection");
  }

  #switchReadOnly(on: boolean): void {
    this.#internalValue(GUARD_SQL.readOnly, { params: [null, null], values: [this.#token, on ? 1n : 0n] });
    this.#readOnly = on;
    // The guard's authorizer runs at prepare time: nothing prepared before the switch may run after it.
    this.#statements.clear();
    this.#internal.clear();
  }

  #describe(sql: string): GuardDescription {
    if (typeof sql !== "string") throw new DriverError("ARGS_INVALID", "The statement's sql must be a string");
    checkNoNul(sql);
    return parseGuardDescription(this.#internalValue(GUARD_SQL.describe, { params: [null], values: [sql] }));
  }

  #checkSingle(description: GuardDescription): void {
    if (description.empty) throw new DriverError("SQL_NO_STATEMENT", "SQL string does not contain any statement");
    if (description.tail) throw new DriverError("SQL_MANY_STATEMENTS", "SQL string contains more than one statement");
  }

  /**
   * Runs `compile` (a describe or a prepare) and, if SQLite refuses it, makes the connection check its schema and
   * runs it once more. SQLite compiles against the schema it last loaded and reloads it only when a statement
   * checks the schema cookie, or after a few compile errors ("no such table"): another connection's DDL can make
   * a compile fail on a stale schema ("table t has 1 columns but 2 values were supplied"), and keep failing. Nothing
   * ran yet, so trying again is safe; a statement that is simply wrong fails twice. Costs nothing until SQLite
   * refuses a statement.
   */
  #currentSchema<T>(compile: () => T): T {
    try {
      return compile();
    } catch (error) {
      if (!isSqliteErrorCode(error) || !this.#checkSchema()) throw error;
      return compile();
    }
  }

  /** Makes SQLite reload this connection's schema if the file's changed (see SCHEMA_CHECK_SQL). False if it could not. */
  #checkSchema(): boolean {
    try {
      this.#internalRow(SCHEMA_CHECK_SQL, NO_BINDINGS);
      return true;
    } catch {
      // e.g. SQLITE_BUSY: the caller reports its own error, or the statement meets its own
      return false;
    }
  }

  #entry(sql: string): CachedStatement {
    let entry = this.#statements.get(sql);
    if (!entry) {
      this.#compiled = true;
      const description = this.#currentSchema(() => this.#describe(sql));
      this.#checkSingle(description);
      entry = { description, kind: statementKind(sql), native: undefined };
      this.#statements.set(sql, entry);
    }
    return entry;
  }

  #prepared(entry: CachedStatement, sql: string): NativeStatement {
    // EXPLAIN statements are rare and some bindings only release them when dropped: never cache them.
    if (entry.description.explain !== 0) {
      this.#compiled = true;
      return this.#currentSchema(() => this.#db.prepare(sql, true));
    }
    if (entry.native === undefined) {
      this.#compiled = true;
      entry.native = this.#currentSchema(() => this.#db.prepare(sql, false));
    }
    return entry.native;
  }

  settle(): Promise<void> | undefined {
    return this.#closed ? undefined : this.#db.settle?.();
  }

  #bind(entry: CachedStatement, statement: Statement): Bindings {
    const { params, explain } = entry.description;
    const values = resolveArguments(params, statement, explain !== 0);
    const check = this.#adapter.checkValue;
    if (check) values.forEach((value, i) => check(value, `Argument for parameter ${params[i] ?? i + 1}`));
    return { params, values };
  }

  #internalRow(sql: string, bindings: Bindings): Value[] {
    let statement = this.#internal.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql, false);
      this.#internal.set(sql, statement);
    }
    return statement.all(bindings)[0] ?? [];
  }

  #internalValue(sql: string, bindings: Bindings): Value | undefined {
    return this.#internalRow(sql, bindings)[0];
  }
}
