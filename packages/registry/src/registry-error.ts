/**
 * Why the registry refused something. Messages may name a database but never reveal a file path, so they are safe
 * to send to clients; the underlying driver error (if any) is kept as `cause` for server logs only.
 */
export type RegistryErrorCode =
  /** No database of that name is attached. */
  | "DATABASE_NOT_FOUND"
  /** A name outside `[A-Za-z0-9_-]{1,64}`. */
  | "DATABASE_NAME_INVALID"
  /** A path that leaves the data directory (`..`, absolute elsewhere, symlink out) or is otherwise unusable. */
  | "DATABASE_PATH_INVALID"
  /** A database of that name (or on that path) is already attached. */
  | "DATABASE_EXISTS"
  /** Handles were still out when a detach or closeAll timed out, or the database is being detached. */
  | "DATABASE_BUSY"
  /** `closeAll` was called: no new handles. */
  | "REGISTRY_CLOSED"
  /** The file could not be opened (missing in readwrite/readonly mode, not a database, driver failure). */
  | "DATABASE_OPEN_FAILED"
  /** A configuration names a driver that was not given to the registry. */
  | "DRIVER_NOT_FOUND"
  /** A configuration value of the wrong type or range (mode, options). */
  | "CONFIG_INVALID"
  /** The caller's AbortSignal aborted a pending `get`. */
  | "ABORTED";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
