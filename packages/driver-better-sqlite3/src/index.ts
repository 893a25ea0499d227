import type { Driver } from "@hranad/driver";
import { builtModuleUrl, createThreadedDriver } from "@hranad/runtime";

/**
 * hranad's driver for better-sqlite3: each connection runs in a pooled worker thread, and each database has a
 * main-thread connection for short one-shot work.
 */
export const betterSqlite3Driver: Driver = createThreadedDriver({
  name: "better-sqlite3",
  capabilities: { changesets: false, statementDeadline: true, readOnlyGuard: true, inline: true },
  engineModule: builtModuleUrl(new URL("./engine.js", import.meta.url)),
});
