import { describe, expect, it } from "vitest";
import type { Connection, Pool, Value } from "../types.js";
import type { ConformanceContext } from "./context.js";

/**
 * DDL on one connection of a pool must be seen by the next statement on every other connection, even by one that
 * cached statements against the old schema. (SQLite re-reads a connection's schema only when something makes it
 * check the schema cookie; a statement prepared against a stale schema can fail, e.g. "table t has 1 columns but
 * 2 values were supplied".)
 */
export function schemaChangeTests(ctx: ConformanceContext): void {
  describe("schema changes seen by other connections", () => {
    interface Pair {
      readonly pool: Pool;
      readonly a: Connection;
      readonly b: Connection;
    }

    /**
     * Runs `test` on two connections of one pool (released after it); `a` has run, and so cached, an insert and a
     * select on `t (a)`.
     */
    async function withPair(test: (pair: Pair) => Promise<void>): Promise<void> {
      const pool = await ctx.pool({ maxConnections: 2 });
      const a = await pool.acquire();
      const b = await pool.acquire();
      try {
        await b.execute({ sql: "CREATE TABLE t (a)" });
        await a.execute({ sql: "INSERT INTO t VALUES (?)", args: [1n] });
        expect((await a.execute({ sql: "SELECT * FROM t" })).rows).toEqual([[1n]]);
        await test({ pool, a, b });
      } finally {
        await Promise.all([a.release(), b.release()]);
      }
    }

    const insert = (c: Connection, sql: string, args: Value[]) => c.execute({ sql, args });
    const names = (columns: readonly { readonly name: string }[]) => columns.map((c) => c.name);

    it("sees a table dropped and recreated with more columns (cached insert and select)", () =>
      withPair(async ({ a, b }) => {
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b)");
        expect((await insert(a, "INSERT INTO t VALUES (?, ?)", [2n, 3n])).affectedRowCount).toBe(1);
        const all = await a.execute({ sql: "SELECT * FROM t" });
        expect(names(all.columns)).toEqual(["a", "b"]);
        expect(all.rows).toEqual([[2n, 3n]]);
        // The cached one-column insert is now wrong, and says so.
        await expect(insert(a, "INSERT INTO t VALUES (?)", [4n])).rejects.toMatchObject({
          code: "SQLITE_ERROR",
          message: expect.stringContaining("2 columns but 1 values") as unknown,
        });
      }));

    it("sees a table recreated with more columns on a statement it has not cached", () =>
      withPair(async ({ a, b }) => {
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b)");
        expect((await insert(a, "INSERT INTO t VALUES (?, ?)", [2n, 3n])).affectedRowCount).toBe(1);
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b, c)");
        // Through a cursor too.
        const cursor = await a.openCursor({ sql: "INSERT INTO t VALUES (?, ?, ?) RETURNING *", args: [4n, 5n, 6n] });
        expect(names(cursor.columns)).toEqual(["a", "b", "c"]);
        expect((await cursor.next(10)).rows).toEqual([[4n, 5n, 6n]]);
        await cursor.close();
      }));

    it("sees a column added by ALTER TABLE", () =>
      withPair(async ({ a, b }) => {
        await b.execute({ sql: "ALTER TABLE t ADD COLUMN b DEFAULT 7" });
        expect((await insert(a, "INSERT INTO t VALUES (?, ?)", [2n, 3n])).affectedRowCount).toBe(1);
        const all = await a.execute({ sql: "SELECT * FROM t ORDER BY a" });
        expect(names(all.columns)).toEqual(["a", "b"]);
        expect(all.rows).toEqual([
          [1n, 7n],
          [2n, 3n],
        ]);
        expect(names((await a.describe("SELECT * FROM t")).columns)).toEqual(["a", "b"]);
      }));

    it("reports a dropped table as missing, and sees it created again", () =>
      withPair(async ({ a, b }) => {
        await b.execute({ sql: "DROP TABLE t" });
        const missing = { code: "SQLITE_ERROR", message: expect.stringContaining("no such table: t") as unknown };
        await expect(a.execute({ sql: "SELECT * FROM t" })).rejects.toMatchObject(missing);
        await expect(insert(a, "INSERT INTO t VALUES (?)", [2n])).rejects.toMatchObject(missing);
        await expect(a.describe("SELECT * FROM t")).rejects.toMatchObject(missing);
        await b.execute({ sql: "CREATE TABLE t (x, y)" });
        expect((await insert(a, "INSERT INTO t VALUES (?, ?)", [2n, 3n])).affectedRowCount).toBe(1);
        expect(names((await a.execute({ sql: "SELECT * FROM t" })).columns)).toEqual(["x", "y"]);
      }));

    it("sees a view redefined with other columns, in results and in describe", () =>
      withPair(async ({ a, b }) => {
        await b.execute({ sql: "CREATE VIEW v AS SELECT a FROM t" });
        expect(names((await a.execute({ sql: "SELECT * FROM v" })).columns)).toEqual(["a"]);
        expect(names((await a.describe("SELECT * FROM v")).columns)).toEqual(["a"]);
        await b.executeScript("DROP VIEW v; CREATE VIEW v AS SELECT a, a * 10 AS ten FROM t");
        // describe first: nothing has made `a` read the schema since the change
        expect(names((await a.describe("SELECT * FROM v")).columns)).toEqual(["a", "ten"]);
        const all = await a.execute({ sql: "SELECT * FROM v" });
        expect(names(all.columns)).toEqual(["a", "ten"]);
        expect(all.rows).toEqual([[1n, 10n]]);
        const described = await a.describe("SELECT ten FROM v WHERE a = ?");
        expect(described.params).toEqual([null]);
      }));

    it("sees an index created and dropped (constraint, INDEXED BY)", () =>
      withPair(async ({ a, b }) => {
        await b.execute({ sql: "CREATE UNIQUE INDEX t_a ON t (a)" });
        await expect(insert(a, "INSERT INTO t VALUES (?)", [1n])).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
        const indexed = "SELECT a FROM t INDEXED BY t_a WHERE a = ?";
        expect((await a.execute({ sql: indexed, args: [1n] })).rows).toEqual([[1n]]);
        await b.execute({ sql: "DROP INDEX t_a" });
        expect((await insert(a, "INSERT INTO t VALUES (?)", [1n])).affectedRowCount).toBe(1);
        await expect(a.execute({ sql: indexed, args: [1n] })).rejects.toMatchObject({
          code: "SQLITE_ERROR",
          message: expect.stringContaining("no such index: t_a") as unknown,
        });
      }));

    it("sees the new schema inside a transaction (deferred and immediate) and in a script", () =>
      withPair(async ({ a, b }) => {
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b)");
        await a.execute({ sql: "BEGIN" });
        expect((await insert(a, "INSERT INTO t VALUES (?, ?)", [2n, 3n])).affectedRowCount).toBe(1);
        await a.execute({ sql: "COMMIT" });
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b, c)");
        await a.execute({ sql: "BEGIN IMMEDIATE" });
        expect((await insert(a, "INSERT INTO t VALUES (?, ?, ?)", [4n, 5n, 6n])).affectedRowCount).toBe(1);
        await a.execute({ sql: "COMMIT" });
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b, c, d)");
        await a.executeScript("INSERT INTO t VALUES (7, 8, 9, 10); INSERT INTO t VALUES (11, 12, 13, 14)");
        expect((await a.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[2n]]);
      }));

    it("sees the new schema on a read-only connection", () =>
      withPair(async ({ a, b }) => {
        await a.setReadOnly(true);
        expect(names((await a.execute({ sql: "SELECT * FROM t" })).columns)).toEqual(["a"]);
        await b.executeScript("DROP TABLE t; CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2)");
        expect(names((await a.describe("SELECT * FROM t")).columns)).toEqual(["a", "b"]);
        expect((await a.execute({ sql: "SELECT a, b FROM t" })).rows).toEqual([[1n, 2n]]);
        await a.setReadOnly(false);
      }));
  });
}
