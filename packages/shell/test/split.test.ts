import { describe, expect, it } from "vitest";
import { StatementSplitter, splitScript } from "../src/split.js";

describe("the statement splitter", () => {
  it("ends statements at ; outside strings, identifiers and comments, with the line each starts on", () => {
    const pieces = splitScript(
      [
        "-- a comment; not a statement",
        "CREATE TABLE \"a;b\" (x TEXT DEFAULT 'it''s; fine', [y;z]);",
        "/* block ; */ INSERT INTO `a;b` VALUES ('x', 1); SELECT",
        "  2;",
        ";;",
        "SELECT 3",
      ].join("\n"),
    );
    expect(pieces).toEqual([
      { sql: "CREATE TABLE \"a;b\" (x TEXT DEFAULT 'it''s; fine', [y;z])", line: 2 },
      { sql: "INSERT INTO `a;b` VALUES ('x', 1)", line: 3 },
      { sql: "SELECT\n  2", line: 3 },
      { sql: "SELECT 3", line: 6 },
    ]);
  });

  it("keeps a trigger's body whole: only the ; after END ends it", () => {
    const pieces = splitScript(
      "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  DELETE FROM b;\nEND;\nSELECT 1;",
    );
    expect(pieces.map((p) => ("sql" in p ? p.line : -1))).toEqual([1, 5]);
    expect(pieces[0]).toMatchObject({ sql: expect.stringMatching(/^CREATE TEMP TRIGGER[\s\S]*DELETE FROM b;\nEND$/) });
  });

  it("reads a dot-command only where a statement could start", () => {
    const splitter = new StatementSplitter();
    expect(splitter.push(".tables")).toEqual([{ dot: ".tables", line: 1 }]);
    expect(splitter.push("SELECT")).toEqual([]);
    expect(splitter.pending).toBe(true);
    expect(splitter.push(".5;")).toEqual([{ sql: "SELECT\n.5", line: 2 }]);
    expect(splitter.push("SELECT 'unterminated")).toEqual([]);
    splitter.reset();
    expect(splitter.pending).toBe(false);
    expect(splitter.push("  .schema t")).toEqual([{ dot: ".schema t", line: 5 }]);
  });
});
