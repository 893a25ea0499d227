import { pathToFileURL } from "node:url";
import { DriverError, SqliteError } from "../errors.js";
import { sqliteBaseCodeName, sqliteCodeName, sqliteCodeNumber } from "../sqlite-codes.js";

/** Replaces every spelling of the database path in a message: clients see these messages. */
export function scrubPath(message: string, path: string): string {
  if (!path || path === ":memory:") return message;
  let result = message;
  const forms = [pathToFileURL(path).pathname, encodeURI(path), path].sort((a, b) => b.length - a.length);
  for (const form of forms) {
    if (form) result = result.split(form).join("<database>");
  }
  return result;
}

interface CodedError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly rawCode?: unknown;
}

/**
 * Turns whatever a SQLite binding threw into a `SqliteError` (base code + extended code + number) or keeps a
 * `DriverError`; anything else is returned unchanged. Messages lose the database path.
 */
export function normalizeError(error: unknown, path: string): unknown {
  if (error instanceof DriverError) {
    return path ? new DriverError(error.code, scrubPath(error.message, path)) : error;
  }
  if (error instanceof SqliteError) {
    return path ? new SqliteError(scrubPath(error.message, path), error.code, error.extendedCode, error.rawCode) : error;
  }
  if (error === null || typeof error !== "object") return error;
  const { code, rawCode, message } = error as CodedError;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return error;
  const raw = typeof rawCode === "number" ? rawCode : sqliteCodeNumber(code);
  const extendedCode = (raw !== undefined ? sqliteCodeName(raw) : undefined) ?? code;
  const baseCode = (raw !== undefined ? sqliteCodeName(raw & 0xff) : undefined) ?? sqliteBaseCodeName(code);
  const text = scrubPath(typeof message === "string" ? message : String(message), path);
  return new SqliteError(text, baseCode, extendedCode, raw);
}
