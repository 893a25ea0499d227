/**
 * Stream errors of the session store. Each class has a stable `code` (sent to clients as Hrana's `Error.code`); the
 * store knows nothing of HTTP, so the transport maps codes to its statuses. Messages never echo the baton and never
 * leak paths.
 */

/** Why a baton (or the session behind it) was refused. */
export type BadBatonCode =
  /** Malformed or forged (bad MAC): nothing more is revealed. */
  | "BATON_INVALID"
  /** Authentic, but an older generation than the session's current one: a replay or a second concurrent request. */
  | "BATON_REUSED"
  /** Authentic and current, but the previous request on this stream is still running (e.g. a cursor body). */
  | "STREAM_BUSY"
  /** The session was reaped after being idle longer than the idle timeout. */
  | "STREAM_EXPIRED"
  /** The session was reaped because it outlived the maximum session lifetime. */
  | "STREAM_LIFETIME_EXCEEDED"
  /** An administrator killed the session. */
  | "STREAM_KILLED"
  /** The server ended the session because its client stopped reading a response (a cursor body). */
  | "STREAM_STALLED"
  /** The session was closed (by a `close` request or by the server). */
  | "STREAM_CLOSED"
  /** The server is shutting down and closed the session. */
  | "SERVER_SHUTTING_DOWN"
  /** Authentic, but minted by an earlier run of the server (same persistent key, other epoch). */
  | "SERVER_RESTARTED"
  /** Authentic, but no such session is known any more (ended longer ago than the tombstone retention). */
  | "STREAM_NOT_FOUND"
  /** Authentic, but the session belongs to another database than the one addressed. Not consumed. */
  | "BATON_DATABASE_MISMATCH";

export type SessionErrorCode =
  | BadBatonCode
  | "BATON_PRINCIPAL_MISMATCH"
  | "TOO_MANY_SESSIONS"
  | "TOO_MANY_CLIENT_SESSIONS"
  | "TRANSACTION_ABORTED"
  | "TRANSACTION_TIMEOUT";

/** Every code the store's errors carry (a transport maps them to its own statuses). */
export const SESSION_ERROR_CODES: readonly SessionErrorCode[] = Object.freeze([
  "BATON_INVALID",
  "BATON_REUSED",
  "STREAM_BUSY",
  "STREAM_EXPIRED",
  "STREAM_LIFETIME_EXCEEDED",
  "STREAM_KILLED",
  "STREAM_STALLED",
  "STREAM_CLOSED",
  "SERVER_SHUTTING_DOWN",
  "SERVER_RESTARTED",
  "STREAM_NOT_FOUND",
  "BATON_DATABASE_MISMATCH",
  "BATON_PRINCIPAL_MISMATCH",
  "TOO_MANY_SESSIONS",
  "TOO_MANY_CLIENT_SESSIONS",
  "TRANSACTION_ABORTED",
  "TRANSACTION_TIMEOUT",
] as const);

/** The base class of every error the store throws on purpose. */
export abstract class SessionError extends Error {
  abstract override readonly name: string;
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A baton that cannot be resumed: forged, malformed, replayed, expired, killed, closed, from another run… */
export class BadBatonError extends SessionError {
  override readonly name = "BadBatonError";
  declare readonly code: BadBatonCode;
  constructor(code: BadBatonCode, message: string) {
    super(code, message);
  }
}

/** The database already has as many sessions as its cap allows. Retry later. */
export class TooManySessionsError extends SessionError {
  override readonly name = "TooManySessionsError";
  declare readonly code: "TOO_MANY_SESSIONS";
  constructor(
    readonly database: string,
    readonly limit: number,
  ) {
    super(
      "TOO_MANY_SESSIONS",
      `Too many open streams for this database (limit ${limit}, maxSessionsPerDatabase): close idle streams, or raise limits.maxSessionsPerDatabase`,
    );
  }
}

/** The client already has as many sessions on the database as the per-client cap allows. Retry later. */
export class TooManyClientSessionsError extends SessionError {
  override readonly name = "TooManyClientSessionsError";
  declare readonly code: "TOO_MANY_CLIENT_SESSIONS";
  constructor(
    readonly database: string,
    readonly limit: number,
  ) {
    super(
      "TOO_MANY_CLIENT_SESSIONS",
      `Too many open streams from this client on this database (limit ${limit} per client, maxSessionsPerClient): ` +
        "close streams or commit transactions you no longer need, or raise limits.maxSessionsPerClient",
    );
  }
}

/** The baton belongs to a different principal than the one presenting it. The baton is not consumed. */
export class PrincipalMismatchError extends SessionError {
  override readonly name = "PrincipalMismatchError";
  declare readonly code: "BATON_PRINCIPAL_MISMATCH";
  constructor() {
    super("BATON_PRINCIPAL_MISMATCH", "The baton belongs to a different principal");
  }
}

/**
 * The session's transaction was rolled back by the server (statement deadline, lock timeout, transaction timeout):
 * every later statement on the session fails with this error, so nothing runs in autocommit by accident.
 */
export class TransactionAbortedError extends SessionError {
  override readonly name = "TransactionAbortedError";
  declare readonly code: "TRANSACTION_ABORTED" | "TRANSACTION_TIMEOUT";
  constructor(code: "TRANSACTION_ABORTED" | "TRANSACTION_TIMEOUT", message: string) {
    super(code, message);
  }
}

export function isSessionError(error: unknown, code?: SessionErrorCode): error is SessionError {
  return error instanceof SessionError && (code === undefined || error.code === code);
}
