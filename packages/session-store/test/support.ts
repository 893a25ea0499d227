import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangesetCapture, Driver, OpenOptions, Pool, Value } from "@hranad/driver";
import type { Session, SessionDatabase, SessionStore } from "../src/index.js";

export interface LoadedDriver {
  readonly name: string;
  readonly driver: Driver | undefined;
  readonly error: string | undefined;
}

function findDriver(module: Record<string, unknown>): Driver | undefined {
  for (const value of Object.values(module)) {
    const candidate = value as Partial<Driver> | null;
    if (
      candidate !== null &&
      typeof candidate === "object" &&
      typeof candidate.open === "function" &&
      typeof candidate.capabilities === "object"
    ) {
      return candidate as Driver;
    }
  }
  return undefined;
}

async function load(name: string, specifier: string): Promise<LoadedDriver> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    const driver = findDriver(module);
    return { name, driver, error: driver ? undefined : "no Driver export" };
  } catch (error) {
    return { name, driver: undefined, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The real drivers, each loaded if its package is built (a driver not ready yet is skipped, not faked). */
export const DRIVERS: readonly LoadedDriver[] = await Promise.all([
  load("better-sqlite3", "@hranad/driver-better-sqlite3"),
  load("libsql", "@hranad/driver-libsql"),
]);

/** Counts the registry-handle releases a session makes, and what the pool looked like at that moment. */
export class HandleCounter {
  released = 0;
  /** `pool.stats().inUse` observed inside each release (proves the connection went back first). */
  readonly inUseAtRelease: number[] = [];
  constructor(private readonly pool: Pool) {}
  handle(): { release(): void } {
    let done = false;
    return {
      release: () => {
        if (done) throw new Error("handle released twice");
        done = true;
        this.released++;
        this.inUseAtRelease.push(this.pool.stats().inUse);
      },
    };
  }
}

export interface Harness {
  readonly dir: string;
  readonly path: string;
  readonly pool: Pool;
  readonly db: SessionDatabase;
  readonly handles: HandleCounter;
  /** Rows of table `t` as another connection (another pool) sees them: committed data only. */
  committedRows(): Promise<Value[]>;
  cleanup(): Promise<void>;
}

export async function makeHarness(
  driver: Driver,
  options: Partial<Omit<OpenOptions, "path" | "mode">> & { name?: string } = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "hranad-session-store-"));
  const path = join(dir, "db.sqlite");
  const { name = "main", ...open } = options;
  const pool = await driver.open({ path, mode: "create", maxConnections: 4, acquireTimeoutMs: 5000, ...open });
  const setup = await pool.acquire();
  await setup.executeScript("CREATE TABLE IF NOT EXISTS t (x INTEGER PRIMARY KEY, y TEXT)");
  await setup.release();
  const observer = await driver.open({ path, mode: "readwrite", maxConnections: 1 });
  return {
    dir,
    path,
    pool,
    db: { name, pool },
    handles: new HandleCounter(pool),
    async committedRows() {
      const connection = await observer.acquire();
      try {
        const result = await connection.execute({ sql: "SELECT x FROM t ORDER BY x" });
        return result.rows.map((row) => row[0] ?? null);
      } finally {
        await connection.release();
      }
    },
    async cleanup() {
      await observer.close();
      await pool.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Closes every session of the store, busy ones included (test teardown: the pool cannot close otherwise). */
export async function closeEverything(store: SessionStore): Promise<void> {
  for (const info of store.list()) {
    const session = store.get(info.id);
    if (session !== undefined) await store.close(session);
  }
  await store.closeAll();
}

/** Runs SQL on the session's connection. */
export async function exec(session: Session, sql: string, args: Value[] = []) {
  return session.connection.execute({ sql, args });
}

/** Rejects with the error `promise` rejects with, or fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Returns what `run` throws, or fails if it returns. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/**
 * A small real in-process changeset capture (a plain handle, not a connection): counts its closes, and can make
 * `close` slow to widen a race window.
 */
export class CountingCapture implements ChangesetCapture {
  closes = 0;
  constructor(private readonly closeDelayMs = 0) {}
  async changeset(): Promise<Uint8Array> {
    if (this.closes > 0) throw new Error("capture is closed");
    return new Uint8Array([1, 2, 3]);
  }
  async close(): Promise<void> {
    this.closes++;
    if (this.closeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.closeDelayMs));
  }
}
