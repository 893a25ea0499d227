import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Connection } from "../types.js";
import type { ConformanceContext } from "./context.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

export function poolTests(ctx: ConformanceContext): void {
  describe("pool", () => {
    it("creates the file in create mode and sets WAL, synchronous and busy timeout", async () => {
      const pool = await ctx.pool({ busyTimeoutMs: 1234, synchronous: "full" });
      expect(existsSync(pool.path)).toBe(true);
      expect(pool.mode).toBe("create");
      const c = await pool.acquire();
      expect((await c.execute({ sql: "PRAGMA journal_mode" })).rows).toEqual([["wal"]]);
      expect((await c.execute({ sql: "PRAGMA busy_timeout" })).rows).toEqual([[1234n]]);
      expect((await c.execute({ sql: "PRAGMA synchronous" })).rows).toEqual([[2n]]);
      await c.release();
    });

    it("fails with OPEN_FAILED on a missing file in readwrite mode, without creating it", async () => {
      const path = ctx.file("missing");
      await expect(ctx.driver.open({ path, mode: "readwrite" })).rejects.toMatchObject({
        name: "DriverError",
        code: "OPEN_FAILED",
      });
      expect(existsSync(path)).toBe(false);
    });

    it("fails with OPEN_FAILED on a file that is not a database", async () => {
      const path = ctx.file("garbage");
      writeFileSync(path, "not a database ".repeat(200));
      await expect(ctx.driver.open({ path, mode: "readwrite" })).rejects.toMatchObject({ code: "OPEN_FAILED" });
    });

    it("opens an existing file in readwrite mode", async () => {
      const first = await ctx.pool();
      const c = await first.acquire();
      await c.execute({ sql: "CREATE TABLE t (x)" });
      await c.release();
      const second = await ctx.driver.open({ path: first.path, mode: "readwrite" });
      const d = await second.acquire();
      expect((await d.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[0n]]);
      await d.release();
      await second.close();
    });

    it("opens paths with URI-special characters in every mode", async () => {
      const dir = join(ctx.dir, "odd name #1 ?x=%20 &");
      mkdirSync(dir, { recursive: true });
      const path = join(dir, "data base%3F.db");
      await expect(ctx.driver.open({ path, mode: "readwrite" })).rejects.toMatchObject({ code: "OPEN_FAILED" });
      const created = await ctx.driver.open({ path, mode: "create" });
      const c = await created.acquire();
      await c.execute({ sql: "CREATE TABLE t (x)" });
      await c.execute({ sql: "INSERT INTO t VALUES (1)" });
      await c.release();
      await created.close();
      expect(existsSync(path)).toBe(true);
      for (const mode of ["readwrite", "readonly"] as const) {
        const pool = await ctx.driver.open({ path, mode });
        const d = await pool.acquire();
        expect((await d.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[1n]]);
        await d.release();
        await pool.close();
      }
    });

    it("gives each connection of a :memory: pool its own database", async () => {
      const pool = await ctx.driver.open({ path: ":memory:", mode: "create", maxConnections: 2 });
      const a = await pool.acquire();
      const b = await pool.acquire();
      await a.execute({ sql: "CREATE TABLE only_in_a (x)" });
      await expect(b.execute({ sql: "SELECT * FROM only_in_a" })).rejects.toMatchObject({ code: "SQLITE_ERROR" });
      await Promise.all([a.release(), b.release()]);
      await pool.close();
    });

    it("is bounded, opens lazily and reports its stats", async () => {
      const pool = await ctx.pool({ maxConnections: 2 });
      expect(pool.stats()).toEqual({ open: 1, idle: 1, inUse: 0, waiting: 0, max: 2 });
      const a = await pool.acquire();
      const b = await pool.acquire();
      expect(pool.stats()).toMatchObject({ open: 2, idle: 0, inUse: 2, waiting: 0 });
      const third = pool.acquire();
      await tick();
      expect(pool.stats()).toMatchObject({ open: 2, waiting: 1 });
      await a.release();
      const c = await third;
      expect(c.id).toBe(a.id);
      expect(pool.stats()).toMatchObject({ open: 2, inUse: 2, waiting: 0 });
      await Promise.all([b.release(), c.release()]);
      expect(pool.stats()).toMatchObject({ open: 2, idle: 2, inUse: 0 });
    });

    it("serves waiters in FIFO order", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const holder = await pool.acquire();
      const order: number[] = [];
      const waiters = [1, 2, 3].map((n) =>
        pool.acquire().then(async (c: Connection) => {
          order.push(n);
          await tick();
          await c.release();
        }),
      );
      await tick();
      expect(pool.stats().waiting).toBe(3);
      await holder.release();
      await Promise.all(waiters);
      expect(order).toEqual([1, 2, 3]);
    });

    it("fails a waiter with POOL_TIMEOUT after its timeout", async () => {
      const pool = await ctx.pool({ maxConnections: 1, acquireTimeoutMs: 60_000 });
      const holder = await pool.acquire();
      await expect(pool.acquire(undefined, 50)).rejects.toMatchObject({ name: "DriverError", code: "POOL_TIMEOUT" });
      expect(pool.stats().waiting).toBe(0);
      const short = await ctx.pool({ maxConnections: 1, acquireTimeoutMs: 50 });
      const held = await short.acquire();
      await expect(short.acquire()).rejects.toMatchObject({ code: "POOL_TIMEOUT" });
      await Promise.all([holder.release(), held.release()]);
    });

    it("fails a waiter with ABORTED when its signal aborts", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const holder = await pool.acquire();
      const controller = new AbortController();
      const waiting = pool.acquire(controller.signal);
      await tick();
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ code: "ABORTED" });
      expect(pool.stats().waiting).toBe(0);
      await expect(pool.acquire(AbortSignal.abort())).rejects.toMatchObject({ code: "ABORTED" });
      await holder.release();
      // The aborted waiter did not take the released connection.
      const next = await pool.acquire(undefined, 1000);
      await next.release();
    });

    it("rolls back an open transaction on release, so the next user sees nothing uncommitted", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      await c.execute({ sql: "CREATE TABLE t (x)" });
      await c.execute({ sql: "BEGIN" });
      await c.execute({ sql: "INSERT INTO t VALUES (1)" });
      expect(c.autocommit).toBe(false);
      await c.release();
      const next = await pool.acquire();
      expect(next.id).toBe(c.id);
      expect(next.autocommit).toBe(true);
      expect(await next.isAutocommit()).toBe(true);
      expect((await next.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[0n]]);
      await next.release();
    });

    it("never hands a connection's settings or temp objects to its next user", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const first = await pool.acquire();
      const base = (await first.execute({ sql: "PRAGMA foreign_keys" })).rows[0]![0];
      await first.execute({ sql: "CREATE TEMP TABLE secret (x)" });
      await first.execute({ sql: "INSERT INTO secret VALUES ('mine')" });
      await first.execute({ sql: `PRAGMA foreign_keys = ${base === 1n ? "OFF" : "ON"}` });
      await first.release();
      const next = await pool.acquire();
      expect((await next.execute({ sql: "SELECT count(*) FROM temp.sqlite_master" })).rows).toEqual([[0n]]);
      expect((await next.execute({ sql: "PRAGMA foreign_keys" })).rows[0]![0]).toBe(base);
      await next.release();
      // A connection its user left as it found it is kept (and so keeps its id).
      const clean = await pool.acquire();
      const id = clean.id;
      await clean.execute({ sql: "SELECT 1" });
      await clean.release();
      const again = await pool.acquire();
      expect(again.id).toBe(id);
      await again.release();
    });

    it("closes connections left idle after a burst, keeping one", async () => {
      const pool = await ctx.pool({ maxConnections: 4, idleConnectionTimeoutMs: 200 });
      const burst = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]);
      expect(pool.stats().open).toBe(4);
      await Promise.all(burst.map((c) => c.release()));
      expect(pool.stats().idle).toBe(4);
      const deadline = Date.now() + 10_000;
      while (pool.stats().open > 1 && Date.now() < deadline) await tick();
      expect(pool.stats()).toMatchObject({ open: 1, idle: 1 });
      // The one kept still works, and the pool grows again on demand.
      const again = await Promise.all([pool.acquire(), pool.acquire()]);
      expect((await again[0]!.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      expect(pool.stats().open).toBe(2);
      await Promise.all(again.map((c) => c.release()));
    });

    it("makes a released lease unusable; release is idempotent", async () => {
      const pool = await ctx.pool();
      const c = await pool.acquire();
      await Promise.all([c.release(), c.release()]);
      await c.release();
      await expect(c.execute({ sql: "SELECT 1" })).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      await expect(c.isAutocommit()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      expect(pool.stats()).toMatchObject({ inUse: 0 });
    });

    it("close() waits for connections in use, fails waiters and later acquires with POOL_CLOSED", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      const waiter = pool.acquire();
      let closed = false;
      const closing = pool.close().then(() => (closed = true));
      await expect(waiter).rejects.toMatchObject({ code: "POOL_CLOSED" });
      await expect(pool.acquire()).rejects.toMatchObject({ code: "POOL_CLOSED" });
      // The user still holds its connection and can finish its work.
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      await tick();
      expect(closed).toBe(false);
      await c.release();
      await closing;
      expect(closed).toBe(true);
      expect(pool.stats()).toMatchObject({ open: 0 });
      await pool.close();
    });

    it("checkpoint('truncate') leaves an empty WAL file", async () => {
      const pool = await ctx.pool();
      const c = await pool.acquire();
      await c.executeScript(
        "CREATE TABLE t (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) INSERT INTO t SELECT randomblob(100) FROM c;",
      );
      await c.release();
      expect(statSync(`${pool.path}-wal`).size).toBeGreaterThan(0);
      const result = await pool.checkpoint("truncate");
      expect(result.busy).toBe(0);
      expect(statSync(`${pool.path}-wal`).size).toBe(0);
      const passive = await pool.checkpoint();
      expect(passive).toEqual({ busy: 0, log: 0, checkpointed: 0 });
    });
  });
}
