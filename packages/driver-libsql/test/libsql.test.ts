import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connection, Pool } from "@hranad/driver";
import { libsqlDriver } from "../src/index.js";

// The libsql-specific workarounds, each checked where libsql alone would misbehave.
describe("libsql workarounds", () => {
  let dir: string;
  let pool: Pool;
  let c: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hranad-libsql-"));
    pool = await libsqlDriver.open({ path: join(dir, "a.db"), mode: "create", statementTimeoutMs: 1000 });
    c = await pool.acquire();
  });
  afterAll(async () => {
    await c.release();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses text with NUL in named arguments too, and the connection goes on", async () => {
    await expect(c.execute({ sql: "SELECT :a", namedArgs: [{ name: "a", value: "x\u0000y" }] })).rejects.toMatchObject({
      code: "ARGS_INVALID",
    });
    expect((await c.execute({ sql: "SELECT 'ok'" })).rows).toEqual([["ok"]]);
  });

  it("keeps working after many EXPLAINs, early-closed cursors and an interrupt", async () => {
    await c.execute({ sql: "CREATE TABLE t (x)" });
    await c.executeScript(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) INSERT INTO t SELECT i FROM c;",
    );
    for (let i = 0; i < 5; i += 1) {
      await c.execute({ sql: "EXPLAIN INSERT INTO t VALUES (?)", args: [BigInt(i)] });
      const cursor = await c.openCursor({ sql: "SELECT x FROM t" });
      await cursor.next(10);
      await cursor.close();
    }
    await expect(
      c.execute({ sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c" }),
    ).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
    await c.execute({ sql: "BEGIN" });
    await c.execute({ sql: "INSERT INTO t VALUES (0)" });
    await c.execute({ sql: "COMMIT" });
    expect((await c.execute({ sql: "SELECT count(*) FROM t" })).rows).toEqual([[3001n]]);
  });

  it("reports changes of UPDATE … RETURNING (libsql says 0)", async () => {
    await c.execute({ sql: "CREATE TABLE u (x)" });
    await c.execute({ sql: "INSERT INTO u VALUES (1), (2)" });
    const result = await c.execute({ sql: "UPDATE u SET x = x + 1 RETURNING x" });
    expect(result.affectedRowCount).toBe(2);
  });
});
