import { describe, expect, it } from "vitest";
import type { Connection } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";
import { RUNAWAY } from "./transactions.js";

/** Long enough that only `interrupt()` can end RUNAWAY before the test's own timeout. */
const LONG_DEADLINE_MS = 20_000;

/**
 * Runs `sql` and calls `interrupt()` every few milliseconds until it settles: the main thread cannot know when the
 * worker has started stepping, and an interrupt that lands before the statement starts is (correctly) lost.
 */
async function runInterrupted(connection: Connection, sql: string): Promise<unknown> {
  let settled = false;
  const running = connection.execute({ sql });
  // Observed at once (so that its rejection is handled); the caller gets `running` itself.
  running.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    connection.interrupt();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return running;
}

export function interruptTests(ctx: ConformanceContext): void {
  describe("interrupt()", () => {
    it("stops a runaway statement from the main thread (SQLITE_INTERRUPT); the connection stays usable", async () => {
      const pool = await ctx.pool({ statementTimeoutMs: LONG_DEADLINE_MS });
      const c = await pool.acquire();
      // Twice: the second run finds the statement prepared, so the interrupt can only land on its steps.
      for (let i = 0; i < 2; i += 1) {
        await expect(runInterrupted(c, RUNAWAY)).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_INTERRUPT" });
        expect(c.autocommit).toBe(true);
        expect((await c.execute({ sql: "SELECT ?", args: [BigInt(i)] })).rows).toEqual([[BigInt(i)]]);
      }
      await c.release();
      // The pool hands the connection on; it runs statements normally.
      const next = await pool.acquire();
      expect((await next.execute({ sql: "SELECT 42" })).rows).toEqual([[42n]]);
      await next.release();
    });

    it("stops a statement on a connection without a deadline", async () => {
      const pool = await ctx.pool({ statementTimeoutMs: 0 });
      const c = await pool.acquire();
      await expect(runInterrupted(c, RUNAWAY)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      await c.release();
    });

    it("is a no-op on an idle connection, a paused cursor and a released lease", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      c.interrupt();
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      // libsql leaves a finished EXPLAIN unreset until it is collected: an interrupt would stick to it.
      expect((await c.execute({ sql: "EXPLAIN SELECT 1" })).rows.length).toBeGreaterThan(0);
      c.interrupt();
      await c.execute({ sql: "BEGIN" });
      await c.execute({ sql: "COMMIT" });
      const cursor = await c.openCursor({
        sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 1000) SELECT i FROM n",
      });
      expect((await cursor.next(10)).rows).toHaveLength(10);
      c.interrupt(); // nothing runs: the cursor is paused between two chunks
      let total = 10;
      for (let chunk = await cursor.next(100); ; chunk = await cursor.next(100)) {
        total += chunk.rows.length;
        if (chunk.done) break;
      }
      expect(total).toBe(1000);
      await c.release();
      c.interrupt();
      const next = await pool.acquire();
      expect((await next.execute({ sql: "SELECT 2" })).rows).toEqual([[2n]]);
      await next.release();
    });

    it("reaches a connection its previous user left dirty (reopened in its worker)", async () => {
      const pool = await ctx.pool({ maxConnections: 1, statementTimeoutMs: LONG_DEADLINE_MS });
      const first = await pool.acquire();
      await first.execute({ sql: "PRAGMA cache_size = 123" }); // a setting: the connection is opened afresh
      await first.release();
      const second = await pool.acquire();
      await expect(runInterrupted(second, RUNAWAY)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect((await second.execute({ sql: "PRAGMA cache_size" })).rows).not.toEqual([[123n]]);
      await second.release();
    });

    it("inside BEGIN IMMEDIATE: an interrupted read keeps the transaction, and the lock goes with the release", async () => {
      const pool = await ctx.pool({ maxConnections: 2, statementTimeoutMs: LONG_DEADLINE_MS, busyTimeoutMs: 0 });
      const holder = await pool.acquire();
      const other = await pool.acquire();
      const t = tableName();
      await holder.execute({ sql: `CREATE TABLE ${t} (x)` });
      await holder.execute({ sql: "BEGIN IMMEDIATE" });
      await holder.execute({ sql: `INSERT INTO ${t} VALUES (1)` });
      await expect(runInterrupted(holder, RUNAWAY)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect(holder.autocommit).toBe(await holder.isAutocommit());
      expect(holder.autocommit).toBe(false);
      await expect(other.execute({ sql: `INSERT INTO ${t} VALUES (2)` })).rejects.toMatchObject({ code: "SQLITE_BUSY" });
      await holder.release(); // rolls back
      await other.execute({ sql: `INSERT INTO ${t} VALUES (2)` });
      expect((await other.execute({ sql: `SELECT x FROM ${t}` })).rows).toEqual([[2n]]);
      await other.release();
    });

    it("inside BEGIN IMMEDIATE: an interrupted write, the autocommit state read back, and the lock released", async () => {
      const pool = await ctx.pool({ maxConnections: 2, statementTimeoutMs: LONG_DEADLINE_MS, busyTimeoutMs: 0 });
      const holder = await pool.acquire();
      const other = await pool.acquire();
      const t = tableName();
      await holder.execute({ sql: `CREATE TABLE ${t} (x)` });
      await holder.execute({ sql: "BEGIN IMMEDIATE" });
      await holder.execute({ sql: `INSERT INTO ${t} VALUES (1)` });
      const write = `INSERT INTO ${t} SELECT i FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c)`;
      await expect(runInterrupted(holder, write)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      // SQLite may roll the whole transaction back: whatever it did, the state is read back, not assumed.
      expect(holder.autocommit).toBe(await holder.isAutocommit());
      await holder.release();
      await other.execute({ sql: `INSERT INTO ${t} VALUES (2)` });
      expect((await other.execute({ sql: `SELECT x FROM ${t}` })).rows).toEqual([[2n]]);
      await other.release();
    });
  });
}
