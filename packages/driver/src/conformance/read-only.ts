import { describe, expect, it } from "vitest";
import type { Connection } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";

const WRITE_CODES = ["SQLITE_AUTH", "SQLITE_READONLY"];

async function expectWriteRefused(promise: Promise<unknown>): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error).toMatchObject({ name: "SqliteError" });
  expect(WRITE_CODES).toContain((error as { code: string }).code);
}

async function writesAreRefused(connection: Connection, table: string): Promise<void> {
  await expectWriteRefused(connection.execute({ sql: `INSERT INTO ${table} VALUES (99)` }));
  await expectWriteRefused(connection.execute({ sql: `UPDATE ${table} SET x = 0` }));
  await expectWriteRefused(connection.execute({ sql: `CREATE TABLE ${tableName()} (x)` }));
  await expectWriteRefused(connection.execute({ sql: `CREATE TEMP TABLE ${tableName()} (x)` }));
  await expectWriteRefused(connection.executeScript(`SELECT 1; DELETE FROM ${table};`));
  await expectWriteRefused(connection.execute({ sql: "BEGIN IMMEDIATE" }));
  expect(connection.autocommit).toBe(true);
}

export function readOnlyTests(ctx: ConformanceContext): void {
  describe("read-only", () => {
    it("opens a file read-only: reads work, every write is refused, release keeps it read-only", async () => {
      const writer = await ctx.pool({ maxConnections: 1 });
      const w = await writer.acquire();
      await w.execute({ sql: "CREATE TABLE t (x)" });
      await w.execute({ sql: "INSERT INTO t VALUES (1)" });
      await w.release();

      const reader = await ctx.driver.open({ path: writer.path, mode: "readonly", maxConnections: 1 });
      try {
        expect(reader.mode).toBe("readonly");
        const r = await reader.acquire();
        expect(r.readOnly).toBe(true);
        expect((await r.execute({ sql: "SELECT x FROM t" })).rows).toEqual([[1n]]);
        await writesAreRefused(r, "t");
        // Switching the guard off does not make a read-only file writable.
        await r.setReadOnly(false);
        await expectWriteRefused(r.execute({ sql: "INSERT INTO t VALUES (2)" }));
        await r.release();
        const again = await reader.acquire();
        expect(again.readOnly).toBe(true);
        await expectWriteRefused(again.execute({ sql: "INSERT INTO t VALUES (3)" }));
        await again.release();
      } finally {
        await reader.close();
      }
    });

    it("refuses to open a missing file read-only with OPEN_FAILED", async () => {
      await expect(ctx.driver.open({ path: ctx.file("missing"), mode: "readonly" })).rejects.toMatchObject({
        code: "OPEN_FAILED",
      });
    });

    it("switches the guard on a read-write connection: writes refused inside SQLite, reads fine", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      await c.execute({ sql: "CREATE TABLE t (x)" });
      await c.execute({ sql: "INSERT INTO t VALUES (1)" });
      // Prepared (and cached) while writable: must not be reused once read-only.
      await c.execute({ sql: "INSERT INTO t VALUES (2)" });
      expect(c.readOnly).toBe(false);
      await c.setReadOnly(true);
      expect(c.readOnly).toBe(true);
      expect((await c.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[2n]]);
      await expectWriteRefused(c.execute({ sql: "INSERT INTO t VALUES (2)" }));
      await writesAreRefused(c, "t");
      // A client cannot lift the guard with a pragma.
      await c.execute({ sql: "PRAGMA query_only = 0" }).catch(() => undefined);
      await expectWriteRefused(c.execute({ sql: "INSERT INTO t VALUES (3)" }));
      await c.setReadOnly(false);
      expect(c.readOnly).toBe(false);
      await c.execute({ sql: "INSERT INTO t VALUES (3)" });
      expect((await c.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[3n]]);
      await c.release();
    });

    it("release() turns the guard off before the next user", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      const c = await pool.acquire();
      await c.execute({ sql: "CREATE TABLE t (x)" });
      await c.setReadOnly(true);
      await c.release();
      const next = await pool.acquire();
      expect(next.id).toBe(c.id);
      expect(next.readOnly).toBe(false);
      await next.execute({ sql: "INSERT INTO t VALUES (1)" });
      await next.release();
    });
  });
}
