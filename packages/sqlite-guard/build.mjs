// Compiles src/sqliteguard.c into build/sqliteguard.so with the system C compiler, against the SQLite headers that
// better-sqlite3 ships. Skips the compile when the .so is newer than its sources; fails loudly otherwise.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = dirname(fileURLToPath(import.meta.url));
const source = join(packageDir, "src", "sqliteguard.c");
const buildScript = fileURLToPath(import.meta.url);
// The file name fixes SQLite's default entry point: sqliteguard.so -> sqlite3_sqliteguard_init.
const output = join(packageDir, "build", "sqliteguard.so");

const require = createRequire(import.meta.url);
const headers = join(dirname(require.resolve("better-sqlite3/package.json")), "deps", "sqlite3");
if (!existsSync(join(headers, "sqlite3ext.h"))) {
  console.error(`sqlite-guard: no sqlite3ext.h in ${headers}`);
  process.exit(1);
}

const mtime = (path) => statSync(path).mtimeMs;
if (existsSync(output) && mtime(output) > mtime(source) && mtime(output) > mtime(buildScript)) {
  console.log("sqlite-guard: build/sqliteguard.so is up to date");
  process.exit(0);
}

mkdirSync(dirname(output), { recursive: true });
const args = [
  "-O2",
  "-fPIC",
  "-shared",
  "-pthread",
  "-std=c11",
  "-D_POSIX_C_SOURCE=200809L",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-fvisibility=hidden",
  // Without nodelete, SQLite unloads the .so when the connection that loaded it closes, under the watchdog thread.
  "-Wl,-z,nodelete",
  "-Wl,-z,defs",
  "-I",
  headers,
  "-o",
  output,
  source,
];
const cc = process.env.CC ?? "cc";
const result = spawnSync(cc, args, { stdio: "inherit" });
if (result.error || result.status !== 0) {
  console.error(`sqlite-guard: ${cc} failed (${result.error?.message ?? `exit code ${result.status}`})`);
  process.exit(1);
}
console.log(`sqlite-guard: built ${output}`);
