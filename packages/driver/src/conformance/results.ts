import { describe, expect, it } from "vitest";
import type { StatementResult } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";

function counts(result: StatementResult): [number, bigint | null] {
  return [result.affectedRowCount, result.lastInsertRowid];
}

export function resultTests(ctx: ConformanceContext): void {
  const run = (sql: string, args?: (bigint | string | number | null)[]) => ctx.main.execute({ sql, args });

  describe("results", () => {
    it("reports column names and declared types (null for expressions)", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT, score REAL)`);
      const result = await run(`SELECT id, name AS label, score + 1 FROM ${t}`);
      expect(result.columns).toEqual([
        { name: "id", decltype: "INTEGER" },
        { name: "label", decltype: "TEXT" },
        { name: "score + 1", decltype: null },
      ]);
      expect(result.rows).toEqual([]);
    });

    it("refuses a result past maxResultBytes with RESPONSE_TOO_LARGE, and stays usable", async () => {
      const pool = await ctx.pool({ maxResultBytes: 64 * 1024 });
      const c = await pool.acquire();
      const big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000) SELECT i, randomblob(100) FROM n";
      await expect(c.execute({ sql: big })).rejects.toMatchObject({ code: "RESPONSE_TOO_LARGE" });
      // A cursor streams the same rows; a small result still works on the same connection.
      const cursor = await c.openCursor({ sql: big });
      let total = 0;
      for (let chunk = await cursor.next(5000); ; chunk = await cursor.next(5000)) {
        total += chunk.rows.length;
        if (chunk.done) break;
      }
      expect(total).toBe(100000);
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      await c.release();
    });

    it("returns rows as arrays in column order", async () => {
      expect((await run("SELECT 1 AS a, 'b' AS b UNION ALL SELECT 2, 'c'")).rows).toEqual([
        [1n, "b"],
        [2n, "c"],
      ]);
    });

    it("returns columns but no rows with wantRows: false, and still runs the statement", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (x)`);
      const select = await ctx.main.execute({ sql: "SELECT 1 AS one", wantRows: false });
      expect(select.columns).toEqual([{ name: "one", decltype: null }]);
      expect(select.rows).toEqual([]);
      const insert = await ctx.main.execute({ sql: `INSERT INTO ${t} VALUES (1), (2) RETURNING x`, wantRows: false });
      expect(insert.rows).toEqual([]);
      expect(insert.affectedRowCount).toBe(2);
      expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[2n]]);
    });

    describe("affectedRowCount and lastInsertRowid", () => {
      it("CREATE TABLE reports 0 and null", async () => {
        expect(counts(await run(`CREATE TABLE ${tableName()} (x)`))).toEqual([0, null]);
      });

      it("INSERT reports the changes and the last rowid", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v)`);
        expect(counts(await run(`INSERT INTO ${t} (v) VALUES ('a')`))).toEqual([1, 1n]);
        expect(counts(await run(`INSERT INTO ${t} (v) VALUES ('b'), ('c'), ('d')`))).toEqual([3, 4n]);
      });

      it("INSERT … RETURNING reports its rows, changes and rowid", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v)`);
        const result = await run(`INSERT INTO ${t} (v) VALUES ('a'), ('b') RETURNING id, v`);
        expect(result.rows).toEqual([
          [1n, "a"],
          [2n, "b"],
        ]);
        expect(counts(result)).toEqual([2, 2n]);
      });

      it("UPDATE and DELETE report changes and no rowid", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v)`);
        await run(`INSERT INTO ${t} (v) VALUES (1), (2), (3)`);
        expect(counts(await run(`UPDATE ${t} SET v = v + 1 WHERE id <= 2`))).toEqual([2, null]);
        const returning = await run(`UPDATE ${t} SET v = 0 RETURNING id`);
        expect(returning.rows).toHaveLength(3);
        expect(counts(returning)).toEqual([3, null]);
        expect(counts(await run(`DELETE FROM ${t} WHERE id = 3`))).toEqual([1, null]);
      });

      it("a SELECT after an INSERT reports 0 and null (changes() is sticky, the count is not)", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (x)`);
        await run(`INSERT INTO ${t} VALUES (1)`);
        expect(counts(await run(`SELECT * FROM ${t}`))).toEqual([0, null]);
      });

      it("REPLACE counts as an INSERT", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v)`);
        await run(`INSERT INTO ${t} VALUES (5, 'a')`);
        expect(counts(await run(`REPLACE INTO ${t} VALUES (5, 'b')`))).toEqual([1, 5n]);
        expect(counts(await run(`INSERT OR REPLACE INTO ${t} VALUES (6, 'c')`))).toEqual([1, 6n]);
      });

      it("WITH … INSERT counts as an INSERT", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v)`);
        const sql = `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 4) INSERT INTO ${t} (v) SELECT i FROM c`;
        expect(counts(await run(sql))).toEqual([4, 4n]);
        expect(counts(await run(`WITH x AS (SELECT 1) DELETE FROM ${t} WHERE id > 2`))).toEqual([2, null]);
        expect(counts(await run(`WITH x AS (SELECT 1) SELECT * FROM x`))).toEqual([0, null]);
      });

      it("classifies statements after comments and in lower case", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`);
        expect(counts(await run(`/* leading */ -- comment\n insert into ${t} values (7)`))).toEqual([1, 7n]);
      });

      it("EXPLAIN reports 0 and null", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (x)`);
        expect(counts(await run(`EXPLAIN INSERT INTO ${t} VALUES (1)`))).toEqual([0, null]);
      });

      it("reports rowids above 2^53 exactly", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`);
        expect(counts(await run(`INSERT INTO ${t} VALUES (?)`, [2n ** 62n + 1n]))).toEqual([1, 2n ** 62n + 1n]);
        expect(counts(await run(`INSERT INTO ${t} VALUES (?)`, [2n ** 63n - 1n]))).toEqual([1, 2n ** 63n - 1n]);
        expect(counts(await run(`INSERT INTO ${t} VALUES (?) RETURNING id`, [-(2n ** 63n)]))).toEqual([1, -(2n ** 63n)]);
      });
    });

    describe("statement count", () => {
      it.each(["", "   ", "-- only a comment", "/* c */", ";", " ; ;"])("rejects %j with SQL_NO_STATEMENT", async (sql) => {
        await expect(run(sql)).rejects.toMatchObject({ name: "DriverError", code: "SQL_NO_STATEMENT" });
      });

      it("rejects several statements with SQL_MANY_STATEMENTS and runs none of them", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (x)`);
        await expect(run("SELECT 1; SELECT 2")).rejects.toMatchObject({ code: "SQL_MANY_STATEMENTS" });
        await expect(run(`INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (2)`)).rejects.toMatchObject({
          code: "SQL_MANY_STATEMENTS",
        });
        expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[0n]]);
      });

      it("accepts a trailing semicolon and a trailing comment", async () => {
        expect((await run("SELECT 1;")).rows).toEqual([[1n]]);
        expect((await run("SELECT 2; -- done\n")).rows).toEqual([[2n]]);
      });
    });

    describe("executeScript", () => {
      it("runs every statement in order", async () => {
        const t = tableName();
        await ctx.main.executeScript(
          `CREATE TABLE ${t} (x); INSERT INTO ${t} VALUES (1); -- comment\n INSERT INTO ${t} VALUES (2); UPDATE ${t} SET x = x * 10;`,
        );
        expect((await run(`SELECT x FROM ${t} ORDER BY x`)).rows).toEqual([[10n], [20n]]);
      });

      it("stops at the first error", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (x UNIQUE)`);
        await expect(
          ctx.main.executeScript(`INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (3);`),
        ).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_CONSTRAINT" });
        expect((await run(`SELECT x FROM ${t}`)).rows).toEqual([[1n]]);
      });

      it("accepts an empty script", async () => {
        await ctx.main.executeScript("");
        await ctx.main.executeScript("  -- nothing\n");
      });
    });

    describe("describe", () => {
      it("lists parameters by index with their prefix, null for ? and gaps", async () => {
        const d = await ctx.main.describe("SELECT ?, :a, @b, $c, ?7");
        expect(d.params).toEqual([null, ":a", "@b", "$c", null, null, "?7"]);
      });

      it("reports columns, read-only and explain without running the statement", async () => {
        const t = tableName();
        await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT)`);
        const select = await ctx.main.describe(`SELECT id, name, 1 + 1 AS two FROM ${t}`);
        expect(select).toEqual({
          params: [],
          columns: [
            { name: "id", decltype: "INTEGER" },
            { name: "name", decltype: "TEXT" },
            { name: "two", decltype: null },
          ],
          explain: 0,
          readonly: true,
        });
        const insert = await ctx.main.describe(`INSERT INTO ${t} (name) VALUES (?)`);
        expect(insert).toMatchObject({ params: [null], columns: [], explain: 0, readonly: false });
        expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[0n]]);
        expect((await ctx.main.describe(`EXPLAIN SELECT * FROM ${t}`)).explain).toBe(1);
        expect((await ctx.main.describe(`EXPLAIN QUERY PLAN SELECT * FROM ${t}`)).explain).toBe(2);
      });

      it("fails like prepare on bad SQL, and counts statements like execute", async () => {
        await expect(ctx.main.describe("SELEC 1")).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_ERROR" });
        await expect(ctx.main.describe("SELECT * FROM no_such_table")).rejects.toMatchObject({ code: "SQLITE_ERROR" });
        await expect(ctx.main.describe("")).rejects.toMatchObject({ code: "SQL_NO_STATEMENT" });
        await expect(ctx.main.describe("SELECT 1; SELECT 2")).rejects.toMatchObject({ code: "SQL_MANY_STATEMENTS" });
      });
    });
  });
}
