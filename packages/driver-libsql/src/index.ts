import type { Driver } from "@hranad/driver";
import { builtModuleUrl, createThreadedDriver } from "@hranad/runtime";

/** hranad's driver for libsql (libsql-js): each connection runs in a pooled worker thread. */
export const libsqlDriver: Driver = createThreadedDriver({
  name: "libsql",
  // No inline work: on the main-thread connection (whose deadline is switched on and off around each statement),
  // the statement after an interrupted one was interrupted too — libsql keeps an interrupted statement in progress
  // (see engine.ts) — so every later request there would fail over to a worker. Its work stays on workers.
  capabilities: { changesets: false, statementDeadline: true, readOnlyGuard: true, inline: false },
  engineModule: builtModuleUrl(new URL("./engine.js", import.meta.url)),
});
