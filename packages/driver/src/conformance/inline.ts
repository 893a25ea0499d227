import { describe, expect, it } from "vitest";
import { isInlineRedirect } from "../inline-redirect.js";
import type { InlineLease, Pool } from "../types.js";
import type { ConformanceContext } from "./context.js";

/** A statement that runs far longer than the inline budget (tens of milliseconds and more). */
function slow(tag: number): string {
  return `WITH RECURSIVE c(x) AS (SELECT ${tag} UNION ALL SELECT x + 1 FROM c WHERE x < ${tag} + 1000000) SELECT count(*) FROM c`;
}
let nextTag = 1;

/** The pool's main-thread lease, once its connection has opened (the first call starts opening it). */
async function lease(pool: Pool): Promise<InlineLease> {
  for (let i = 0; i < 200; i++) {
    const lease = await pool.inline?.();
    if (lease !== undefined) return lease;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("the pool never lent its main-thread connection");
}

async function exec(pool: Pool, sql: string): Promise<void> {
  const c = await pool.acquire();
  try {
    await c.execute({ sql });
  } finally {
    await c.release();
  }
}

async function count(pool: Pool, table: string): Promise<bigint> {
  const c = await pool.acquire();
  try {
    return (await c.execute({ sql: `SELECT count(*) FROM ${table}` })).rows[0]![0] as bigint;
  } finally {
    await c.release();
  }
}

/**
 * The main-thread connection's contract: a unit of work that meets a lock or outlives the budget is rolled back and
 * handed back for a worker (`InlineRedirect`) only when that is safe — it began in autocommit, on a connection with no
 * user state, and committed nothing. Every other failure is the statement's own error.
 */
export function inlineTests(ctx: ConformanceContext): void {
  describe("main-thread connection (Pool.inline)", () => {
    if (ctx.driver.capabilities.inline !== true) {
      it("is never lent by a driver that declares no inline capability", async () => {
        const pool = await ctx.pool({ inlineBudgetMs: 5 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await pool.inline?.()).toBeUndefined();
      });
      return;
    }

    it("runs short work and lends itself to one user at a time", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      const a = await lease(pool);
      // A second request waits in line until the first gives the connection back.
      let second: InlineLease | undefined;
      const waiting = pool.inline!().then((lease) => (second = lease));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(second).toBeUndefined();
      // The deadline is wall time: on a busy machine a descheduled thread can miss it even for SELECT 1, and the
      // lease then hands the statement back. It must succeed inline nearly always; allow a few misses.
      let answered = false;
      for (let attempt = 0; attempt < 10 && !answered; attempt++) {
        a.beginUnit(`SELECT ${attempt}`);
        try {
          expect((await a.execute({ sql: `SELECT ${attempt}` })).rows).toEqual([[BigInt(attempt)]]);
          answered = true;
        } catch (error) {
          if (!isInlineRedirect(error)) throw error;
        }
      }
      expect(answered).toBe(true);
      await a.release();
      await waiting;
      expect(second).toBeDefined();
      await second!.release();
    });

    it("a slow autocommit statement is redirected, and its unit remembered as slow", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      const sql = slow(nextTag++);
      const a = await lease(pool);
      a.beginUnit(sql);
      const error = await a.execute({ sql }).catch((e: unknown) => e);
      expect(isInlineRedirect(error)).toBe(true);
      expect(a.knownSlow(sql)).toBe(true);
      expect(a.autocommit).toBe(true);
      await a.release();
    });

    it("a transaction interrupted at any step is rolled back whole before the redirect", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      await exec(pool, "CREATE TABLE t (x)");
      const steps = ["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)"];
      for (let at = 0; at <= steps.length; at++) {
        const a = await lease(pool);
        a.beginUnit(`unit ${at}`);
        let redirected = false;
        try {
          await a.execute({ sql: "BEGIN IMMEDIATE" });
          for (let i = 0; i <= steps.length; i++) {
            if (i === at) await a.execute({ sql: slow(nextTag++) });
            if (i < steps.length) await a.execute({ sql: steps[i]! });
          }
        } catch (error) {
          // The slow statement, or (on a busy machine) any earlier one that missed the wall-time deadline.
          expect(isInlineRedirect(error)).toBe(true);
          redirected = true;
        }
        expect(redirected).toBe(true);
        expect(a.autocommit).toBe(true);
        await a.release();
        // Nothing of the unit persisted.
        expect(await count(pool, "t")).toBe(0n);
      }
    });

    it("after a commit in the unit, a failure is the statement's own error (no re-run could be safe)", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      await exec(pool, "CREATE TABLE t (x)");
      const a = await lease(pool);
      a.beginUnit("insert then slow");
      await a.execute({ sql: "INSERT INTO t VALUES (1)" });
      await expect(a.execute({ sql: slow(nextTag++) })).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_INTERRUPT" });
      await a.release();
      expect(await count(pool, "t")).toBe(1n);
    });

    it("a unit that began inside a transaction or with user state is never redirected", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      await exec(pool, "CREATE TABLE t (x)");
      const a = await lease(pool);
      a.beginUnit("begin");
      await a.execute({ sql: "BEGIN" });
      await a.execute({ sql: "INSERT INTO t VALUES (1)" });
      a.beginUnit("inside");
      await expect(a.execute({ sql: slow(nextTag++) })).rejects.toMatchObject({ name: "SqliteError" });
      await a.release();

      const b = await lease(pool);
      b.beginUnit("temp");
      await b.execute({ sql: "CREATE TEMP TABLE scratch (y)" });
      b.beginUnit("after temp");
      await expect(b.execute({ sql: slow(nextTag++) })).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_INTERRUPT" });
      await b.release();
      // The release rolled the transaction back and the temp table is gone for the next user.
      expect(await count(pool, "t")).toBe(0n);
      const c = await lease(pool);
      c.beginUnit("probe");
      await expect(c.execute({ sql: "SELECT * FROM temp.scratch" })).rejects.toMatchObject({ name: "SqliteError" });
      await c.release();
    });

    it("a write that meets another connection's write lock is redirected at once, not waited for", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5, busyTimeoutMs: 5000 });
      await exec(pool, "CREATE TABLE t (x)");
      await (await lease(pool)).release(); // opened before the lock is taken
      const holder = await pool.acquire();
      await holder.execute({ sql: "BEGIN IMMEDIATE" });
      const a = await lease(pool);
      a.beginUnit("INSERT INTO t VALUES (1)");
      const started = performance.now();
      const error = await a.execute({ sql: "INSERT INTO t VALUES (1)" }).catch((e: unknown) => e);
      expect(isInlineRedirect(error)).toBe(true);
      // A busy lock is not a slow statement: the next attempt may run inline again.
      expect(a.knownSlow("INSERT INTO t VALUES (1)")).toBe(false);
      expect(performance.now() - started).toBeLessThan(1000);
      await a.release();
      await holder.release();
      expect(await count(pool, "t")).toBe(0n);
    });

    it("EXPLAIN never runs on the main thread", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 5 });
      const a = await lease(pool);
      a.beginUnit("explain");
      expect(isInlineRedirect(await a.execute({ sql: "EXPLAIN SELECT 1" }).catch((e: unknown) => e))).toBe(true);
      await a.release();
    });

    it("is off with inlineBudgetMs 0", async () => {
      const pool = await ctx.pool({ inlineBudgetMs: 0 });
      expect(await pool.inline?.()).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await pool.inline?.()).toBeUndefined();
    });
  });
}
