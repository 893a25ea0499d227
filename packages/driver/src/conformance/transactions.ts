import { describe, expect, it } from "vitest";
import { tableName, type ConformanceContext } from "./context.js";

/** A statement that runs until the deadline stops it. */
export const RUNAWAY = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";

export function transactionTests(ctx: ConformanceContext): void {
  describe("transactions and autocommit", () => {
    const run = (sql: string) => ctx.main.execute({ sql });

    it("reads autocommit back after BEGIN, COMMIT and ROLLBACK", async () => {
      expect(ctx.main.autocommit).toBe(true);
      await run("BEGIN");
      expect(ctx.main.autocommit).toBe(false);
      expect(await ctx.main.isAutocommit()).toBe(false);
      await run("COMMIT");
      expect(ctx.main.autocommit).toBe(true);
      await ctx.main.executeScript("BEGIN; SELECT 1;");
      expect(ctx.main.autocommit).toBe(false);
      await run("ROLLBACK");
      expect(ctx.main.autocommit).toBe(true);
      expect(await ctx.main.isAutocommit()).toBe(true);
    });

    it("stays in the transaction after a failed statement inside BEGIN", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (x PRIMARY KEY)`);
      await run("BEGIN");
      await run(`INSERT INTO ${t} VALUES (1)`);
      await expect(run(`INSERT INTO ${t} VALUES (1)`)).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
      expect(ctx.main.autocommit).toBe(false);
      expect(await ctx.main.isAutocommit()).toBe(false);
      await run("COMMIT");
      expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[1n]]);
    });

    it("reads autocommit back after an error that ends the transaction", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (x PRIMARY KEY)`);
      await run(`INSERT INTO ${t} VALUES (1)`);
      await run("BEGIN");
      // OR ROLLBACK makes SQLite end the transaction itself.
      await expect(run(`INSERT OR ROLLBACK INTO ${t} VALUES (1)`)).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
      expect(ctx.main.autocommit).toBe(true);
      expect(await ctx.main.isAutocommit()).toBe(true);
    });

    it("leaves no statement in progress after EXPLAIN (COMMIT still works)", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (x)`);
      expect((await run(`EXPLAIN INSERT INTO ${t} VALUES (1)`)).rows.length).toBeGreaterThan(0);
      expect((await run(`EXPLAIN QUERY PLAN SELECT * FROM ${t}`)).rows.length).toBeGreaterThan(0);
      await run("BEGIN");
      await run(`INSERT INTO ${t} VALUES (1)`);
      await run("COMMIT");
      expect(ctx.main.autocommit).toBe(true);
      expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[1n]]);
    });

    it("reads autocommit back after an interrupt", async () => {
      const pool = await ctx.pool({ statementTimeoutMs: 1000 });
      const connection = await pool.acquire();
      const t = tableName();
      await connection.execute({ sql: `CREATE TABLE ${t} (x)` });
      await connection.execute({ sql: "BEGIN" });
      await connection.execute({ sql: `INSERT INTO ${t} VALUES (1)` });
      // An interrupted SELECT leaves the transaction open …
      await expect(connection.execute({ sql: RUNAWAY })).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect(connection.autocommit).toBe(false);
      expect(await connection.isAutocommit()).toBe(false);
      // … an interrupted write rolls the whole transaction back: the state must be read, never assumed.
      const write = `INSERT INTO ${t} SELECT i FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c)`;
      await expect(connection.execute({ sql: write })).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect(connection.autocommit).toBe(await connection.isAutocommit());
      expect(connection.autocommit).toBe(true);
      expect((await connection.execute({ sql: `SELECT count(*) FROM ${t}` })).rows).toEqual([[0n]]);
      await connection.release();
    });

    it("waits up to the busy timeout for a write lock, then fails with SQLITE_BUSY", async () => {
      const pool = await ctx.pool({ busyTimeoutMs: 200, maxConnections: 2 });
      const first = await pool.acquire();
      const second = await pool.acquire();
      expect(second.id).not.toBe(first.id);
      await first.execute({ sql: "BEGIN IMMEDIATE" });
      await expect(second.execute({ sql: "BEGIN IMMEDIATE" })).rejects.toMatchObject({
        name: "SqliteError",
        code: "SQLITE_BUSY",
      });
      expect(second.autocommit).toBe(true);
      await first.execute({ sql: "COMMIT" });
      await second.execute({ sql: "BEGIN IMMEDIATE" });
      await second.execute({ sql: "COMMIT" });
      await Promise.all([first.release(), second.release()]);
    });

    it("gets the write lock when the holder commits within the busy timeout", async () => {
      const pool = await ctx.pool({ busyTimeoutMs: 10_000, maxConnections: 2 });
      const first = await pool.acquire();
      const second = await pool.acquire();
      await first.execute({ sql: "CREATE TABLE t (x)" });
      await first.execute({ sql: "BEGIN IMMEDIATE" });
      await first.execute({ sql: "INSERT INTO t VALUES (1)" });
      const waiting = second.execute({ sql: "BEGIN IMMEDIATE" });
      let settled = false;
      void waiting.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The second writer is queued on the lock (its worker waits, the event loop does not).
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled).toBe(false);
      await first.execute({ sql: "COMMIT" });
      await waiting;
      expect(second.autocommit).toBe(false);
      await second.execute({ sql: "INSERT INTO t VALUES (2)" });
      await second.execute({ sql: "COMMIT" });
      expect((await first.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[2n]]);
      await Promise.all([first.release(), second.release()]);
    });
  });
}
