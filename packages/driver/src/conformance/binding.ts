import { describe, expect, it } from "vitest";
import type { NamedArg, Value } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";

function named(values: Record<string, Value>): NamedArg[] {
  return Object.entries(values).map(([name, value]) => ({ name, value }));
}

export function bindingTests(ctx: ConformanceContext): void {
  describe("binding", () => {
    const run = (sql: string, args?: Value[], namedArgs?: NamedArg[]) => ctx.main.execute({ sql, args, namedArgs });

    it("binds positional arguments in order", async () => {
      expect((await run("SELECT ?, ?, ?", [1n, "two", 3.5])).rows).toEqual([[1n, "two", 3.5]]);
    });

    it("binds ?NNN with gaps by position", async () => {
      expect((await run("SELECT ?3, ?1", [10n, 20n, 30n])).rows).toEqual([[30n, 10n]]);
      expect((await run("SELECT ?2, ?2, ?1", ["a", "b"])).rows).toEqual([["b", "b", "a"]]);
    });

    it("rejects too few values for ?NNN with ARGS_INVALID", async () => {
      await expect(run("SELECT ?3, ?1", [10n, 20n])).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it.each([":", "@", "$"])("binds %sname parameters by their exact prefixed name", async (prefix) => {
      const result = await run(`SELECT ${prefix}x, ${prefix}y`, undefined, named({ [`${prefix}x`]: 1n, [`${prefix}y`]: "y" }));
      expect(result.rows).toEqual([[1n, "y"]]);
    });

    it.each([":", "@", "$"])("binds %sname parameters from a name without prefix", async (prefix) => {
      const result = await run(`SELECT ${prefix}x, ${prefix}y`, undefined, named({ x: 1n, y: "y" }));
      expect(result.rows).toEqual([[1n, "y"]]);
    });

    it("binds a parameter used several times once", async () => {
      expect((await run("SELECT :a, :a || 'x', :a", undefined, named({ a: "v" }))).rows).toEqual([["v", "vx", "v"]]);
    });

    it("binds different prefixes of one name from one unprefixed argument", async () => {
      expect((await run("SELECT :a, @a, $a", undefined, named({ a: 5n }))).rows).toEqual([[5n, 5n, 5n]]);
    });

    it("does not match a prefixed name against another prefix", async () => {
      await expect(run("SELECT $a", undefined, named({ ":a": 1n }))).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("binds ?NNN through SQLite's numbering of named parameters", async () => {
      // :b is index 1 and :a index 2; ?1 is the same parameter as :b.
      expect((await run("SELECT :b, :a, ?1", undefined, named({ a: 1n, b: 2n }))).rows).toEqual([[2n, 1n, 2n]]);
    });

    it("binds named parameters from positional arguments by index", async () => {
      expect((await run("SELECT :a, :b", [1n, 2n])).rows).toEqual([[1n, 2n]]);
    });

    it("mixes positional and named arguments on different indexes", async () => {
      expect((await run("SELECT ?1, :a", ["pos"], named({ a: "named" }))).rows).toEqual([["pos", "named"]]);
    });

    it("rejects a positional and a named value for one parameter", async () => {
      await expect(run("SELECT :a", [1n], named({ a: 2n }))).rejects.toMatchObject({
        code: "ARGS_BOTH_POSITIONAL_AND_NAMED",
      });
    });

    it("rejects too few positional arguments with ARGS_INVALID", async () => {
      await expect(run("SELECT ?, ?", [1n])).rejects.toMatchObject({ code: "ARGS_INVALID" });
      await expect(run("SELECT ?")).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("rejects more positional arguments than parameters with ARGS_INVALID", async () => {
      await expect(run("SELECT ?", [1n, 2n])).rejects.toMatchObject({ code: "ARGS_INVALID" });
      await expect(run("SELECT 1", [1n])).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("rejects a named argument that matches no parameter with ARGS_INVALID", async () => {
      await expect(run("SELECT :a", undefined, named({ a: 1n, b: 2n }))).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("rejects a missing named value with ARGS_INVALID", async () => {
      await expect(run("SELECT :a, :b", undefined, named({ a: 1n }))).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("rejects a named argument given twice with ARGS_INVALID", async () => {
      await expect(
        run("SELECT :a", undefined, [
          { name: "a", value: 1n },
          { name: "a", value: 2n },
        ]),
      ).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("binds numbers as REAL and bigints as INTEGER", async () => {
      expect((await run("SELECT typeof(?), typeof(?)", [3, 3n])).rows).toEqual([["real", "integer"]]);
    });

    it("allows missing values in EXPLAIN", async () => {
      const result = await run("EXPLAIN SELECT ?, :a");
      expect(result.rows.length).toBeGreaterThan(0);
    });

    it("leaves the connection and its transaction untouched after an argument error", async () => {
      const t = tableName();
      await run(`CREATE TABLE ${t} (x)`);
      await run("BEGIN");
      await run(`INSERT INTO ${t} VALUES (1)`);
      await expect(run(`INSERT INTO ${t} VALUES (?)`, [])).rejects.toMatchObject({ code: "ARGS_INVALID" });
      expect(ctx.main.autocommit).toBe(false);
      await run("COMMIT");
      expect((await run(`SELECT count(*) FROM ${t}`)).rows).toEqual([[1n]]);
    });
  });
}
