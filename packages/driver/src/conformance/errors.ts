import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tableName, type ConformanceContext } from "./context.js";

async function caught(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected the promise to reject");
}

export function errorTests(ctx: ConformanceContext): void {
  describe("errors", () => {
    const run = (sql: string) => ctx.main.execute({ sql });

    it("reports constraint failures with the base code and the extended code", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL, c INT CHECK (c > 0))`);
      await run(`INSERT INTO ${t} VALUES (1, 'a', 'n', 1)`);
      const cases: [string, string, number][] = [
        [`INSERT INTO ${t} VALUES (1, 'b', 'n', 1)`, "SQLITE_CONSTRAINT_PRIMARYKEY", 1555],
        [`INSERT INTO ${t} VALUES (2, 'a', 'n', 1)`, "SQLITE_CONSTRAINT_UNIQUE", 2067],
        [`INSERT INTO ${t} VALUES (3, 'c', NULL, 1)`, "SQLITE_CONSTRAINT_NOTNULL", 1299],
        [`INSERT INTO ${t} VALUES (4, 'd', 'n', 0)`, "SQLITE_CONSTRAINT_CHECK", 275],
      ];
      for (const [sql, extendedCode, rawCode] of cases) {
        const error = await caught(run(sql));
        expect(error).toMatchObject({ name: "SqliteError", code: "SQLITE_CONSTRAINT", extendedCode, rawCode });
      }
    });

    it("reports a syntax error and a missing table as SQLITE_ERROR", async () => {
      expect(await caught(run("SELEC 1"))).toMatchObject({ name: "SqliteError", code: "SQLITE_ERROR", rawCode: 1 });
      const missing = await caught(run("SELECT * FROM no_such_table_anywhere"));
      expect(missing).toMatchObject({ code: "SQLITE_ERROR" });
      expect(missing.message).toContain("no_such_table_anywhere");
    });

    it("reports runtime errors raised while stepping", async () => {
      expect(await caught(run("SELECT abs(-9223372036854775808)"))).toMatchObject({ code: "SQLITE_ERROR" });
    });

    it("never puts the database path in an error message", async () => {
      const pool = await ctx.pool();
      const connection = await pool.acquire();
      const messages: string[] = [];
      messages.push((await caught(connection.execute({ sql: "SELEC 1" }))).message);
      messages.push((await caught(connection.execute({ sql: "SELECT * FROM nope" }))).message);
      messages.push((await caught(connection.execute({ sql: `ATTACH '${join(ctx.dir, "other.db")}' AS other` }))).message);
      await connection.release();
      const missing = join(ctx.dir, "missing.db");
      messages.push((await caught(ctx.driver.open({ path: missing, mode: "readwrite" }))).message);
      const garbage = join(ctx.dir, "garbage.db");
      writeFileSync(garbage, "this is not a database file, not at all, really not".repeat(100));
      messages.push((await caught(ctx.driver.open({ path: garbage, mode: "readwrite" }))).message);
      for (const message of messages) {
        expect(message).not.toContain(ctx.dir);
        expect(message).not.toContain("secretdir");
      }
    });

    it("refuses SQL text containing a NUL character with SQL_CONTAINS_NUL, running nothing", async () => {
      const t = tableName();
      const expected = { name: "DriverError", code: "SQL_CONTAINS_NUL", message: "SQL text must not contain a NUL character" };
      expect(await caught(run("SELECT 1\u0000; SELECT 2"))).toMatchObject(expected);
      expect(await caught(run(`CREATE TABLE ${t} (x)\u0000`))).toMatchObject(expected);
      expect(await caught(ctx.main.openCursor({ sql: "SELECT 1\u0000" }))).toMatchObject(expected);
      expect(await caught(ctx.main.describe("SELECT ?\u0000"))).toMatchObject(expected);
      expect(await caught(ctx.main.executeScript(`CREATE TABLE ${t} (x);\u0000 DROP TABLE ${t};`))).toMatchObject(expected);
      expect((await run(`SELECT count(*) FROM sqlite_schema WHERE name = '${t}'`)).rows).toEqual([[0n]]);
      // NUL inside a bound value is data, not SQL text.
      expect((await ctx.main.execute({ sql: "SELECT length(?)", args: [new Uint8Array([0, 0])] })).rows).toEqual([[2n]]);
    });

    it("refuses ATTACH of a file (clients must not reach other files)", async () => {
      const other = join(ctx.dir, "attached.db");
      await expect(run(`ATTACH '${other}' AS other`)).rejects.toMatchObject({ name: "SqliteError" });
      expect((await run("PRAGMA database_list")).rows.map((row) => row[1])).not.toContain("other");
    });
  });
}
