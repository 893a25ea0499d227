import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connection, Pool } from "@hranad/driver";
import { betterSqlite3Driver } from "../src/index.js";

// better-sqlite3 binds named parameters from one object keyed without the prefix: the edge cases of that mapping.
describe("better-sqlite3 named binding", () => {
  let dir: string;
  let pool: Pool;
  let c: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hranad-bs3-"));
    pool = await betterSqlite3Driver.open({ path: join(dir, "a.db"), mode: "create" });
    c = await pool.acquire();
  });
  afterAll(async () => {
    await c.release();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("binds :a and $a to one value from a bare name", async () => {
    expect((await c.execute({ sql: "SELECT :a, $a", namedArgs: [{ name: "a", value: 1n }] })).rows).toEqual([[1n, 1n]]);
  });

  it("refuses different values for :a and $a instead of binding one of them wrongly", async () => {
    const namedArgs = [
      { name: ":a", value: 1n },
      { name: "$a", value: 2n },
    ];
    await expect(c.execute({ sql: "SELECT :a, $a", namedArgs })).rejects.toMatchObject({ code: "ARGS_INVALID" });
  });

  it("binds anonymous, numbered and named parameters together", async () => {
    const result = await c.execute({ sql: "SELECT ?, :n, ?5", args: [1n, 2n, 3n, 4n, 5n] });
    expect(result.rows).toEqual([[1n, 2n, 5n]]);
  });

  it("binds names that are JavaScript object keys of Object.prototype", async () => {
    const result = await c.execute({
      sql: "SELECT :constructor, :toString, :__proto__",
      namedArgs: [
        { name: "constructor", value: "c" },
        { name: "toString", value: "t" },
        { name: "__proto__", value: "p" },
      ],
    });
    expect(result.rows).toEqual([["c", "t", "p"]]);
  });
});
