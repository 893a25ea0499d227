import type { Column, OpenMode, Value } from "../types.js";

/**
 * The few operations a SQLite binding must offer so that `openGuardedConnection` can build a full engine
 * connection on it. Each driver package implements this once (a thin wrapper); everything else is shared.
 */
export interface NativeAdapter {
  /**
   * Opens the database file. `readwrite` must fail on a missing file and `readonly` must open read-only at the
   * file level. Integers must come back as bigint.
   */
  open(path: string, mode: OpenMode): NativeDatabase;
  /** Driver-specific checks of a bound value (e.g. libsql cannot bind text containing NUL). Throws `ARGS_INVALID`. */
  checkValue?(value: Value, where: string): void;
}

/** Parameter names (index i ↔ parameter i + 1) and the value for every index, resolved by `resolveArguments`. */
export interface Bindings {
  readonly params: readonly (string | null)[];
  readonly values: readonly Value[];
}

export interface NativeDatabase {
  loadExtension(path: string): void;
  /** `explain` is true for EXPLAIN statements: they are never cached. */
  prepare(sql: string, explain: boolean): NativeStatement;
  exec(sql: string): void;
  readonly inTransaction: boolean;
  close(): void;
  /**
   * Optional: returns a promise when the binding needs the event loop (e.g. to finalize dropped statements)
   * before the connection is fully idle; the host holds the next request until it settles.
   */
  settle?(): Promise<void> | undefined;
}

export interface NativeRunResult {
  readonly changes: number;
  /** Exact rowid, or null when the binding cannot report it exactly (the engine then asks SQLite). */
  readonly lastInsertRowid: bigint | null;
}

export interface NativeRows {
  /** The next row, or undefined at the end. */
  next(): Value[] | undefined;
  /** Resets the statement before its end. */
  close(): void;
}

export interface NativeStatement {
  /** Whether the statement returns rows (`sqlite3_column_count() > 0`). */
  readonly reader: boolean;
  columns(): Column[];
  /** Runs a statement that returns no rows. */
  run(bindings: Bindings): NativeRunResult;
  /** Runs a statement that returns rows, all of them as arrays. */
  all(bindings: Bindings): Value[][];
  iterate(bindings: Bindings): NativeRows;
}
