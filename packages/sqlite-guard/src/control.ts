import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { extensionPath } from "./extension.js";
import { claimGuardToken, interruptByKey } from "./guard.js";
import { queryOneFrom, type QueryOne } from "./query.js";

interface Control {
  readonly query: QueryOne;
  readonly token: string;
}

/** This thread's control connection, opened on first use. */
let control: Control | undefined;

function openControl(): Control {
  // Loaded here, on the first interrupt, not when the package is imported: engine workers import this package, and
  // a libsql worker has no use for better-sqlite3's addon.
  const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  const db = new Database(":memory:");
  try {
    db.loadExtension(extensionPath);
    const query = queryOneFrom(db);
    return { query, token: claimGuardToken(query) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Interrupts the statement that the guarded connection holding `key` (from `interruptKey`) runs now, whichever
 * thread runs it and whichever SQLite library it belongs to. The call goes through a private better-sqlite3
 * `:memory:` connection of the calling thread, opened (with the guard loaded) on first use and kept: a few
 * microseconds per call afterwards, and the calling thread never blocks on the target connection. Returns false when
 * no live connection holds the key.
 */
export function interruptConnection(key: string): boolean {
  control ??= openControl();
  return interruptByKey(control.query, control.token, key);
}
