import { existsSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimGuardToken, setAttachAllowed, setReadOnly } from "../src/index.js";
import {
  DRIVERS,
  errorOf,
  makeTempDir,
  open,
  openConnection,
  tempDir,
  type DriverName,
  type TestConnection,
} from "./helpers.js";

const NOT_AUTHORIZED = { code: "SQLITE_AUTH", message: "not authorized" };
/** VACUUM is refused when it runs (its internal ATTACH), with SQLite's generic message. */
const DENIED_AT_RUN = { code: "SQLITE_AUTH", message: "authorization denied" };

/** A database with one of everything, prepared while the guard is off; returns the connection with the guard on. */
function guardedDatabase(driver: DriverName): { db: TestConnection; token: string; dir: string } {
  return setUp(open, driver, tempDir());
}

function setUp(
  opener: typeof open,
  driver: DriverName,
  dir: string,
): { db: TestConnection; token: string; dir: string } {
  const db = opener(driver, `${dir}/main.db`);
  const token = claimGuardToken(db.query);
  db.exec(`
    PRAGMA journal_mode = wal;
    CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE);
    INSERT INTO t VALUES (1, 'one'), (2, 'two');
    CREATE INDEX t_b ON t(b);
    CREATE VIEW v AS SELECT a, b FROM t;
    CREATE TABLE audit(n);
    CREATE TRIGGER t_audit AFTER DELETE ON t BEGIN INSERT INTO audit VALUES (old.a); END;
    ATTACH '${dir}/other.db' AS other;
    CREATE TABLE other.o(a);
    CREATE TEMP TABLE scratch(a);
    INSERT INTO scratch VALUES (7);
  `);
  expect(setReadOnly(db.query, token, true)).toBe(true);
  return { db, token, dir };
}

/** What a user would check: nothing was written, whatever was tried. */
function snapshot(db: TestConnection): unknown[] {
  return [
    db.all("SELECT type, name, sql FROM sqlite_schema ORDER BY name"),
    db.all("SELECT type, name FROM temp.sqlite_schema ORDER BY name"),
    db.all("SELECT * FROM t ORDER BY a"),
    db.all("SELECT * FROM audit"),
    db.all("SELECT * FROM scratch"),
    db.all("SELECT * FROM other.o"),
    db.all("SELECT name FROM pragma_database_list ORDER BY name"),
    db.query("PRAGMA user_version"),
    db.query("PRAGMA journal_mode"),
    db.query("PRAGMA foreign_keys"),
    db.query("PRAGMA query_only"),
  ];
}

// Every write path, and the error SQLite reports for it with the guard on.
const REFUSED: readonly [string, string, { code: string; message: string | RegExp }?][] = [
  ["INSERT", "INSERT INTO t(b) VALUES ('three')"],
  ["INSERT … RETURNING", "INSERT INTO t(b) VALUES ('three') RETURNING a"],
  ["UPDATE", "UPDATE t SET b = 'uno' WHERE a = 1"],
  ["DELETE", "DELETE FROM t"],
  ["REPLACE", "REPLACE INTO t VALUES (1, 'uno')"],
  ["UPSERT", "INSERT INTO t VALUES (1, 'uno') ON CONFLICT(a) DO UPDATE SET b = excluded.b"],
  ["INSERT … SELECT", "INSERT INTO t(b) SELECT b || '!' FROM t"],
  ["a write through a CTE", "WITH x(b) AS (SELECT 'cte') INSERT INTO t(b) SELECT b FROM x"],
  ["a DELETE that would fire a trigger", "DELETE FROM t WHERE a = 1"],
  ["a write to a temp table", "INSERT INTO scratch VALUES (8)"],
  ["a write to an attached database", "INSERT INTO other.o VALUES (1)"],
  ["CREATE TABLE", "CREATE TABLE u(a)"],
  ["CREATE TABLE IF NOT EXISTS (existing)", "CREATE TABLE IF NOT EXISTS t(a)"],
  ["CREATE TABLE AS SELECT", "CREATE TABLE u AS SELECT * FROM t"],
  ["CREATE INDEX", "CREATE INDEX t_a ON t(a)"],
  ["CREATE VIEW", "CREATE VIEW w AS SELECT 1"],
  ["CREATE TRIGGER", "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"],
  ["CREATE TEMP TABLE", "CREATE TEMP TABLE tt(a)"],
  ["CREATE TEMP VIEW", "CREATE TEMP VIEW tv AS SELECT 1"],
  ["CREATE TEMP TRIGGER", "CREATE TEMP TRIGGER ttr AFTER INSERT ON t BEGIN SELECT 1; END"],
  ["CREATE VIRTUAL TABLE", "CREATE VIRTUAL TABLE f USING fts5(x)"],
  ["DROP TABLE", "DROP TABLE t"],
  ["DROP TABLE (temp)", "DROP TABLE scratch"],
  ["DROP INDEX", "DROP INDEX t_b"],
  ["DROP VIEW", "DROP VIEW v"],
  ["DROP TRIGGER", "DROP TRIGGER t_audit"],
  ["ALTER TABLE ADD COLUMN", "ALTER TABLE t ADD COLUMN c"],
  ["ALTER TABLE RENAME", "ALTER TABLE t RENAME TO t2"],
  ["ATTACH", "ATTACH 'elsewhere.db' AS elsewhere"],
  ["ATTACH ':memory:'", "ATTACH ':memory:' AS mem"],
  ["ATTACH of an expression", "ATTACH 'else' || 'where.db' AS elsewhere"],
  ["DETACH", "DETACH other"],
  // Refused when it runs, not when it is prepared: VACUUM ATTACHes a temporary database internally.
  ["VACUUM", "VACUUM", DENIED_AT_RUN],
  ["REINDEX", "REINDEX"],
  ["ANALYZE", "ANALYZE"],
  ["PRAGMA query_only=0", "PRAGMA query_only = 0"],
  ["PRAGMA query_only=OFF", "PRAGMA query_only = OFF"],
  ["PRAGMA user_version=5", "PRAGMA user_version = 5"],
  ["PRAGMA main.user_version=5", "PRAGMA main.user_version = 5"],
  ["PRAGMA journal_mode=delete", "PRAGMA journal_mode = delete"],
  ["PRAGMA foreign_keys=off", "PRAGMA foreign_keys = off"],
  ["PRAGMA wal_checkpoint", "PRAGMA wal_checkpoint"],
  ["PRAGMA optimize", "PRAGMA optimize"],
  ["PRAGMA incremental_vacuum", "PRAGMA incremental_vacuum"],
  ["PRAGMA writable_schema=1", "PRAGMA writable_schema = 1"],
  ["PRAGMA busy_timeout=1", "PRAGMA busy_timeout = 1"],
  ["an unknown PRAGMA", "PRAGMA no_such_pragma"],
  ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE", { code: "SQLITE_READONLY", message: "attempt to write a readonly database" }],
  ["BEGIN EXCLUSIVE", "BEGIN EXCLUSIVE", { code: "SQLITE_READONLY", message: "attempt to write a readonly database" }],
  [
    "load_extension()",
    "SELECT load_extension('x')",
    { code: "SQLITE_ERROR", message: "not authorized to use function: load_extension" },
  ],
];

const ALLOWED: readonly [string, string][] = [
  ["SELECT", "SELECT a, b FROM t ORDER BY a"],
  ["SELECT count(*)", "SELECT count(*) FROM t"],
  ["a view", "SELECT * FROM v"],
  ["a temp table", "SELECT * FROM scratch"],
  ["an attached database", "SELECT count(*) FROM other.o"],
  ["the schema", "SELECT name FROM sqlite_schema"],
  ["functions", "SELECT abs(-1), json_extract('{\"a\":[1,2]}', '$.a[1]'), random() IS NOT NULL, upper(b) FROM t"],
  ["a recursive CTE", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10) SELECT sum(x) FROM c"],
  ["EXPLAIN", "EXPLAIN SELECT * FROM t"],
  ["EXPLAIN QUERY PLAN", "EXPLAIN QUERY PLAN SELECT * FROM t WHERE b = 'one'"],
  ["PRAGMA table_info(t)", "PRAGMA table_info(t)"],
  ["PRAGMA table_xinfo", "PRAGMA table_xinfo('t')"],
  ["PRAGMA index_list", "PRAGMA index_list(t)"],
  ["PRAGMA index_info", "PRAGMA index_info(t_b)"],
  ["PRAGMA foreign_key_list", "PRAGMA foreign_key_list(t)"],
  ["PRAGMA integrity_check", "PRAGMA integrity_check"],
  ["PRAGMA quick_check(1)", "PRAGMA quick_check(1)"],
  ["PRAGMA user_version (read)", "PRAGMA user_version"],
  ["PRAGMA main.schema_version (read)", "PRAGMA main.schema_version"],
  ["PRAGMA journal_mode (read)", "PRAGMA journal_mode"],
  ["PRAGMA foreign_keys (read)", "PRAGMA foreign_keys"],
  ["PRAGMA query_only (read)", "PRAGMA query_only"],
  ["PRAGMA database_list", "PRAGMA database_list"],
  ["PRAGMA compile_options", "PRAGMA compile_options"],
  ["PRAGMA data_version", "PRAGMA data_version"],
  ["a read PRAGMA through its table-valued function", "SELECT * FROM pragma_table_info('t')"],
  ["a setting PRAGMA read through its table-valued function", "SELECT * FROM pragma_user_version"],
];

describe.each(DRIVERS)("read-only guard through %s", (driver) => {
  // The table-driven tests share one guarded database per driver: each checks that nothing changed.
  let shared: { db: TestConnection; dir: string };
  beforeAll(() => {
    shared = setUp(openConnection, driver, makeTempDir());
  });
  afterAll(() => {
    shared.db.close();
    rmSync(shared.dir, { recursive: true, force: true });
  });

  it.each(REFUSED)("refuses %s", (_name, sql, expected = NOT_AUTHORIZED) => {
    const { db } = shared;
    const before = snapshot(db);
    const error = errorOf(() => db.exec(sql));
    expect(error.code).toBe(expected.code);
    expect(error.message).toMatch(expected.message);
    expect(snapshot(db)).toEqual(before);
    expect(db.inTransaction).toBe(false);
  });

  it.each(ALLOWED)("allows %s", (_name, sql) => {
    const { db } = shared;
    const before = snapshot(db);
    expect(errorOf(() => db.all(sql))).toEqual({ code: "NO_ERROR", message: "" });
    expect(snapshot(db)).toEqual(before);
  });

  it("reads the expected values with the guard on", () => {
    const { db } = guardedDatabase(driver);
    expect(db.all("SELECT a, b FROM t ORDER BY a")).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    expect(db.all("PRAGMA table_info(t)").map((row) => row[1])).toEqual(["a", "b"]);
    expect(db.query("PRAGMA query_only")).toBe(1);
    expect(db.query("SELECT json_extract('{\"a\":[1,2]}', '$.a[1]')")).toBe(2);
  });

  it("allows transactions and savepoints", () => {
    const { db } = guardedDatabase(driver);
    db.exec("BEGIN");
    expect(db.inTransaction).toBe(true);
    expect(db.query("SELECT count(*) FROM t")).toBe(2);
    db.exec("COMMIT");
    db.exec("BEGIN DEFERRED; SELECT 1; ROLLBACK");
    db.exec("SAVEPOINT s1; SELECT count(*) FROM t; RELEASE s1");
    db.exec("SAVEPOINT s2; SELECT 1; ROLLBACK TO s2; RELEASE s2");
    expect(db.inTransaction).toBe(false);
  });

  it("refuses VACUUM INTO and creates no file", () => {
    const { db, dir } = guardedDatabase(driver);
    expect(errorOf(() => db.exec(`VACUUM INTO '${dir}/copy.db'`))).toEqual(DENIED_AT_RUN);
    expect(existsSync(`${dir}/copy.db`)).toBe(false);
  });

  it("refuses a write inside a transaction without ending the transaction", () => {
    const { db } = guardedDatabase(driver);
    db.exec("BEGIN");
    expect(errorOf(() => db.run("INSERT INTO t(b) VALUES ('x')"))).toEqual(NOT_AUTHORIZED);
    expect(db.inTransaction).toBe(true);
    db.exec("ROLLBACK");
  });

  it("survives PRAGMA query_only=0 attempts", () => {
    const { db } = guardedDatabase(driver);
    for (const sql of ["PRAGMA query_only = 0", "PRAGMA query_only = false", "PRAGMA main.query_only = 0"]) {
      expect(errorOf(() => db.exec(sql)).code).toBe("SQLITE_AUTH");
    }
    expect(db.query("PRAGMA query_only")).toBe(1);
    expect(errorOf(() => db.run("INSERT INTO t(b) VALUES ('x')"))).toEqual(NOT_AUTHORIZED);
  });

  it("lets writes through again when switched off", () => {
    const { db, token } = guardedDatabase(driver);
    expect(errorOf(() => db.run("INSERT INTO t(b) VALUES ('three')")).code).toBe("SQLITE_AUTH");
    expect(setReadOnly(db.query, token, false)).toBe(false);
    expect(db.query("PRAGMA query_only")).toBe(0);
    db.run("INSERT INTO t(b) VALUES ('three')");
    db.exec("BEGIN IMMEDIATE; CREATE TABLE u(a); DROP TABLE u; COMMIT; PRAGMA user_version = 5");
    expect(db.query("SELECT count(*) FROM t")).toBe(3);
    expect(db.query("PRAGMA user_version")).toBe(5);
    // And on again.
    expect(setReadOnly(db.query, token, true)).toBe(true);
    expect(errorOf(() => db.run("DELETE FROM t")).code).toBe("SQLITE_AUTH");
  });

  it("re-authorizes a statement prepared before the switch when it runs after it", () => {
    const dir = tempDir();
    const db = open(driver, `${dir}/t.db`);
    const token = claimGuardToken(db.query);
    db.exec("CREATE TABLE t(a)");
    const insert = db.prepared("INSERT INTO t VALUES (1)");
    insert();
    setReadOnly(db.query, token, true);
    expect(errorOf(insert)).toEqual(NOT_AUTHORIZED);
    setReadOnly(db.query, token, false);
    insert();
    expect(db.query("SELECT count(*) FROM t")).toBe(2);
  });

  it("is per connection: another connection on the same file can write", () => {
    const { db, dir } = guardedDatabase(driver);
    const writer = open(driver, `${dir}/main.db`);
    claimGuardToken(writer.query);
    writer.run("INSERT INTO t(b) VALUES ('from the writer')");
    expect(db.query("SELECT count(*) FROM t")).toBe(3);
    expect(errorOf(() => db.run("INSERT INTO t(b) VALUES ('from the reader')")).code).toBe("SQLITE_AUTH");
  });

  it("refuses file-system functions and load_extension in every mode", () => {
    const dir = tempDir();
    const db = open(driver, `${dir}/t.db`);
    const token = claimGuardToken(db.query);
    for (const on of [false, true]) {
      setReadOnly(db.query, token, on);
      expect(errorOf(() => db.query("SELECT load_extension('x')")).message).toBe(
        "not authorized to use function: load_extension",
      );
      if (driver === "libsql") {
        // libsql 0.5 compiles in SQLite's fileio extension.
        expect(errorOf(() => db.query("SELECT readfile('/etc/hostname')")).message).toBe(
          "not authorized to use function: readfile",
        );
        expect(errorOf(() => db.query(`SELECT writefile('${dir}/x', 'data')`)).message).toBe(
          "not authorized to use function: writefile",
        );
        expect(errorOf(() => db.query("SELECT count(*) FROM fsdir('/')")).code).toBe("SQLITE_AUTH");
        expect(errorOf(() => db.query("SELECT name FROM fsdir('/')")).code).toBe("SQLITE_AUTH");
        expect(existsSync(`${dir}/x`)).toBe(false);
      }
    }
  });

  it("refuses ATTACH of a file with the guard off after hranad_guard_attach(token, 0)", () => {
    const dir = tempDir();
    const db = open(driver, `${dir}/t.db`);
    const token = claimGuardToken(db.query);
    db.exec(`ATTACH '${dir}/a.db' AS a; DETACH a`); // allowed by default, as the contract says
    expect(setAttachAllowed(db.query, token, false)).toBe(false);
    expect(errorOf(() => db.exec(`ATTACH '${dir}/b.db' AS b`))).toEqual(NOT_AUTHORIZED);
    expect(errorOf(() => db.exec(`ATTACH "${dir}/b.db" AS b`))).toEqual(NOT_AUTHORIZED);
    expect(errorOf(() => db.exec(`ATTACH '${dir}/' || 'b.db' AS b`))).toEqual(NOT_AUTHORIZED);
    expect(errorOf(() => db.run("ATTACH ? AS b", `${dir}/b.db`))).toEqual(NOT_AUTHORIZED);
    expect(existsSync(`${dir}/b.db`)).toBe(false);
    expect(errorOf(() => db.exec(`VACUUM INTO '${dir}/c.db'`))).toEqual(DENIED_AT_RUN);
    expect(existsSync(`${dir}/c.db`)).toBe(false);
    db.exec("ATTACH ':memory:' AS m; DETACH m; VACUUM");
    expect(setAttachAllowed(db.query, token, true)).toBe(true);
    db.exec(`ATTACH '${dir}/b.db' AS b; DETACH b`);
  });
});
