import { describe as group, expect, it } from "vitest";
import { claimGuardToken, describe, parseDescription, setReadOnly, type GuardDescription } from "../src/index.js";
import { DRIVERS, errorOf, open, tempDir } from "./helpers.js";

function described(overrides: Partial<GuardDescription>): GuardDescription {
  return { params: [], columns: [], readonly: true, explain: 0, tail: false, empty: false, ...overrides };
}

group.each(DRIVERS)("hranad_describe through %s", (driver) => {
  function connection() {
    const dir = tempDir();
    const db = open(driver, `${dir}/t.db`);
    db.exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c, d VARCHAR(10))");
    return db;
  }

  it("returns the exact JSON of the contract", () => {
    const db = connection();
    expect(db.query("SELECT hranad_describe(?)", "SELECT a, :x + 1 FROM t")).toBe(
      '{"params":[":x"],"columns":[{"name":"a","decltype":"INTEGER"},{"name":":x + 1","decltype":null}],' +
        '"readonly":true,"explain":0,"tail":false}',
    );
    expect(db.query("SELECT hranad_describe(?)", "  -- nothing\n")).toBe(
      '{"params":[],"columns":[],"readonly":true,"explain":0,"tail":false,"empty":true}',
    );
  });

  it("names every parameter index, null for a plain ?", () => {
    const db = connection();
    expect(describe(db.query, "SELECT ?, :a, @b, $c, ?5").params).toEqual([null, ":a", "@b", "$c", "?5"]);
    expect(describe(db.query, "SELECT ?3").params).toEqual([null, null, "?3"]);
    expect(describe(db.query, "SELECT 1").params).toEqual([]);
  });

  it("numbers parameters as SQLite does: ?1 reuses the index of :b", () => {
    const db = connection();
    expect(describe(db.query, "SELECT :b, :a, ?1").params).toEqual([":b", ":a"]);
    expect(describe(db.query, "SELECT :a, :a, ?").params).toEqual([":a", null]);
  });

  it("reports columns with their declared types, null for expressions", () => {
    const db = connection();
    expect(describe(db.query, "SELECT a, b, c, d, a + 1 AS e, 1, t.b AS renamed FROM t").columns).toEqual([
      { name: "a", decltype: "INTEGER" },
      { name: "b", decltype: "TEXT" },
      { name: "c", decltype: null },
      { name: "d", decltype: "VARCHAR(10)" },
      { name: "e", decltype: null },
      { name: "1", decltype: null },
      { name: "renamed", decltype: "TEXT" },
    ]);
    expect(describe(db.query, "INSERT INTO t(b) VALUES (?)").columns).toEqual([]);
    expect(describe(db.query, "INSERT INTO t(b) VALUES (?) RETURNING a").columns).toEqual([
      { name: "a", decltype: "INTEGER" },
    ]);
  });

  it("reports readonly as sqlite3_stmt_readonly", () => {
    const db = connection();
    expect(describe(db.query, "SELECT * FROM t").readonly).toBe(true);
    expect(describe(db.query, "BEGIN").readonly).toBe(true);
    expect(describe(db.query, "INSERT INTO t(b) VALUES ('x')").readonly).toBe(false);
    expect(describe(db.query, "UPDATE t SET b = 1").readonly).toBe(false);
    expect(describe(db.query, "CREATE TABLE u(a)").readonly).toBe(false);
  });

  it("reports EXPLAIN as 1 and EXPLAIN QUERY PLAN as 2", () => {
    const db = connection();
    expect(describe(db.query, "SELECT 1").explain).toBe(0);
    expect(describe(db.query, "EXPLAIN SELECT * FROM t").explain).toBe(1);
    expect(describe(db.query, "EXPLAIN QUERY PLAN SELECT * FROM t WHERE a = ?")).toEqual(
      described({
        params: [null],
        explain: 2,
        columns: [
          { name: "id", decltype: null },
          { name: "parent", decltype: null },
          { name: "notused", decltype: null },
          { name: "detail", decltype: null },
        ],
      }),
    );
  });

  it("tells whether another statement follows", () => {
    const db = connection();
    expect(describe(db.query, "SELECT 1; SELECT 2").tail).toBe(true);
    expect(describe(db.query, "SELECT 1;  -- c\n ;").tail).toBe(false);
    expect(describe(db.query, "SELECT 1; /* c */ ;; \n\t").tail).toBe(false);
    expect(describe(db.query, "SELECT 1").tail).toBe(false);
    expect(describe(db.query, "SELECT 1; garbage").tail).toBe(true);
    expect(describe(db.query, "SELECT 1; /* unterminated").tail).toBe(false);
    // Only the first statement is described.
    expect(describe(db.query, "SELECT a FROM t; SELECT b, c FROM t").columns).toEqual([
      { name: "a", decltype: "INTEGER" },
    ]);
  });

  it("reports SQL without a statement as empty", () => {
    const db = connection();
    for (const sql of ["", "   ", "-- only a comment", "/* c */", ";", " ; ;; -- c\n"]) {
      expect(describe(db.query, sql)).toEqual(described({ empty: true }));
    }
    // Empty statements before the first real one are skipped.
    expect(describe(db.query, "; ;SELECT 5 AS five")).toEqual(
      described({ columns: [{ name: "five", decltype: null }] }),
    );
  });

  it("raises SQLite's own error when the statement cannot be prepared", () => {
    const db = connection();
    expect(errorOf(() => describe(db.query, "SELECT * FROM nope"))).toEqual({
      code: "SQLITE_ERROR",
      message: "no such table: nope",
    });
    expect(errorOf(() => describe(db.query, "SELEC 1"))).toEqual({
      code: "SQLITE_ERROR",
      message: 'near "SELEC": syntax error',
    });
    expect(errorOf(() => describe(db.query, "SELECT nope FROM t"))).toEqual({
      code: "SQLITE_ERROR",
      message: "no such column: nope",
    });
    expect(errorOf(() => db.query("SELECT hranad_describe(NULL)")).code).toBe("SQLITE_MISUSE");
  });

  it("escapes names for JSON and lets UTF-8 through", () => {
    const db = connection();
    const names = ['a"b', "back\\slash", "tab\tand\nnewline", "bell\u0007", "ünïcødé €𝄞", "'quoted'"];
    const sql = `SELECT ${names.map((name, i) => `${i} AS "${name.replaceAll('"', '""')}"`).join(", ")}`;
    const json = db.query("SELECT hranad_describe(?)", sql) as string;
    expect(json).toContain('"a\\"b"');
    expect(json).toContain('"back\\\\slash"');
    expect(json).toContain('"tab\\tand\\nnewline"');
    expect(json).toContain('"bell\\u0007"');
    expect(parseDescription(json).columns.map((column) => column.name)).toEqual(names);
    db.exec('CREATE TABLE "we""ird"("col""1" "TYPE""Q", ":p" INT)');
    expect(describe(db.query, 'SELECT * FROM "we""ird" WHERE ":p" = :p').columns).toEqual([
      { name: 'col"1', decltype: 'TYPE"Q' },
      { name: ":p", decltype: "INT" },
    ]);
  });

  it("prepares without running", () => {
    const db = connection();
    describe(db.query, "INSERT INTO t(b) VALUES ('x')");
    describe(db.query, "CREATE TABLE u(a)");
    describe(db.query, "DELETE FROM t");
    expect(db.query("SELECT count(*) FROM t")).toBe(0);
    expect(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'u'")).toBe(0);
  });

  it("works under the read-only guard for reads, and refuses to prepare writes", () => {
    const db = connection();
    setReadOnly(db.query, claimGuardToken(db.query), true);
    expect(describe(db.query, "SELECT b FROM t").columns).toEqual([{ name: "b", decltype: "TEXT" }]);
    expect(errorOf(() => describe(db.query, "INSERT INTO t(b) VALUES (1)"))).toEqual({
      code: "SQLITE_AUTH",
      message: "not authorized",
    });
    expect(errorOf(() => describe(db.query, "PRAGMA query_only = 0")).code).toBe("SQLITE_AUTH");
    expect(db.query("PRAGMA query_only")).toBe(1);
  });
});

group("parseDescription", () => {
  it("rejects malformed JSON shapes", () => {
    for (const json of [
      "[]",
      '{"params":[1],"columns":[],"readonly":true,"explain":0,"tail":false}',
      '{"params":[],"columns":[{"name":1,"decltype":null}],"readonly":true,"explain":0,"tail":false}',
      '{"params":[],"columns":[],"readonly":"yes","explain":0,"tail":false}',
      '{"params":[],"columns":[],"readonly":true,"explain":3,"tail":false}',
      '{"params":[],"columns":[],"readonly":true,"explain":0}',
    ]) {
      expect(() => parseDescription(json)).toThrow(/malformed/);
    }
  });
});
