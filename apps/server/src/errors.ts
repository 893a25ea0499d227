/**
 * The server's error table: every error a client can see has a stable `code` and an HTTP status.
 * The README's error table is generated from the same facts; keep them in step.
 */

/** An error the server answers with `{message, code}` and `status`. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Status for errors raised by the packages below, keyed by their `code`. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // requests the server cannot parse
  PROTOCOL_ERROR: 400,
  // addressing
  DATABASE_NOT_FOUND: 404,
  DATABASE_NAME_INVALID: 404,
  // batons and streams (the session store's codes)
  BATON_INVALID: 400,
  BATON_REUSED: 400,
  STREAM_BUSY: 409,
  STREAM_EXPIRED: 400,
  STREAM_LIFETIME_EXCEEDED: 400,
  STREAM_KILLED: 400,
  STREAM_STALLED: 400,
  STREAM_CLOSED: 400,
  SERVER_RESTARTED: 400,
  STREAM_NOT_FOUND: 404,
  BATON_DATABASE_MISMATCH: 400,
  BATON_PRINCIPAL_MISMATCH: 403,
  TOO_MANY_SESSIONS: 429,
  TRANSACTION_ABORTED: 409,
  TRANSACTION_TIMEOUT: 409,
  // capacity and availability: the request may succeed if retried
  POOL_TIMEOUT: 503,
  POOL_CLOSED: 503,
  SERVER_SHUTTING_DOWN: 503,
  REGISTRY_CLOSED: 503,
  DATABASE_BUSY: 503,
  WORKER_FAILED: 503,
  CONNECTION_CLOSED: 503,
  // the client went away while its stream was being opened
  ABORTED: 499,
  // the database file cannot be opened (missing in readwrite mode, not a database…): the operator must act
  DATABASE_OPEN_FAILED: 500,
  OPEN_FAILED: 500,
};

interface CodedError {
  readonly code: string;
  readonly message: string;
}

function isCoded(error: unknown): error is CodedError {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** The answer for an error that ends a whole HTTP request: a status and a `{message, code}` body. */
export function toErrorReply(error: unknown): { status: number; message: string; code: string } {
  if (error instanceof ServerError) return { status: error.status, message: error.message, code: error.code };
  if (isCoded(error)) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined) return { status, message: error.message, code: error.code };
  }
  return { status: 500, message: "Internal server error", code: "INTERNAL_ERROR" };
}

/** Codes and statuses in one table, for the README and the `/` index. */
export const ERROR_STATUSES: Readonly<Record<string, number>> = STATUS_BY_CODE;
