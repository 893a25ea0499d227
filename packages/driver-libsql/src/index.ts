import { builtModuleUrl, createThreadedDriver, type Driver } from "@hranad/driver";

/** hranad's driver for libsql (libsql-js): each connection runs in a pooled worker thread. */
export const libsqlDriver: Driver = createThreadedDriver({
  name: "libsql",
  capabilities: { changesets: false, statementDeadline: true, readOnlyGuard: true },
  engineModule: builtModuleUrl(new URL("./engine.js", import.meta.url)),
});
