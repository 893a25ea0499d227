/** Codes of errors raised by hranad itself (not by SQLite). */
export type DriverErrorCode =
  /** Arguments do not match the statement's parameters (too few, unknown name, wrong type). */
  | "ARGS_INVALID"
  /** Both positional and named arguments where the statement cannot take both. */
  | "ARGS_BOTH_POSITIONAL_AND_NAMED"
  /** The SQL text holds no statement. */
  | "SQL_NO_STATEMENT"
  /** The SQL text holds more than one statement where one is expected. */
  | "SQL_MANY_STATEMENTS"
  /** The SQL text contains a NUL character (SQLite would silently ignore everything after it). */
  | "SQL_CONTAINS_NUL"
  /** `acquire` waited longer than its timeout. */
  | "POOL_TIMEOUT"
  /** The pool was closed. */
  | "POOL_CLOSED"
  /** The caller's AbortSignal aborted. */
  | "ABORTED"
  /** The connection was released or closed and cannot be used. */
  | "CONNECTION_CLOSED"
  /** A cursor is already open on this connection, or the cursor was closed. */
  | "CURSOR_BUSY"
  /** A capability the driver does not have. */
  | "NOT_SUPPORTED"
  /** The database file could not be opened (missing in read-write mode, not a database, …). */
  | "OPEN_FAILED"
  /** The worker hosting the connection died. */
  | "WORKER_FAILED"
  /** A statement's rows exceed the result size limit (a cursor streams them instead), or one row of a cursor does. */
  | "RESPONSE_TOO_LARGE"
  /** Internal, never shown to a client: an inline unit of work must be re-run on a worker connection. */
  | "INLINE_REDIRECT";

/** An error raised by hranad's driver layer itself. */
export class DriverError extends Error {
  override readonly name = "DriverError";
  constructor(
    readonly code: DriverErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An error reported by SQLite. `code` is the base result code name (`SQLITE_CONSTRAINT`), which is what Hrana
 * clients expect; `extendedCode` is the extended name (`SQLITE_CONSTRAINT_PRIMARYKEY`) when known.
 */
export class SqliteError extends Error {
  override readonly name = "SqliteError";
  constructor(
    message: string,
    readonly code: string,
    readonly extendedCode: string,
    readonly rawCode: number | undefined,
  ) {
    super(message);
  }
}

export function isDriverError(error: unknown, code?: DriverErrorCode): error is DriverError {
  return error instanceof DriverError && (code === undefined || error.code === code);
}
