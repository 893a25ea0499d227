import { describe, expect, it } from "vitest";
import { checkStatement, resolveArguments, type Value } from "../src/index.js";

describe("resolveArguments", () => {
  it("maps positional arguments to indexes, whatever the parameter names", () => {
    expect(resolveArguments([null, ":a", "?3"], { sql: "", args: [1n, 2n, 3n] }, false)).toEqual([1n, 2n, 3n]);
  });

  it("prefers an exact prefixed name over the bare name", () => {
    const namedArgs = [
      { name: "a", value: 1n },
      { name: "$a", value: 2n },
    ];
    expect(resolveArguments([":a", "$a"], { sql: "", namedArgs }, false)).toEqual([1n, 2n]);
  });

  it("never binds ?NNN parameters by name", () => {
    expect(() => resolveArguments(["?1"], { sql: "", namedArgs: [{ name: "1", value: 1n }] }, false)).toThrow(
      expect.objectContaining({ code: "ARGS_INVALID" }),
    );
  });

  it("fills missing values with NULL for EXPLAIN only", () => {
    expect(resolveArguments([null, ":a"], { sql: "" }, true)).toEqual([null, null]);
    expect(() => resolveArguments([null, ":a"], { sql: "" }, false)).toThrow(expect.objectContaining({ code: "ARGS_INVALID" }));
  });

  it("names the missing parameter and the counts in its message", () => {
    expect(() => resolveArguments([":a", ":b"], { sql: "", namedArgs: [{ name: "a", value: 1n }] }, false)).toThrow(/:b/);
    expect(() => resolveArguments([null, null], { sql: "", args: [1n] }, false)).toThrow(/required 2 argument\(s\) but 1 were provided/);
  });
});

describe("checkStatement", () => {
  it("copies a blob that views part of a larger buffer", () => {
    const whole = new Uint8Array(1024);
    const part = whole.subarray(10, 20);
    const checked = checkStatement({ sql: "SELECT ?", args: [part] });
    const arg = checked.args?.[0] as Uint8Array;
    expect(arg.byteLength).toBe(10);
    expect(arg.buffer.byteLength).toBe(10);
  });

  it("rejects malformed statements", () => {
    expect(() => checkStatement({ sql: 1 as unknown as string })).toThrow(expect.objectContaining({ code: "ARGS_INVALID" }));
    expect(() => checkStatement({ sql: "", args: "x" as unknown as Value[] })).toThrow(expect.objectContaining({ code: "ARGS_INVALID" }));
    expect(() => checkStatement({ sql: "", wantRows: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: "ARGS_INVALID" }));
    expect(() => checkStatement({ sql: "", namedArgs: [{ value: 1n } as never] })).toThrow(expect.objectContaining({ code: "ARGS_INVALID" }));
  });
});
