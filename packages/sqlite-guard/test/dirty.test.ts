import { describe, expect, it } from "vitest";
import { claimGuardToken, setReadOnly, takeDirty } from "../src/index.js";
import { DRIVERS, errorOf, open, tempDir } from "./helpers.js";

describe.each(DRIVERS)("connection state marks through %s", (driver) => {
  const fresh = () => {
    const db = open(driver, `${tempDir()}/t.db`);
    const token = claimGuardToken(db.query);
    db.exec("CREATE TABLE t(a)");
    takeDirty(db.query, token); // whatever the set-up did
    return { db, token };
  };

  it("stays clean for reads, writes, transactions and reading PRAGMAs", () => {
    const { db, token } = fresh();
    db.exec("BEGIN; INSERT INTO t VALUES (1); UPDATE t SET a = 2; DELETE FROM t; COMMIT");
    db.exec("CREATE TABLE u(b); CREATE INDEX ui ON u(b); DROP TABLE u");
    db.query("SELECT count(*) FROM t");
    db.query("PRAGMA foreign_keys");
    db.query("SELECT name FROM pragma_table_info('t')");
    db.query("PRAGMA table_info(t)");
    db.query("PRAGMA wal_checkpoint(TRUNCATE)");
    expect(takeDirty(db.query, token)).toBe(false);
  });

  it.each([
    "PRAGMA foreign_keys = OFF",
    "PRAGMA recursive_triggers = 1",
    "PRAGMA case_sensitive_like = 1",
    "PRAGMA busy_timeout = 0",
    "CREATE TEMP TABLE secret (x)",
    "CREATE TEMP VIEW v AS SELECT 1",
    "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
    "ATTACH ':memory:' AS aux",
  ])("marks %s, once", (sql) => {
    const { db, token } = fresh();
    db.exec(sql);
    expect(takeDirty(db.query, token)).toBe(true);
    expect(takeDirty(db.query, token)).toBe(false);
  });

  it("marks an index on a temp table", () => {
    const { db, token } = fresh();
    db.exec("CREATE TEMP TABLE tt (x)");
    takeDirty(db.query, token);
    db.exec("CREATE INDEX temp.tti ON tt(x)");
    expect(takeDirty(db.query, token)).toBe(true);
  });

  it("does not mark the guard's own switches, and refuses a wrong token", () => {
    const { db, token } = fresh();
    setReadOnly(db.query, token, true);
    setReadOnly(db.query, token, false);
    expect(takeDirty(db.query, token)).toBe(false);
    expect(errorOf(() => takeDirty(db.query, "0".repeat(32))).code).toBe("SQLITE_AUTH");
  });
});
