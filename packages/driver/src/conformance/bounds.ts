import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RowCursor, Value } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";

/** `n` rows of (i, a blob of `size` bytes). */
const blobs = (n: number, size: number): string =>
  `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT ${n}) SELECT i, randomblob(${size}) FROM c`;

/** Reads a cursor to its end, chunk by chunk. */
async function chunks(cursor: RowCursor, maxRows: number, maxBytes?: number): Promise<(readonly (readonly Value[])[])[]> {
  const result: (readonly (readonly Value[])[])[] = [];
  for (;;) {
    const { rows, done } = await cursor.next(maxRows, maxBytes);
    if (rows.length > 0) result.push(rows);
    if (done) return result;
  }
}

export function boundTests(ctx: ConformanceContext): void {
  describe("result bounds", () => {
    it("bounds one execute by the smaller positive of the pool's maxResultBytes and the statement's", async () => {
      const pool = await ctx.pool({ maxResultBytes: 64 * 1024 });
      const c = await pool.acquire();
      const small = blobs(10, 1000); // about 10 KB
      const large = blobs(100, 1000); // about 100 KB
      expect((await c.execute({ sql: small })).rows).toHaveLength(10);
      await expect(c.execute({ sql: small, maxResultBytes: 5000 })).rejects.toMatchObject({
        name: "DriverError",
        code: "RESPONSE_TOO_LARGE",
      });
      expect((await c.execute({ sql: small, maxResultBytes: 0 })).rows).toHaveLength(10);
      expect((await c.execute({ sql: small, maxResultBytes: 1e9 })).rows).toHaveLength(10);
      // The pool's bound still holds when the statement's is larger.
      await expect(c.execute({ sql: large, maxResultBytes: 1e9 })).rejects.toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      // The statement was reset: the connection goes on, also inside a transaction.
      await c.execute({ sql: "BEGIN" });
      await expect(c.execute({ sql: small, maxResultBytes: 100 })).rejects.toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      expect(c.autocommit).toBe(false);
      await c.execute({ sql: "COMMIT" });
      await expect(c.execute({ sql: small, maxResultBytes: -1 })).rejects.toMatchObject({ code: "ARGS_INVALID" });
      await c.release();
    });

    it("applies a statement's bound when the pool has none", async () => {
      const pool = await ctx.pool({ maxResultBytes: 0 });
      const c = await pool.acquire();
      expect((await c.execute({ sql: blobs(100, 1000) })).rows).toHaveLength(100);
      await expect(c.execute({ sql: blobs(100, 1000), maxResultBytes: 10_000 })).rejects.toMatchObject({
        code: "RESPONSE_TOO_LARGE",
      });
      expect((await c.execute({ sql: "SELECT 1", maxResultBytes: 10_000 })).rows).toEqual([[1n]]);
      await c.release();
    });

    it("ends a cursor chunk once it reaches maxBytes, with at least one row", async () => {
      const c = ctx.main;
      // A bound below one row: one row per chunk.
      const single = await chunks(await c.openCursor({ sql: blobs(20, 1000) }), 100, 1);
      expect(single.map((rows) => rows.length)).toEqual(Array.from({ length: 20 }, () => 1));
      // About ten rows' worth: equal chunks of a few rows (the row that reaches the bound is included).
      const some = await chunks(await c.openCursor({ sql: blobs(100, 1000) }), 1000, 10_000);
      const sizes = some.map((rows) => rows.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
      expect(sizes[0]).toBeGreaterThan(1);
      expect(sizes[0]).toBeLessThan(20);
      expect(sizes.slice(0, -1).every((size) => size === sizes[0])).toBe(true);
      expect(some.flat().map((row) => row[0])).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
      // maxRows still applies, and 0 (or nothing) means no byte bound.
      expect((await chunks(await c.openCursor({ sql: blobs(100, 1000) }), 7, 1e9)).map((r) => r.length)).toEqual([
        ...Array.from({ length: 14 }, () => 7),
        2,
      ]);
      expect((await chunks(await c.openCursor({ sql: blobs(30, 1000) }), 10, 0)).map((r) => r.length)).toEqual([10, 10, 10]);
      const cursor = await c.openCursor({ sql: blobs(3, 10) });
      await expect(cursor.next(10, -5)).rejects.toMatchObject({ code: "ARGS_INVALID" });
      await cursor.close();
    });

    it("fails a cursor on a row larger than maxResultBytes, and the connection goes on", async () => {
      const pool = await ctx.pool({ maxResultBytes: 10_000 });
      const c = await pool.acquire();
      const sql =
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 100) " +
        "SELECT i, CASE WHEN i = 50 THEN randomblob(20000) ELSE 'x' END FROM c";
      const cursor = await c.openCursor({ sql });
      let seen = 0;
      const failure = await (async () => {
        for (;;) {
          const { rows, done } = await cursor.next(10);
          seen += rows.length;
          if (done) return undefined;
        }
      })().catch((error: unknown) => error);
      expect(failure).toMatchObject({ name: "DriverError", code: "RESPONSE_TOO_LARGE" });
      expect((failure as Error).message).toMatch(/single row is larger than 10000 bytes/i);
      expect(seen).toBe(40); // the chunks before the one holding the large row
      await expect(cursor.next(10)).rejects.toMatchObject({ code: "CURSOR_BUSY" });
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      // The first row too large: the cursor fails at open.
      await expect(c.openCursor({ sql: "SELECT randomblob(20000)" })).rejects.toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      // Many rows that each fit stream whatever their total.
      expect((await chunks(await c.openCursor({ sql: blobs(100, 5000) }), 10)).flat()).toHaveLength(100);
      await c.release();
    });

    it("keeps the rows of a failed cursor's transaction usable (the statement is reset, not the transaction)", async () => {
      const pool = await ctx.pool({ maxResultBytes: 10_000 });
      const c = await pool.acquire();
      const t = tableName();
      await c.execute({ sql: `CREATE TABLE ${t} (x)` });
      await c.execute({ sql: "BEGIN" });
      await c.execute({ sql: `INSERT INTO ${t} VALUES (1)` });
      const cursor = await c.openCursor({ sql: "SELECT 1 UNION ALL SELECT randomblob(20000)" });
      await expect(cursor.next(10)).rejects.toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      expect(c.autocommit).toBe(false);
      await c.execute({ sql: "COMMIT" });
      expect((await c.execute({ sql: `SELECT count(*) FROM ${t}` })).rows).toEqual([[1n]]);
      await c.release();
    });
  });

  describe("WAL size bound", () => {
    const burst = (t: string) =>
      `INSERT INTO ${t} SELECT randomblob(1000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 4000) SELECT i FROM c)`;

    it("sets journal_size_limit on writable file connections (64 MiB by default)", async () => {
      const pool = await ctx.pool();
      const c = await pool.acquire();
      expect((await c.execute({ sql: "PRAGMA journal_size_limit" })).rows).toEqual([[64n * 1024n * 1024n]]);
      await c.release();
      const custom = await ctx.pool({ journalSizeLimitBytes: 1 << 20 });
      const d = await custom.acquire();
      expect((await d.execute({ sql: "PRAGMA journal_size_limit" })).rows).toEqual([[1048576n]]);
      await d.release();
      const readOnly = await ctx.driver.open({ path: custom.path, mode: "readonly" });
      const r = await readOnly.acquire();
      expect((await r.execute({ sql: "PRAGMA journal_size_limit" })).rows).toEqual([[-1n]]);
      await r.release();
      await readOnly.close();
      await expect(ctx.pool({ journalSizeLimitBytes: -2 })).rejects.toThrow(TypeError);
    });

    it("sets wal_autocheckpoint on writable file connections (1000 by default, 0 turns it off)", async () => {
      const pool = await ctx.pool();
      const c = await pool.acquire();
      expect((await c.execute({ sql: "PRAGMA wal_autocheckpoint" })).rows).toEqual([[1000n]]);
      await c.release();
      const off = await ctx.pool({ walAutocheckpointPages: 0 });
      const d = await off.acquire();
      expect((await d.execute({ sql: "PRAGMA wal_autocheckpoint" })).rows).toEqual([[0n]]);
      // No checkpoint runs on commit: the WAL keeps every frame until someone checkpoints.
      await d.execute({ sql: "CREATE TABLE auto_off(x)" });
      for (let i = 0; i < 5; i++) await d.execute({ sql: `INSERT INTO auto_off SELECT randomblob(4000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 300) SELECT i FROM c)` });
      await d.release();
      const result = await off.checkpoint("passive");
      expect(result.log).toBeGreaterThan(1000);
      await expect(ctx.pool({ walAutocheckpointPages: -1 })).rejects.toThrow(TypeError);
    });

    it("truncates a WAL that grew past the limit once it is reset after a checkpoint", async () => {
      const limit = 256 * 1024;
      const sizes: Record<string, number> = {};
      for (const [label, journalSizeLimitBytes] of [
        ["limited", limit],
        ["unlimited", -1],
      ] as const) {
        const pool = await ctx.pool({ journalSizeLimitBytes, maxConnections: 1 });
        const c = await pool.acquire();
        const t = tableName();
        await c.execute({ sql: `CREATE TABLE ${t} (x)` });
        await c.execute({ sql: burst(t) }); // about 4 MB in one transaction
        expect(statSync(`${pool.path}-wal`).size).toBeGreaterThan(limit);
        await c.release();
        expect((await pool.checkpoint("restart")).busy).toBe(0);
        const d = await pool.acquire();
        await d.execute({ sql: `INSERT INTO ${t} VALUES (1)` }); // the first write after the restart resets the WAL
        await d.release();
        sizes[label] = statSync(`${pool.path}-wal`).size;
      }
      expect(sizes.limited).toBeLessThanOrEqual(limit);
      expect(sizes.unlimited).toBeGreaterThan(limit); // what the limit prevents
    });
  });
}
