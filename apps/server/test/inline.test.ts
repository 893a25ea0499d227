import { createClient, type Client } from "@libsql/client";
import { InlineShare } from "@hranad/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestServer, type TestServer } from "./support.js";

/**
 * One-shot pipelines run on the database's main-thread connection; a request that meets a lock or outlives the
 * inline budget there is rolled back and re-run on a worker connection. Whatever happens, every statement takes
 * effect exactly once and the client sees the same results as if a worker had run it all.
 */
let server: TestServer;
let tag = 0;

/** A statement far beyond the inline budget; distinct each time, so no earlier run marked it slow. */
function slowSql(): { sql: string; count: string } {
  tag += 1;
  const n = 300_000 + tag;
  return { sql: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT count(*) FROM c`, count: String(n) };
}

const stmt = (sql: string) => ({ sql, args: [], named_args: [], want_rows: true });

beforeAll(async () => {
  server = await startTestServer({
    databases: [
      { name: "default", mode: "create" },
      { name: "lsql", mode: "create", driver: "libsql" },
    ],
  });
});
afterAll(async () => {
  await server?.close();
});

for (const database of ["default", "lsql"] as const) {
  // better-sqlite3 runs short work inline; libsql declares no inline capability, so there the same requests must give
  // the same answers from workers and never count as inline.
  const inline = database === "default";
  describe(`one-shot requests (${database} database, ${inline ? "inline" : "workers only"})`, () => {
    let client: Client;
    const url = () => `${server.url}/${database}/v2/pipeline`;
    beforeAll(() => {
      client = createClient({ url: `${server.url}/${database}/` });
    });
    afterAll(() => client.close());

    /** Waits until one-shot requests run inline (the main-thread connection is open and free). */
    async function inlineReady(): Promise<void> {
      if (!inline) return;
      for (let i = 0; i < 50; i++) {
        const before = InlineShare.shared.stats().statements;
        await client.execute(`SELECT ${1000 + i}`);
        if (InlineShare.shared.stats().statements > before) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error("one-shot requests never ran inline");
    }

    async function values(table: string): Promise<number[]> {
      return (await client.execute(`SELECT x FROM ${table} ORDER BY x`)).rows.map((row) => Number(row.x));
    }

    it("run on the main thread and answer as a worker would", async () => {
      await client.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)");
      // The first request opens the main-thread connection; from then on short requests run there.
      await client.execute("SELECT 1");
      const before = InlineShare.shared.stats().statements;
      for (let i = 0; i < 5; i++) await client.execute(`INSERT INTO kv VALUES (${i}, 'v${i}')`);
      const rows = await client.batch(["SELECT count(*) AS n FROM kv", "SELECT v FROM kv WHERE k = 3"], "write");
      expect(rows[0]!.rows[0]!.n).toBe(5);
      expect(rows[1]!.rows[0]!.v).toBe("v3");
      // The deadline is wall time, so a descheduled thread can miss it on a busy machine: most, not all, run inline.
      if (inline) expect(InlineShare.shared.stats().statements - before).toBeGreaterThanOrEqual(1);
      else expect(InlineShare.shared.stats().statements - before).toBe(0);
    });

    it("a slow statement at any position of a pipeline of autocommit statements: each write exactly once", { timeout: 60_000 }, async () => {
      for (let at = 0; at <= 3; at++) {
        const table = `p_${database}_${at}`;
        await client.execute(`CREATE TABLE ${table} (x)`);
        const slow = slowSql();
        const requests: unknown[] = [1, 2, 3].map((x) => ({ type: "execute", stmt: stmt(`INSERT INTO ${table} VALUES (${x})`) }));
        requests.splice(at, 0, { type: "execute", stmt: stmt(slow.sql) });
        await inlineReady();
        const redirects = InlineShare.shared.stats().redirects;
        const { status, json } = await post(url(), { requests: [...requests, { type: "close" }] });
        expect(status).toBe(200);
        expect(json.results.map((r: { type: string }) => r.type)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
        expect(json.results[at].response.result.rows).toEqual([[{ type: "integer", value: slow.count }]]);
        if (inline) expect(InlineShare.shared.stats().redirects).toBeGreaterThan(redirects);
        expect(await values(table)).toEqual([1, 2, 3]);
      }
    });

    it("a slow statement at any step of a transactional batch: the batch commits exactly once", { timeout: 60_000 }, async () => {
      for (let at = 1; at <= 4; at++) {
        const table = `b_${database}_${at}`;
        await client.execute(`CREATE TABLE ${table} (x)`);
        const slow = slowSql();
        const inner = [1, 2, 3].map((x) => `INSERT INTO ${table} VALUES (${x})`);
        inner.splice(at - 1, 0, slow.sql);
        const sqls = ["BEGIN IMMEDIATE", ...inner, "COMMIT"];
        const steps = sqls.map((sql, i) => ({ ...(i > 0 ? { condition: { type: "ok", step: i - 1 } } : {}), stmt: stmt(sql) }));
        steps.push({ condition: { type: "not", cond: { type: "ok", step: sqls.length - 1 } }, stmt: stmt("ROLLBACK") } as never);
        await inlineReady();
        const redirects = InlineShare.shared.stats().redirects;
        const { status, json } = await post(url(), { requests: [{ type: "batch", batch: { steps } }, { type: "close" }] });
        expect(status).toBe(200);
        const result = json.results[0].response.result;
        expect(result.step_errors.every((e: unknown) => e === null)).toBe(true);
        expect(result.step_results[at].rows).toEqual([[{ type: "integer", value: slow.count }]]);
        expect(result.step_results[sqls.length]).toBeNull(); // the ROLLBACK was skipped: COMMIT succeeded
        if (inline) expect(InlineShare.shared.stats().redirects).toBeGreaterThan(redirects);
        expect(await values(table)).toEqual([1, 2, 3]);
      }
    });

    it("a request that stays slow goes straight to a worker, for longer each time it is found slow", { timeout: 60_000 }, async () => {
      // Found slow, a request goes to a worker for 50 ms, then 100, 200, 400… while it stays slow: repeated one after
      // the other (each taking its worker run), it soon stops trying the main thread first.
      const slow = slowSql();
      const runs = 8;
      const redirects = InlineShare.shared.stats().redirects;
      for (let i = 0; i < runs; i++) expect(String((await client.execute(slow.sql)).rows[0]![0])).toBe(slow.count);
      const tried = InlineShare.shared.stats().redirects - redirects;
      if (inline) {
        expect(tried).toBeGreaterThanOrEqual(1);
        expect(tried).toBeLessThan(runs);
      } else {
        expect(tried).toBe(0);
      }
    });

    it("a write behind another client's transaction waits on a worker instead of failing", async () => {
      await client.execute(`CREATE TABLE w_${database} (x)`);
      const holder = createClient({ url: `${server.url}/${database}/` });
      const tx = await holder.transaction("write");
      await tx.execute(`INSERT INTO w_${database} VALUES (1)`);
      await inlineReady();
      const redirects = InlineShare.shared.stats().redirects;
      const waiting = client.execute(`INSERT INTO w_${database} VALUES (2)`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.commit();
      await waiting;
      holder.close();
      if (inline) expect(InlineShare.shared.stats().redirects).toBeGreaterThan(redirects);
      expect(await values(`w_${database}`)).toEqual([1, 2]);
    });

    it("nothing a request leaves on the main-thread connection reaches the next request", async () => {
      const base = Number((await client.execute("PRAGMA foreign_keys")).rows[0]![0]);
      await client.execute(`PRAGMA foreign_keys = ${base === 1 ? "OFF" : "ON"}`);
      expect(Number((await client.execute("PRAGMA foreign_keys")).rows[0]![0])).toBe(base);
      await client.execute("CREATE TEMP TABLE scratch (y)");
      await expect(client.execute("SELECT * FROM temp.scratch")).rejects.toThrow(/no such table/);
      // A failed batch leaves no transaction open behind it.
      await expect(client.batch(["SELECT 1", "SELECT nope"], "write")).rejects.toThrow();
      expect((await client.execute("SELECT 2 AS two")).rows[0]!.two).toBe(2);
    });
  });
}
