import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import Libsql from "libsql";
import { onTestFinished } from "vitest";
import { extensionPath, queryOneFrom, type GuardArgument, type QueryOne } from "../src/index.js";

// The tests load the real extension: build it when it is missing or stale (a no-op otherwise).
execFileSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "..", "build.mjs")], {
  stdio: "ignore",
});

export const DRIVERS = ["better-sqlite3", "libsql"] as const;
export type DriverName = (typeof DRIVERS)[number];

/** A deliberately endless statement, bounded by a LIMIT (~20 s) so that a broken watchdog fails instead of hanging. */
export const RUNAWAY =
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 200000000) SELECT count(*) FROM c";

/** The same two drivers behind one small shape, so every test runs through both. */
export interface TestConnection {
  readonly driver: DriverName;
  /** First column of the first row. */
  readonly query: QueryOne;
  exec(sql: string): void;
  run(sql: string, ...args: GuardArgument[]): void;
  /** All rows, as arrays. */
  all(sql: string, ...args: GuardArgument[]): unknown[][];
  /** Prepares now; each call of the result runs the statement. */
  prepared(sql: string): () => void;
  /** Iterates rows as arrays; the statement stays open until the iterator is finished. */
  iterate(sql: string): Iterator<unknown[]>;
  readonly inTransaction: boolean;
  /** Loads the extension (again). */
  loadExtension(): void;
  close(): void;
}

interface RawStatement {
  raw(on?: boolean): RawStatement;
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
  run(...args: unknown[]): unknown;
  iterate(...args: unknown[]): IterableIterator<unknown>;
}

interface RawDatabase {
  prepare(sql: string): RawStatement;
  exec(sql: string): unknown;
  loadExtension(path: string): unknown;
  readonly inTransaction: boolean;
  close(): unknown;
}

/** Connections of the current test, closed when it finishes. */
const testConnections = new Set<TestConnection>();

function closeTestConnections(): void {
  for (const connection of testConnections) connection.close();
}

/**
 * Opens a connection on a file (or ":memory:") with the extension loaded before anything else runs on it, as the
 * drivers do. It is closed when the test finishes.
 */
export function open(driver: DriverName, path: string, options: { load?: boolean } = {}): TestConnection {
  const connection = openConnection(driver, path, options);
  testConnections.add(connection);
  onTestFinished(closeTestConnections);
  return connection;
}

/** Like `open`, for a connection shared by several tests: the caller closes it. */
export function openConnection(driver: DriverName, path: string, options: { load?: boolean } = {}): TestConnection {
  const db = (driver === "better-sqlite3" ? new BetterSqlite3(path) : new Libsql(path)) as unknown as RawDatabase;
  if (options.load !== false) db.loadExtension(extensionPath);
  if (driver === "libsql") db.exec("PRAGMA busy_timeout = 5000"); // libsql defaults to 0
  const iterators = new Set<Iterator<unknown[]>>();
  let closed = false;
  const connection: TestConnection = {
    driver,
    query: queryOneFrom(db),
    exec: (sql) => void db.exec(sql),
    run: (sql, ...args) => void db.prepare(sql).run(...args),
    all: (sql, ...args) => db.prepare(sql).raw(true).all(...args) as unknown[][],
    prepared: (sql) => {
      const statement = db.prepare(sql);
      return () => void statement.run();
    },
    iterate: (sql) => {
      const iterator = db.prepare(sql).raw(true).iterate() as Iterator<unknown[]>;
      iterators.add(iterator);
      return iterator;
    },
    get inTransaction() {
      return db.inTransaction;
    },
    loadExtension: () => void db.loadExtension(extensionPath),
    close: () => {
      if (closed) return;
      closed = true;
      testConnections.delete(connection);
      // better-sqlite3 refuses to close under an unfinished iterator (libsql's have no return()).
      for (const iterator of iterators) iterator.return?.();
      db.close();
    },
  };
  return connection;
}

/** A fresh temporary directory, removed (after the test's connections are closed) when the current test finishes. */
export function tempDir(): string {
  const dir = makeTempDir();
  onTestFinished(() => {
    closeTestConnections();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A fresh temporary directory that the caller removes. */
export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), "sqlite-guard-"));
}

/** The SQLite error code of a driver error (both drivers set `code`), or a marker when nothing was thrown. */
export function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: String(code), message: String(message) };
  }
  return { code: "NO_ERROR", message: "" };
}

/** Blocks the thread (the drivers are synchronous, so this is what a slow client between two fetches looks like). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const fixture = (name: string): string =>
  join(dirname(fileURLToPath(import.meta.url)), "fixtures", name);
