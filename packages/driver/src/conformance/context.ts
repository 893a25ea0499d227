import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { Connection, Driver, OpenOptions, Pool, Value } from "../types.js";

export interface ConformanceOptions {
  /**
   * What the driver does with text containing NUL: `"roundtrip"` (kept whole) or `"rejected"` (`ARGS_INVALID`
   * before it reaches SQLite, for bindings that would truncate it). Default `"roundtrip"`.
   */
  readonly textWithNul?: "roundtrip" | "rejected";
}

/** Shared state of one conformance run: a temp directory, pools closed after each test, one main connection. */
export class ConformanceContext {
  readonly name: string;
  readonly options: ConformanceOptions;
  readonly #makeDriver: () => Driver;
  #driver: Driver | undefined;
  #dir: string | undefined;
  #files = 0;
  #testPools: Pool[] = [];
  #mainPool: Pool | undefined;
  #main: Connection | undefined;

  constructor(name: string, makeDriver: () => Driver, options: ConformanceOptions) {
    this.name = name;
    this.#makeDriver = makeDriver;
    this.options = options;
    beforeAll(async () => {
      // A distinctive directory name, so that tests can check it never appears in an error message.
      this.#dir = mkdtempSync(join(tmpdir(), "hranad-conformance-secretdir-"));
      this.#mainPool = await this.driver.open({ path: this.file("main"), mode: "create", maxConnections: 2 });
      this.#main = await this.#mainPool.acquire();
    });
    afterEach(async () => {
      const pools = this.#testPools.splice(0);
      await Promise.all(pools.map((pool) => pool.close()));
    });
    afterAll(async () => {
      await this.#main?.release();
      await this.#mainPool?.close();
      if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    });
  }

  get driver(): Driver {
    this.#driver ??= this.#makeDriver();
    return this.#driver;
  }

  get dir(): string {
    if (!this.#dir) throw new Error("the conformance context is not set up yet");
    return this.#dir;
  }

  /** The connection most tests share (autocommit, read-write, on `main.db`). */
  get main(): Connection {
    if (!this.#main) throw new Error("the conformance context is not set up yet");
    return this.#main;
  }

  /** A fresh database file path in the temp directory. */
  file(stem = "db"): string {
    this.#files += 1;
    return join(this.dir, `${stem}-${this.#files}.db`);
  }

  /** Opens a pool that is closed after the current test. */
  async pool(options: Partial<OpenOptions> = {}): Promise<Pool> {
    const pool = await this.driver.open({ path: this.file(), mode: "create", ...options });
    this.#testPools.push(pool);
    return pool;
  }

  /** Rows of a query on the main connection. */
  async rows(sql: string, args: Value[] = []): Promise<readonly (readonly Value[])[]> {
    return (await this.main.execute({ sql, args })).rows;
  }
}

/** Makes a unique table name for a test, so that tests sharing the main database never collide. */
let tables = 0;
export function tableName(stem = "t"): string {
  tables += 1;
  return `${stem}_${tables}`;
}
