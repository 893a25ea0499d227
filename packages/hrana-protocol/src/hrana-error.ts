import { DriverError, SqliteError } from "@hranad/driver";
import type { HranaError } from "./messages.js";

/** Upper-case error codes such as `SQLITE_CONSTRAINT`, `ARGS_INVALID`, `TRANSACTION_TIMEOUT`. */
const NAMED_CODE = /^[A-Z][A-Z0-9_]*$/;

export const INTERNAL_ERROR: HranaError = { message: "Internal server error", code: "INTERNAL" };

/**
 * Maps an error thrown while running a statement to Hrana's `Error`: SQLite errors keep their base code name,
 * driver errors their code, any other error with an upper-case string `code` (the session store's named errors)
 * keeps it. Everything else — Node system errors (their messages carry file paths), `ERR_*` codes, bugs — becomes
 * `INTERNAL` with a generic message, after being handed to `onInternalError` for logging.
 */
export function toHranaError(error: unknown, onInternalError?: (error: unknown) => void): HranaError {
  if (error instanceof SqliteError || error instanceof DriverError) return { message: error.message, code: error.code };
  if (typeof error === "object" && error !== null) {
    const { code, message, errno, syscall } = error as { code?: unknown; message?: unknown; errno?: unknown; syscall?: unknown };
    const systemError = errno !== undefined || syscall !== undefined;
    if (typeof code === "string" && typeof message === "string" && NAMED_CODE.test(code) && !code.startsWith("ERR_") && !systemError) {
      return { message, code };
    }
  }
  onInternalError?.(error);
  return INTERNAL_ERROR;
}
