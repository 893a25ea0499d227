import { GUARD_FUNCTIONS, parseDescription, type GuardDescription } from "@hranad/sqlite-guard";

export type { GuardDescription };

/** The engine guard's SQL functions as the engines call them (names from `@hranad/sqlite-guard`). */
export const GUARD_SQL = {
  token: `SELECT ${GUARD_FUNCTIONS.token}()`,
  readOnly: `SELECT ${GUARD_FUNCTIONS.readOnly}(?, ?)`,
  deadline: `SELECT ${GUARD_FUNCTIONS.deadline}(?, ?)`,
  attach: `SELECT ${GUARD_FUNCTIONS.attach}(?, ?)`,
  dirty: `SELECT ${GUARD_FUNCTIONS.dirty}(?)`,
  describe: `SELECT ${GUARD_FUNCTIONS.describe}(?)`,
  interruptKey: `SELECT ${GUARD_FUNCTIONS.interruptKey}(?)`,
} as const;

/** Parses the JSON returned by `hranad_describe`, checking its shape (the guard package's own parser). */
export function parseGuardDescription(json: unknown): GuardDescription {
  if (typeof json !== "string") throw new Error("hranad_describe returned no text");
  return parseDescription(json);
}
