import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const require = createRequire(import.meta.url);
const BETTER_SQLITE3 = require.resolve("better-sqlite3");

/**
 * Runs one job on a fresh SQLite connection in a worker thread, so that a large database never blocks the server's
 * event loop. The job's source is CommonJS with `Database` (better-sqlite3) and `data` in scope.
 */
function inWorker<T>(job: string, data: unknown): Promise<T> {
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const Database = require(workerData.module);
    const data = workerData.data;
    try {
      const result = (() => { ${job} })();
      parentPort.postMessage({ ok: true, result });
    } catch (error) {
      parentPort.postMessage({ ok: false, message: error && error.message ? String(error.message) : String(error), code: error && error.code });
    }`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { module: BETTER_SQLITE3, data } });
    let settled = false;
    worker.once("message", (message: { ok: boolean; result?: T; message?: string; code?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result as T);
      else reject(Object.assign(new Error(message.message ?? "SQLite failed"), { code: message.code }));
    });
    worker.once("error", (error) => {
      if (!settled) reject(error);
    });
    worker.once("exit", () => {
      if (!settled) reject(new Error("the SQLite worker exited early"));
    });
  });
}

/**
 * Writes a consistent copy of a live WAL database to `target` (which must not exist) with `VACUUM INTO`: it reads
 * one snapshot inside a single read transaction, so writers go on meanwhile and the copy is a committed state.
 */
export function writeSnapshot(source: string, target: string): Promise<void> {
  return inWorker<void>(
    `const db = new Database(data.source, { readonly: true, fileMustExist: true });
     try { db.pragma("busy_timeout = 5000"); db.prepare("VACUUM INTO ?").run(data.target); } finally { db.close(); }`,
    { source, target },
  );
}

/** `PRAGMA integrity_check` of a database file: `["ok"]` when it is sound, otherwise the problems found. */
export function integrityCheck(path: string): Promise<string[]> {
  return inWorker<string[]>(
    `const db = new Database(data.path, { readonly: true, fileMustExist: true });
     try { return db.prepare("PRAGMA integrity_check").all().map((row) => String(Object.values(row)[0])); } finally { db.close(); }`,
    { path },
  );
}

/** A snapshot in a file of its own; `remove()` deletes it (idempotent). */
export interface SnapshotFile {
  readonly path: string;
  remove(): void;
}

/** `writeSnapshot` into a new temporary directory, for a caller that streams the copy and then removes it. */
export async function takeSnapshot(source: string, name = "snapshot"): Promise<SnapshotFile> {
  const dir = mkdtempSync(join(tmpdir(), "hranad-snapshot-"));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const path = join(dir, `${name}.db`);
  try {
    await writeSnapshot(source, path);
  } catch (error) {
    remove();
    throw error;
  }
  return { path, remove };
}
