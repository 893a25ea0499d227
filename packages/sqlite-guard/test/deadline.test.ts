import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { claimGuardToken, extensionPath, setDeadline, setReadOnly } from "../src/index.js";
import { DRIVERS, RUNAWAY, errorOf, fixture, open, sleepSync, tempDir, type TestConnection } from "./helpers.js";

/** Runs `sql` and returns how it ended and how long it took (ms). */
function timed(db: TestConnection, sql: string): { code: string; message: string; elapsed: number; value: unknown } {
  const start = performance.now();
  let value: unknown;
  const error = errorOf(() => {
    value = db.query(sql);
  });
  return { ...error, elapsed: performance.now() - start, value };
}

function guarded(driver: (typeof DRIVERS)[number], path: string, ms: number): { db: TestConnection; token: string } {
  const db = open(driver, path);
  const token = claimGuardToken(db.query);
  setDeadline(db.query, token, ms);
  return { db, token };
}

describe.each(DRIVERS)("statement deadline through %s", (driver) => {
  it("interrupts a runaway statement at its deadline", () => {
    const { db } = guarded(driver, ":memory:", 300);
    const result = timed(db, RUNAWAY);
    expect(result.code).toBe("SQLITE_INTERRUPT");
    expect(result.message).toBe("interrupted");
    expect(result.elapsed).toBeGreaterThanOrEqual(300);
    expect(result.elapsed).toBeLessThan(10_000);
    // The connection is usable afterwards, and each statement gets its own deadline.
    expect(db.query("SELECT 41 + 1")).toBe(42);
    expect(timed(db, RUNAWAY).code).toBe("SQLITE_INTERRUPT");
  });

  it("does not interrupt the statements that follow an interrupted one", () => {
    const { db } = guarded(driver, ":memory:", 30);
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      expect(timed(db, RUNAWAY).code).toBe("SQLITE_INTERRUPT");
      // Fresh statements, prepared right away: each prepare must not revive the interrupted run's deadline.
      for (let j = 0; j < 20; j++) {
        const result = timed(db, `SELECT ${i} * 100 + ${j}`);
        if (result.code !== "NO_ERROR") failures.push(`${i}/${j}: ${result.code}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("does not revive an old statement's deadline when an idle connection prepares again", () => {
    const { db, token } = guarded(driver, ":memory:", 10_000);
    // A cursor with a long deadline stays open (so an interrupt would stick to the connection)…
    const rows = db.iterate("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000) SELECT x FROM c");
    expect(rows.next().value).toEqual([1]);
    // …while a quick statement with a short deadline ends well before it, and the connection sits idle past it.
    setDeadline(db.query, token, 100);
    expect(db.query("SELECT 7")).toBe(7);
    sleepSync(300);
    db.prepared("SELECT 8"); // a prepare only: it must not be taken for a retry of the old statement
    sleepSync(100);
    let count = 1;
    for (let row = rows.next(); !row.done; row = rows.next()) count++;
    expect(count).toBe(1000);
  });

  it("cannot be dodged by starting the SQL with a comment", () => {
    const { db } = guarded(driver, ":memory:", 100);
    for (const prefix of ["-- a comment\n", "/* a comment */ ", "--\n"]) {
      const result = timed(db, prefix + RUNAWAY);
      expect(result.code).toBe("SQLITE_INTERRUPT");
      expect(result.elapsed).toBeGreaterThanOrEqual(100);
    }
  });

  it("leaves fast statements alone", () => {
    const { db } = guarded(driver, ":memory:", 300);
    db.exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b)");
    for (let i = 0; i < 2000; i++) db.run("INSERT INTO t(b) VALUES (?)", i);
    let sum = 0;
    for (let i = 1; i <= 2000; i++) sum += Number(db.query("SELECT b FROM t WHERE a = ?", i));
    expect(sum).toBe((1999 * 2000) / 2);
  });

  it("means no deadline at 0, and returns the previous value when set", () => {
    const { db, token } = guarded(driver, ":memory:", 30);
    const long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000000) SELECT count(*) FROM c";
    expect(timed(db, long).code).toBe("SQLITE_INTERRUPT"); // so this statement is longer than 30 ms
    expect(setDeadline(db.query, token, 0)).toBe(30);
    const result = timed(db, long);
    expect(result.code).toBe("NO_ERROR");
    expect(Number(result.value)).toBe(1_000_000);
    expect(result.elapsed).toBeGreaterThan(30);
    expect(setDeadline(db.query, token, 250)).toBe(0);
    expect(setDeadline(db.query, token, 250)).toBe(250);
  });

  it("keeps a transaction open after an interrupted SELECT inside BEGIN", () => {
    const dir = tempDir();
    const { db } = guarded(driver, `${dir}/t.db`, 300);
    db.exec("CREATE TABLE t(a)");
    db.exec("BEGIN");
    db.run("INSERT INTO t VALUES (1)");
    expect(timed(db, RUNAWAY).code).toBe("SQLITE_INTERRUPT");
    expect(db.inTransaction).toBe(true);
    expect(db.query("SELECT count(*) FROM t")).toBe(1);
    db.exec("COMMIT");
    expect(db.inTransaction).toBe(false);
    expect(db.query("SELECT count(*) FROM t")).toBe(1);
  });

  it("rolls the whole transaction back when an INSERT … SELECT inside BEGIN is interrupted", () => {
    const dir = tempDir();
    const { db } = guarded(driver, `${dir}/t.db`, 300);
    db.exec("CREATE TABLE t(a)");
    db.exec("BEGIN");
    db.run("INSERT INTO t VALUES (1)");
    const start = performance.now();
    const result = errorOf(() =>
      db.run("INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 200000000) SELECT x FROM c"),
    );
    expect(result.code).toBe("SQLITE_INTERRUPT");
    expect(performance.now() - start).toBeGreaterThanOrEqual(300);
    // SQLite rolls back the statement *and* the transaction: the earlier INSERT is gone and autocommit is back.
    expect(db.inTransaction).toBe(false);
    expect(db.query("SELECT count(*) FROM t")).toBe(0);
  });

  it("counts an open cursor as running until it is finished", () => {
    const { db } = guarded(driver, ":memory:", 100);
    const rows = db.iterate("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100000) SELECT x FROM c");
    expect(rows.next().value).toEqual([1]);
    sleepSync(250); // a slow client between two fetches
    // libsql fetches 100 rows ahead, so the error may come a few rows later.
    let error = { code: "NO_ERROR", message: "" };
    for (let i = 0; i < 1000 && error.code === "NO_ERROR"; i++) error = errorOf(() => rows.next());
    expect(error.code).toBe("SQLITE_INTERRUPT");
    expect(db.query("SELECT 1")).toBe(1);
  });

  it("interrupts a runaway trigger within the deadline of the statement that fired it", () => {
    const dir = tempDir();
    const { db } = guarded(driver, `${dir}/t.db`, 150);
    db.exec(`CREATE TABLE t(a); CREATE TABLE log(n);
      CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
        INSERT INTO log WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 200000000) SELECT count(*) FROM c;
      END;`);
    const result = timed(db, "INSERT INTO t VALUES (1) RETURNING a");
    expect(result.code).toBe("SQLITE_INTERRUPT");
    expect(result.elapsed).toBeGreaterThanOrEqual(150);
    expect(db.query("SELECT count(*) FROM t")).toBe(0);
  });

  it("still interrupts a cached statement that SQLite re-prepares after a schema change", () => {
    // SQLite re-runs such a statement inside the same sqlite3_step() without a new TRACE_STMT event.
    const dir = tempDir();
    const { db } = guarded(driver, `${dir}/t.db`, 150);
    db.exec("PRAGMA journal_mode = wal; CREATE TABLE t(a); INSERT INTO t VALUES (1)");
    const run = db.prepared(
      "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 200000000) " +
        "SELECT x FROM c) WHERE x > (SELECT count(*) FROM t)",
    );
    const other = open(driver, `${dir}/t.db`, { load: false });
    other.exec("CREATE TABLE changed(a)");
    const start = performance.now();
    expect(errorOf(run).code).toBe("SQLITE_INTERRUPT");
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it("applies with the read-only guard on too", () => {
    const { db, token } = guarded(driver, ":memory:", 150);
    setReadOnly(db.query, token, true);
    expect(timed(db, RUNAWAY).code).toBe("SQLITE_INTERRUPT");
  });

  it("interrupts a runaway statement with the exact unbounded query", () => {
    const { db } = guarded(driver, ":memory:", 300);
    const result = timed(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c");
    expect(result.code).toBe("SQLITE_INTERRUPT");
    expect(result.elapsed).toBeGreaterThanOrEqual(300);
  });
});

describe("one watchdog for many connections", () => {
  it("interrupts runaway statements on several connections at once, each at its own deadline", async () => {
    const dir = tempDir();
    const plans = [
      { driver: "better-sqlite3", deadlineMs: 500 },
      { driver: "libsql", deadlineMs: 600 },
      { driver: "better-sqlite3", deadlineMs: 700 },
      { driver: "libsql", deadlineMs: 800 },
    ];
    const workers = plans.map(
      ({ driver, deadlineMs }, i) =>
        new Worker(fixture("runaway-worker.mjs"), {
          workerData: { driver, deadlineMs, extensionPath, path: `${dir}/w${i}.db`, sql: RUNAWAY },
        }),
    );
    try {
      await Promise.all(workers.map((worker) => once(worker, "message")));
      const results = workers.map(async (worker) => {
        const [result] = await once(worker, "message");
        return result as { code: string; start: number; end: number };
      });
      for (const worker of workers) worker.postMessage("go");
      const done = await Promise.all(results);
      done.forEach((result, i) => {
        expect(result.code).toBe("SQLITE_INTERRUPT");
        expect(result.end - result.start).toBeGreaterThanOrEqual(plans[i]!.deadlineMs - 1);
        expect(result.end - result.start).toBeLessThan(10_000);
      });
      // They really ran at the same time: every one started before the first one stopped.
      expect(Math.max(...done.map((r) => r.start))).toBeLessThan(Math.min(...done.map((r) => r.end)));
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  }, 30_000);
});
