import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Value } from "../types.js";
import type { ConformanceContext } from "./context.js";

const TEN_THOUSAND = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000) SELECT i, 'row ' || i AS label FROM c";

export function cursorTests(ctx: ConformanceContext): void {
  describe("cursors", () => {
    it("streams 10 000 rows in chunks", async () => {
      const cursor = await ctx.main.openCursor({ sql: TEN_THOUSAND });
      expect(cursor.columns).toEqual([
        { name: "i", decltype: null },
        { name: "label", decltype: null },
      ]);
      const sizes: number[] = [];
      let expected = 1n;
      for (;;) {
        const { rows, done } = await cursor.next(1000);
        if (rows.length > 0) sizes.push(rows.length);
        for (const row of rows) {
          expect(row).toEqual([expected, `row ${expected}`]);
          expected += 1n;
        }
        if (done) break;
      }
      expect(expected).toBe(10_001n);
      expect(sizes.every((size) => size <= 1000)).toBe(true);
      expect(sizes.length).toBeGreaterThanOrEqual(10);
      expect(cursor.affectedRowCount).toBe(0);
      expect(cursor.lastInsertRowid).toBeNull();
      expect(await cursor.next(10)).toEqual({ rows: [], done: true });
      await cursor.close();
    });

    it("closes early, releases its read snapshot, and the connection goes on", async () => {
      const pool = await ctx.pool({ maxConnections: 2 });
      const reader = await pool.acquire();
      const writer = await pool.acquire();
      await writer.executeScript(
        "CREATE TABLE t (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) INSERT INTO t SELECT i FROM c;",
      );
      const cursor = await reader.openCursor({ sql: "SELECT x FROM t" });
      expect((await cursor.next(10)).rows).toHaveLength(10);
      await cursor.close();
      await cursor.close();
      await expect(cursor.next(10)).rejects.toMatchObject({ code: "CURSOR_BUSY" });
      // A checkpoint can only truncate the WAL when no reader still holds an old snapshot.
      await writer.execute({ sql: "INSERT INTO t VALUES (0)" });
      await writer.release();
      const checkpoint = await pool.checkpoint("truncate");
      expect(checkpoint.busy).toBe(0);
      expect(statSync(`${pool.path}-wal`).size).toBe(0);
      expect((await reader.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[5001n]]);
      const again = await reader.openCursor({ sql: "SELECT x FROM t" });
      expect((await again.next(3)).rows).toEqual([[1n], [2n], [3n]]);
      await again.close();
      await reader.release();
    });

    it("refuses a second cursor, and other statements, while one is open", async () => {
      const cursor = await ctx.main.openCursor({ sql: TEN_THOUSAND });
      await expect(ctx.main.openCursor({ sql: "SELECT 1" })).rejects.toMatchObject({ code: "CURSOR_BUSY" });
      await expect(ctx.main.execute({ sql: "SELECT 1" })).rejects.toMatchObject({ code: "CURSOR_BUSY" });
      expect((await cursor.next(2)).rows).toEqual([
        [1n, "row 1"],
        [2n, "row 2"],
      ]);
      await cursor.close();
      const next = await ctx.main.openCursor({ sql: "SELECT 7" });
      expect(await next.next(10)).toEqual({ rows: [[7n]], done: true });
    });

    it("reports changes and rowid of INSERT … RETURNING once done", async () => {
      await ctx.main.execute({ sql: "CREATE TABLE cursor_returning (id INTEGER PRIMARY KEY, v)" });
      const cursor = await ctx.main.openCursor({
        sql: "INSERT INTO cursor_returning (v) VALUES ('a'), ('b'), ('c') RETURNING id",
      });
      const rows: Value[] = [];
      for (;;) {
        const chunk = await cursor.next(2);
        rows.push(...chunk.rows.map((row) => row[0] as Value));
        if (chunk.done) break;
      }
      expect(rows).toEqual([1n, 2n, 3n]);
      expect(cursor.affectedRowCount).toBe(3);
      expect(cursor.lastInsertRowid).toBe(3n);
    });

    it("runs a statement without rows at once", async () => {
      const cursor = await ctx.main.openCursor({ sql: "CREATE TABLE cursor_ddl (x)" });
      expect(cursor.columns).toEqual([]);
      expect(await cursor.next(10)).toEqual({ rows: [], done: true });
      const insert = await ctx.main.openCursor({ sql: "INSERT INTO cursor_ddl VALUES (1), (2)" });
      expect(await insert.next(10)).toEqual({ rows: [], done: true });
      expect(insert.affectedRowCount).toBe(2);
      expect(insert.lastInsertRowid).toBe(2n);
    });

    it("fails at open on bad SQL or arguments, then opens the next one", async () => {
      await expect(ctx.main.openCursor({ sql: "SELEC 1" })).rejects.toMatchObject({ code: "SQLITE_ERROR" });
      await expect(ctx.main.openCursor({ sql: "SELECT ?" })).rejects.toMatchObject({ code: "ARGS_INVALID" });
      await expect(ctx.main.openCursor({ sql: "SELECT 1; SELECT 2" })).rejects.toMatchObject({ code: "SQL_MANY_STATEMENTS" });
      const cursor = await ctx.main.openCursor({ sql: "SELECT ?", args: ["ok"] });
      expect(await cursor.next(5)).toEqual({ rows: [["ok"]], done: true });
    });

    it("reports an error raised in the middle of the rows, and the connection goes on", async () => {
      const cursor = await ctx.main.openCursor({
        sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) SELECT CASE WHEN i = 2500 THEN abs(-9223372036854775808) ELSE i END FROM c",
      });
      expect((await cursor.next(1000)).rows).toHaveLength(1000);
      await expect(
        (async () => {
          for (;;) if ((await cursor.next(1000)).done) return;
        })(),
      ).rejects.toMatchObject({ code: "SQLITE_ERROR" });
      expect((await ctx.main.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
    });

    it("is closed by release(), and the next user gets a clean connection", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      const cursor = await c.openCursor({ sql: TEN_THOUSAND });
      await cursor.next(5);
      await c.release();
      await expect(cursor.next(5)).rejects.toMatchObject({ code: "CURSOR_BUSY" });
      const next = await pool.acquire();
      expect((await next.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      const fresh = await next.openCursor({ sql: "SELECT 2" });
      expect(await fresh.next(5)).toEqual({ rows: [[2n]], done: true });
      await next.release();
    });
  });
}
