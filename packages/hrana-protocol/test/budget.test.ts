import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, Pool } from "@hranad/driver";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ByteBudget,
  cursorEntries,
  executeBatch,
  executeStreamRequest,
  MapSqlStore,
  ResponseBudget,
  stmtResultBytes,
  type CursorEntry,
  type ExecutorOptions,
  type StreamResult,
} from "../src/index.js";

const MiB = 1024 * 1024;
const V3: ExecutorOptions = { version: 3, maxStoredSql: 50 };

let dir: string;
let pool: Pool | undefined;
let conn: Connection | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hrana-protocol-budget-"));
});
afterEach(async () => {
  await conn?.release();
  await pool?.close();
  conn = undefined;
  pool = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function connect(maxResultBytes = 10 * MiB): Promise<Connection> {
  pool = await betterSqlite3Driver.open({ path: join(dir, `db-${Date.now()}-${Math.random()}.db`), mode: "create", maxResultBytes });
  conn = await pool.acquire();
  return conn;
}

/** A statement returning one text value of `bytes` characters. */
const big = (bytes: number) => ({ sql: `SELECT printf('%.*c', ${bytes}, 'x') AS v` });

function codes(results: StreamResult[]): (string | null)[] {
  return results.map((r) => (r.type === "ok" ? "ok" : r.error.code));
}

describe("ResponseBudget", () => {
  test("room is the smallest of the statement, response and server bounds, and says which", () => {
    const pool = new ByteBudget(100);
    const budget = new ResponseBudget({ maxResponseBytes: 50, maxResultBytes: 40, pool });
    expect(budget.room()).toEqual({ bytes: 40, bound: "statement" });
    budget.charge(20);
    expect(budget.room()).toEqual({ bytes: 30, bound: "response" });
    expect(pool.used).toBe(20);
    pool.take(75);
    expect(budget.room()).toEqual({ bytes: 5, bound: "server" });
    budget.release();
    budget.release(); // idempotent
    expect(pool.used).toBe(75);
  });

  test("an exhausted budget reports it; no limit means no bound", () => {
    const budget = new ResponseBudget({ maxResponseBytes: 10 });
    expect(budget.exhausted).toBe(false);
    budget.charge(10);
    expect(budget.exhausted).toBe(true);
    expect(new ResponseBudget({ maxResponseBytes: 0 }).room().bytes).toBe(Infinity);
  });
});

describe("executor with a response budget", () => {
  test("a pipeline of large results stops at the response bound with RESPONSE_TOO_LARGE; rowless and small statements still run", async () => {
    const c = await connect();
    const store = new MapSqlStore();
    const budget = new ResponseBudget({ maxResponseBytes: 3 * MiB, maxResultBytes: 10 * MiB });
    const options = { ...V3, budget };
    const results: StreamResult[] = [];
    await executeStreamRequest(c, store, { type: "execute", stmt: { sql: "CREATE TABLE t (x)" } }, options);
    for (let i = 0; i < 5; i++) results.push(await executeStreamRequest(c, store, { type: "execute", stmt: big(MiB) }, options));
    results.push(await executeStreamRequest(c, store, { type: "execute", stmt: { sql: "INSERT INTO t VALUES (1)" } }, options));
    results.push(await executeStreamRequest(c, store, { type: "execute", stmt: { sql: "SELECT count(*) FROM t" } }, options));
    // Two 1 MiB results fit 3 MiB, a third does not; a small result still fits what is left.
    expect(codes(results)).toEqual(["ok", "ok", "RESPONSE_TOO_LARGE", "RESPONSE_TOO_LARGE", "RESPONSE_TOO_LARGE", "ok", "ok"]);
    const error = results[2];
    expect(error?.type === "error" && error.error.message).toMatch(/maxResponseBytes/);
    // What the response holds stays within its bound.
    expect(budget.used).toBeLessThanOrEqual(3 * MiB);
    // The INSERT ran.
    const count = await c.execute({ sql: "SELECT count(*) FROM t" });
    expect(count.rows[0]?.[0]).toBe(1n);
  });

  test("a statement over the per-statement bound keeps the statement's own error", async () => {
    const c = await connect(MiB);
    const budget = new ResponseBudget({ maxResponseBytes: 32 * MiB, maxResultBytes: MiB });
    const result = await executeStreamRequest(c, new MapSqlStore(), { type: "execute", stmt: big(2 * MiB) }, { ...V3, budget });
    expect(result).toMatchObject({ type: "error", error: { code: "RESPONSE_TOO_LARGE" } });
    expect(result.type === "error" && result.error.message).not.toMatch(/maxResponseBytes/);
  });

  test("when the server's pool is short the statement fails with SERVER_OVERLOADED, and succeeds once it is given back", async () => {
    const c = await connect();
    const serverPool = new ByteBudget(4 * MiB);
    const hog = new ResponseBudget({ maxResponseBytes: 4 * MiB, pool: serverPool });
    hog.charge(3.5 * MiB);
    const budget = new ResponseBudget({ maxResponseBytes: 32 * MiB, maxResultBytes: 10 * MiB, pool: serverPool });
    const refused = await executeStreamRequest(c, new MapSqlStore(), { type: "execute", stmt: big(MiB) }, { ...V3, budget });
    expect(refused).toMatchObject({ type: "error", error: { code: "SERVER_OVERLOADED" } });
    hog.release();
    const again = new ResponseBudget({ maxResponseBytes: 32 * MiB, maxResultBytes: 10 * MiB, pool: serverPool });
    const served = await executeStreamRequest(c, new MapSqlStore(), { type: "execute", stmt: big(MiB) }, { ...V3, budget: again });
    expect(served.type).toBe("ok");
    expect(serverPool.used).toBeGreaterThan(MiB);
    again.release();
    expect(serverPool.used).toBe(0);
  });

  test("a batch is one response: later steps fail with step errors past the bound", async () => {
    const c = await connect();
    const budget = new ResponseBudget({ maxResponseBytes: 2.5 * MiB, maxResultBytes: 10 * MiB });
    const result = await executeBatch(c, new MapSqlStore(), { steps: [0, 1, 2, 3].map(() => ({ stmt: big(MiB) })) }, { ...V3, budget });
    expect(result.stepResults.map((r) => r !== null)).toEqual([true, true, false, false]);
    expect(result.stepErrors.map((e) => e?.code ?? null)).toEqual([null, null, "RESPONSE_TOO_LARGE", "RESPONSE_TOO_LARGE"]);
    const first = result.stepResults[0];
    expect(first && stmtResultBytes(first)).toBeGreaterThan(MiB);
  });

  test("a cursor streams rows of any total size in byte-bounded chunks", async () => {
    const c = await connect(2 * MiB);
    const batch = { steps: [{ stmt: { sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) SELECT printf('%.*c', 500000, 'x') FROM n" } }] };
    const entries: CursorEntry[] = [];
    for await (const entry of cursorEntries(c, new MapSqlStore(), batch, { ...V3, cursorChunkBytes: 256 * 1024 })) entries.push(entry);
    expect(entries.filter((e) => e.type === "row")).toHaveLength(40);
    expect(entries.at(-1)?.type).toBe("step_end");
  });
});
