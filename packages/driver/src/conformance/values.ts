import { describe, expect, it } from "vitest";
import type { Value } from "../types.js";
import { tableName, type ConformanceContext } from "./context.js";

async function roundTrip(ctx: ConformanceContext, value: Value): Promise<readonly Value[]> {
  const result = await ctx.main.execute({ sql: "SELECT ?1, typeof(?1)", args: [value] });
  expect(result.rows).toHaveLength(1);
  return result.rows[0] as readonly Value[];
}

export function valueTests(ctx: ConformanceContext): void {
  describe("values", () => {
    it("round-trips null", async () => {
      expect(await roundTrip(ctx, null)).toEqual([null, "null"]);
    });

    it.each([0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)])("round-trips the integer %s as a bigint", async (value) => {
      const [back, type] = await roundTrip(ctx, value);
      expect(type).toBe("integer");
      expect(typeof back).toBe("bigint");
      expect(back).toBe(value);
    });

    it("returns integer results as bigint", async () => {
      expect(await ctx.rows("SELECT 42, -9223372036854775808, 9223372036854775807")).toEqual([
        [42n, -(2n ** 63n), 2n ** 63n - 1n],
      ]);
    });

    it.each([1.5, -2.25, 1e308, -1e308, 5e-324, Infinity, -Infinity])("round-trips the float %s", async (value) => {
      expect(await roundTrip(ctx, value)).toEqual([value, "real"]);
    });

    it("keeps the sign of -0", async () => {
      const [back, type] = await roundTrip(ctx, -0);
      expect(type).toBe("real");
      expect(Object.is(back, -0)).toBe(true);
    });

    it("binds an integral number as REAL (Hrana float), not as an integer", async () => {
      const [back, type] = await roundTrip(ctx, 1);
      expect(type).toBe("real");
      expect(back).toBe(1);
      expect(typeof back).toBe("number");
    });

    it.each(["", "hello", "日本語のテキスト", "emoji 😀👍🏽 and 𝄞", "x".repeat(100_000)])("round-trips text %#", async (value) => {
      expect(await roundTrip(ctx, value)).toEqual([value, "text"]);
    });

    it("handles text containing NUL as the driver declares", async () => {
      const value = "a\u0000b";
      if (ctx.options.textWithNul === "rejected") {
        await expect(ctx.main.execute({ sql: "SELECT ?", args: [value] })).rejects.toMatchObject({ code: "ARGS_INVALID" });
        expect(await ctx.rows("SELECT 1")).toEqual([[1n]]);
      } else {
        expect(await roundTrip(ctx, value)).toEqual([value, "text"]);
      }
    });

    it("round-trips an empty blob", async () => {
      const [back, type] = await roundTrip(ctx, new Uint8Array(0));
      expect(type).toBe("blob");
      expect(back).toBeInstanceOf(Uint8Array);
      expect((back as Uint8Array).byteLength).toBe(0);
    });

    it("round-trips a 1 MiB blob byte for byte", async () => {
      const blob = new Uint8Array(1024 * 1024);
      for (let i = 0; i < blob.length; i += 1) blob[i] = (i * 7919 + (i >> 8)) & 0xff;
      const [back, type] = await roundTrip(ctx, blob);
      expect(type).toBe("blob");
      expect(back).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(Buffer.from(back as Uint8Array), Buffer.from(blob))).toBe(0);
    });

    it("binds only the viewed bytes of a blob that is a slice of a larger buffer", async () => {
      const whole = Uint8Array.from([9, 9, 1, 2, 3, 9, 9]);
      const [back] = await roundTrip(ctx, whole.subarray(2, 5));
      expect(Array.from(back as Uint8Array)).toEqual([1, 2, 3]);
      const [fromBuffer] = await roundTrip(ctx, Buffer.from([4, 5]));
      expect(Array.from(fromBuffer as Uint8Array)).toEqual([4, 5]);
    });

    it("stores and reads every type through a table with declared types", async () => {
      const t = tableName();
      await ctx.main.execute({ sql: `CREATE TABLE ${t} (i INTEGER, r REAL, s TEXT, b BLOB, n ANY)` });
      await ctx.main.execute({
        sql: `INSERT INTO ${t} VALUES (?, ?, ?, ?, ?)`,
        args: [7n, 2.5, "text", new Uint8Array([1, 2]), null],
      });
      const result = await ctx.main.execute({ sql: `SELECT i, r, s, b, n FROM ${t}` });
      expect(result.columns).toEqual([
        { name: "i", decltype: "INTEGER" },
        { name: "r", decltype: "REAL" },
        { name: "s", decltype: "TEXT" },
        { name: "b", decltype: "BLOB" },
        { name: "n", decltype: "ANY" },
      ]);
      const row = result.rows[0] as readonly Value[];
      expect(row.slice(0, 3)).toEqual([7n, 2.5, "text"]);
      expect(Array.from(row[3] as Uint8Array)).toEqual([1, 2]);
      expect(row[4]).toBeNull();
    });

    it.each([
      ["a boolean", true],
      ["an object", { a: 1 }],
      ["undefined", undefined],
      ["an array", [1]],
      ["a function", () => 1],
      ["a symbol", Symbol("s")],
      ["an Int16Array", new Int16Array(2)],
      ["a Date", new Date(0)],
      ["a bigint above 2^63-1", 2n ** 63n],
      ["a bigint below -2^63", -(2n ** 63n) - 1n],
    ])("rejects %s with ARGS_INVALID before it reaches the driver", async (_what, value) => {
      const statement = { sql: "SELECT ?", args: [value as unknown as Value] };
      await expect(ctx.main.execute(statement)).rejects.toMatchObject({ name: "DriverError", code: "ARGS_INVALID" });
      await expect(
        ctx.main.execute({ sql: "SELECT :a", namedArgs: [{ name: "a", value: value as unknown as Value }] }),
      ).rejects.toMatchObject({ code: "ARGS_INVALID" });
      // The process and the connection survived.
      expect(await ctx.rows("SELECT 1")).toEqual([[1n]]);
    });
  });
}
