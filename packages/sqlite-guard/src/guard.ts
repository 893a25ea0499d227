import { GUARD_FUNCTIONS, MAX_DEADLINE_MS } from "./extension.js";
import type { QueryOne } from "./query.js";

const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Claims the connection's guard token. Call it right after loading the extension, before any client SQL: it works
 * once per connection, so a client can never learn the token. Throws the driver's SQLite error (SQLITE_AUTH
 * "guard token already claimed") on a second call.
 */
export function claimGuardToken(query: QueryOne): string {
  const token = query(`SELECT ${GUARD_FUNCTIONS.token}() AS value`);
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    throw new Error("sqlite-guard: hranad_guard_token() returned something else than a token");
  }
  return token;
}

/**
 * Switches the read-only guard of the connection and returns the new state. While on, every write is refused at
 * prepare time with SQLITE_AUTH ("not authorized") and BEGIN IMMEDIATE/EXCLUSIVE with SQLITE_READONLY. Switching
 * expires the connection's prepared statements (they re-prepare, and are re-authorized, when they next start), but
 * a driver should still drop its statement cache: never reuse a statement across principals.
 */
export function setReadOnly(query: QueryOne, token: string, on: boolean): boolean {
  return toInteger(query(`SELECT ${GUARD_FUNCTIONS.readOnly}(?, ${on ? 1 : 0}) AS value`, token)) === 1;
}

/**
 * Sets the per-statement deadline of the connection in milliseconds (0 = none) and returns the previous one. A
 * statement still running at its deadline fails with SQLITE_INTERRUPT. The change applies to statements that start
 * afterwards; an open cursor counts as running until it is finished or reset.
 */
export function setDeadline(query: QueryOne, token: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DEADLINE_MS) {
    throw new RangeError(`sqlite-guard: a deadline is an integer from 0 to ${MAX_DEADLINE_MS} ms, got ${ms}`);
  }
  return toInteger(query(`SELECT ${GUARD_FUNCTIONS.deadline}(?, ${ms}) AS value`, token));
}

/**
 * Allows (the default) or refuses ATTACH of a file while the read-only guard is off. With the guard on, ATTACH is
 * always refused. A private temporary database (`''`, as VACUUM uses) and `':memory:'` stay allowed.
 */
export function setAttachAllowed(query: QueryOne, token: string, allow: boolean): boolean {
  return toInteger(query(`SELECT ${GUARD_FUNCTIONS.attach}(?, ${allow ? 1 : 0}) AS value`, token)) === 1;
}

/**
 * Whether the connection holds state beyond its database since the last call (a setting PRAGMA, a temp table,
 * view, index or trigger, an attached database), and clears the mark. A pool hands such a connection to nobody else.
 */
export function takeDirty(query: QueryOne, token: string): boolean {
  return toInteger(query(`SELECT ${GUARD_FUNCTIONS.dirty}(?) AS value`, token)) === 1;
}

/**
 * Returns the connection's interrupt key (made on the first call, the same afterwards). Hand it to the thread that
 * may have to stop this connection's statements; unlike the token it gives no power over the guard, and it works
 * only with `interruptByKey` on a connection whose token the caller holds.
 */
export function interruptKey(query: QueryOne, token: string): string {
  const key = query(`SELECT ${GUARD_FUNCTIONS.interruptKey}(?) AS value`, token);
  if (typeof key !== "string" || !TOKEN_PATTERN.test(key)) {
    throw new Error("sqlite-guard: hranad_guard_interrupt_key() returned something else than a key");
  }
  return key;
}

/**
 * Interrupts the statement that the connection holding `key` runs now, inside SQLite (it fails with
 * SQLITE_INTERRUPT), from any thread. `query` and `token` are the *calling* connection's, which may be of another
 * SQLite library. Returns false when no live connection holds the key (it was closed). Interrupting an idle
 * connection does nothing: SQLite clears the request when its next statement starts (but an unfinished statement,
 * such as an open cursor, is interrupted).
 */
export function interruptByKey(query: QueryOne, token: string, key: string): boolean {
  return toInteger(query(`SELECT ${GUARD_FUNCTIONS.interrupt}(?, ?) AS value`, token, key)) > 0;
}

function toInteger(value: unknown): number {
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new Error(`sqlite-guard: expected an integer from the extension, got ${typeof value}`);
}
