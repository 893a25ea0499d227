import Database from "better-sqlite3";
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
