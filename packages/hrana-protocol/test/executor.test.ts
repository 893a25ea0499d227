import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, Pool } from "@hranad/driver";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  cursorEntries,
  executeBatch,
  executeStreamRequest,
  HTTP_MAX_STORED_SQL,
  HTTP_MAX_STORED_SQL_LENGTH,
  inlineStoredSql,
  json,
  MapSqlStore,
  ProtocolError,
  toHranaError,
  type Batch,
  type BatchStep,
  type CursorEntry,
  type ExecutorOptions,
  type ProtocolErrorCode,
  type StreamRequest,
  type StreamResult,
  type WsRequest,
} from "../src/index.js";

const V2: ExecutorOptions = { version: 2, maxStoredSql: HTTP_MAX_STORED_SQL, maxStoredSqlLength: HTTP_MAX_STORED_SQL_LENGTH };
const V3: ExecutorOptions = { ...V2, version: 3 };

let dir: string;
let pool: Pool;
let file = 0;
const held: Connection[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hrana-protocol-executor-"));
});

afterEach(async () => {
  await Promise.all(held.splice(0).map((c) => c.release()));
  await pool?.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh database and one connection on it (a second one on request). */
async function connect(): Promise<Connection> {
  file += 1;
  pool = await betterSqlite3Driver.open({ path: join(dir, `db-${file}.db`), mode: "create", maxConnections: 2 });
  return another();
}

async function another(): Promise<Connection> {
  const conn = await pool.acquire();
  held.push(conn);
  return conn;
}

const step = (sql: string, condition: BatchStep["condition"] = null, wantRows = true): BatchStep => ({ condition, stmt: { sql, wantRows } });
const ok = (s: number) => ({ type: "ok" as const, step: s });
const not = (cond: NonNullable<BatchStep["condition"]>) => ({ type: "not" as const, cond });
const isAutocommit = { type: "is_autocommit" as const };
const and = (...conds: NonNullable<BatchStep["condition"]>[]) => ({ type: "and" as const, conds });

async function rejectsWith(promise: Promise<unknown> | (() => unknown), code: ProtocolErrorCode): Promise<ProtocolError> {
  let thrown: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
  return thrown as ProtocolError;
}

async function rows(conn: Connection, sql: string) {
  return (await conn.execute({ sql })).rows;
}

function okResponse(result: StreamResult) {
  if (result.type !== "ok") throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.response;
}

async function collect(entries: AsyncIterable<CursorEntry>): Promise<CursorEntry[]> {
  const out: CursorEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

describe("execute", () => {
  test("a query returns columns, rows and the statement's counts", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    await conn.executeScript("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    const insert = await executeStreamRequest(conn, store, { type: "execute", stmt: { sql: "INSERT INTO t (name) VALUES (?), (?)", args: ["a", "b"] } }, V2);
    expect(insert).toEqual({ type: "ok", response: { type: "execute", result: { cols: [], rows: [], affectedRowCount: 2, lastInsertRowid: 2n } } });
    const select = await executeStreamRequest(conn, store, { type: "execute", stmt: { sql: "SELECT id, name, 1.5 AS f FROM t WHERE id = :id", namedArgs: [{ name: "id", value: 2n }] } }, V2);
    expect(select).toEqual({
      type: "ok",
      response: {
        type: "execute",
        result: {
          cols: [
            { name: "id", decltype: "INTEGER" },
            { name: "name", decltype: "TEXT" },
            { name: "f", decltype: null },
          ],
          rows: [[2n, "b", 1.5]],
          affectedRowCount: 0,
          lastInsertRowid: null,
        },
      },
    });
  });

  test("want_rows false returns no rows but keeps the columns", async () => {
    const conn = await connect();
    const result = okResponse(await executeStreamRequest(conn, new MapSqlStore(), { type: "execute", stmt: { sql: "SELECT 1 AS one", wantRows: false } }, V2));
    expect(result).toEqual({ type: "execute", result: { cols: [{ name: "one", decltype: null }], rows: [], affectedRowCount: 0, lastInsertRowid: null } });
  });

  test("a stored SQL text runs by its id; an unknown id is a protocol error", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    okResponse(await executeStreamRequest(conn, store, { type: "store_sql", sqlId: 3, sql: "SELECT ? + 1" }, V2));
    const result = okResponse(await executeStreamRequest(conn, store, { type: "execute", stmt: { sqlId: 3, args: [41n] } }, V2));
    expect(result.type === "execute" && result.result.rows).toEqual([[42n]]);
    await rejectsWith(executeStreamRequest(conn, store, { type: "execute", stmt: { sqlId: 4 } }, V2), "PROTO_SQL_NOT_FOUND");
  });

  test("statement errors are stream results with the base SQLite code or the driver's code", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    const run = (sql: string, args: bigint[] = []) => executeStreamRequest(conn, store, { type: "execute", stmt: { sql, args } }, V2);
    await conn.executeScript("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await run("INSERT INTO t VALUES (1)");
    expect(await run("INSERT INTO t VALUES (1)")).toMatchObject({ type: "error", error: { code: "SQLITE_CONSTRAINT" } });
    const missing = await run("SELECT foo");
    expect(missing).toMatchObject({ type: "error", error: { code: "SQLITE_ERROR" } });
    expect(missing.type === "error" && missing.error.message).toContain("no such column: foo");
    expect(await run("SELECT ?, ?", [1n])).toMatchObject({ type: "error", error: { code: "ARGS_INVALID" } });
    expect(await run("SELECT 1; SELECT 2")).toMatchObject({ type: "error", error: { code: "SQL_MANY_STATEMENTS" } });
    expect(await run("  ")).toMatchObject({ type: "error", error: { code: "SQL_NO_STATEMENT" } });
  });

  test("named errors of a wrapping connection keep their code; anything else is INTERNAL without details", async () => {
    const conn = await connect();
    // The session store wraps connections and fails a poisoned stream's statements with named errors.
    const poisoned: Connection = Object.create(conn, {
      execute: { value: () => Promise.reject(Object.assign(new Error("The transaction was rolled back after 5 s"), { code: "TRANSACTION_TIMEOUT" })) },
    });
    const result = await executeStreamRequest(poisoned, new MapSqlStore(), { type: "execute", stmt: { sql: "SELECT 1" } }, V2);
    expect(result).toEqual({ type: "error", error: { message: "The transaction was rolled back after 5 s", code: "TRANSACTION_TIMEOUT" } });

    let systemError: unknown;
    try {
      readFileSync(join(dir, "secret-subdir", "missing.db"));
    } catch (error) {
      systemError = error;
    }
    const logged: unknown[] = [];
    const broken: Connection = Object.create(conn, { execute: { value: () => Promise.reject(systemError) } });
    const internal = await executeStreamRequest(broken, new MapSqlStore(), { type: "execute", stmt: { sql: "SELECT 1" } }, { ...V2, onInternalError: (e) => logged.push(e) });
    expect(internal).toEqual({ type: "error", error: { message: "Internal server error", code: "INTERNAL" } });
    expect(JSON.stringify(internal)).not.toContain("secret-subdir");
    expect(logged).toEqual([systemError]);
    expect(toHranaError(new TypeError("x is not a function"))).toEqual({ message: "Internal server error", code: "INTERNAL" });
    expect(toHranaError("a string")).toEqual({ message: "Internal server error", code: "INTERNAL" });
  });

  test("close is answered without touching the connection", async () => {
    const conn = await connect();
    await conn.executeScript("BEGIN");
    expect(await executeStreamRequest(conn, new MapSqlStore(), { type: "close" }, V2)).toEqual({ type: "ok", response: { type: "close" } });
    expect(conn.autocommit).toBe(false);
  });
});

describe("batch", () => {
  test("@libsql/client batch(write): BEGIN IMMEDIATE, steps chained on ok, COMMIT, ROLLBACK skipped", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    // The exact pipeline of traces/http-v2.txt "batch write".
    const trace = readFileSync(join(import.meta.dirname, "fixtures", "http-v2.txt"), "utf8").split("\n");
    const requestLine = trace[trace.findIndex((l) => l === "##### batch write") + 2]!;
    const body = json.decodePipelineReqBody(requestLine, 2);
    const results: StreamResult[] = [];
    for (const request of body.requests) results.push(await executeStreamRequest(conn, store, request, V2));
    expect(results.map((r) => r.type === "ok" && r.response.type)).toEqual(["store_sql", "store_sql", "store_sql", "store_sql", "batch", "close"]);
    const batch = okResponse(results[4]!);
    if (batch.type !== "batch") throw new Error("not a batch");
    const row = { cols: [{ name: "a", decltype: null }], rows: [[1n]], affectedRowCount: 0, lastInsertRowid: null };
    const empty = { cols: [], rows: [], affectedRowCount: 0, lastInsertRowid: null };
    expect(batch.result).toEqual({
      stepResults: [empty, empty, empty, { ...empty, affectedRowCount: 1, lastInsertRowid: 1n }, row, row, empty, null],
      stepErrors: [null, null, null, null, null, null, null, null],
    });
    expect(conn.autocommit).toBe(true);
    expect(await rows(await another(), "SELECT a FROM t")).toEqual([[1n]]);
  });

  test("a failing step fills its error slot, later dependent steps are skipped, ROLLBACK runs", async () => {
    const conn = await connect();
    await conn.executeScript("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    const result = await executeBatch(
      conn,
      new MapSqlStore(),
      {
        steps: [
          step("BEGIN IMMEDIATE", null, false),
          step("INSERT INTO t VALUES (1)", ok(0)),
          step("INSERT INTO t VALUES (1)", ok(1)),
          step("INSERT INTO t VALUES (2)", ok(2)),
          step("COMMIT", ok(3), false),
          step("ROLLBACK", not(ok(4)), false),
        ],
      },
      V2,
    );
    expect(result.stepResults.map((r) => r !== null)).toEqual([true, true, false, false, false, true]);
    expect(result.stepErrors.map((e) => e?.code ?? null)).toEqual([null, null, "SQLITE_CONSTRAINT", null, null, null]);
    expect(conn.autocommit).toBe(true);
    expect(await rows(conn, "SELECT count(*) FROM t")).toEqual([[0n]]);
  });

  test("error, and, or conditions; ok/error of a skipped step are false", async () => {
    const conn = await connect();
    const result = await executeBatch(
      conn,
      new MapSqlStore(),
      {
        steps: [
          step("SELECT no_such_column"),
          step("SELECT 1", { type: "error", step: 0 }),
          step("SELECT 2", ok(0)),
          step("SELECT 3", { type: "or", conds: [ok(2), { type: "error", step: 2 }] }),
          step("SELECT 4", and(ok(1), not(ok(2)))),
          step("SELECT 5", { type: "and", conds: [] }),
          step("SELECT 6", { type: "or", conds: [] }),
        ],
      },
      V2,
    );
    expect(result.stepErrors[0]?.code).toBe("SQLITE_ERROR");
    expect(result.stepResults.map((r) => r?.rows[0]?.[0] ?? null)).toEqual([null, 1n, null, null, 4n, 5n, null]);
    expect(result.stepErrors.slice(1)).toEqual([null, null, null, null, null, null]);
  });

  test("migrate: PRAGMA foreign_keys outside the transaction works (no implicit transaction)", async () => {
    const conn = await connect();
    await conn.executeScript("PRAGMA foreign_keys = ON; CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid REFERENCES parent (id))");
    // With foreign keys on, this orphan insert would fail: the migration only succeeds if the PRAGMA took effect.
    const result = await executeBatch(
      conn,
      new MapSqlStore(),
      {
        steps: [
          step("PRAGMA foreign_keys=off", null, false),
          step("BEGIN DEFERRED", null, false),
          step("INSERT INTO child VALUES (42)", ok(1)),
          step("CREATE TABLE IF NOT EXISTS m(a)", ok(2)),
          step("COMMIT", ok(3), false),
          step("ROLLBACK", not(ok(4)), false),
          step("PRAGMA foreign_keys=on", null, false),
        ],
      },
      V2,
    );
    expect(result.stepErrors).toEqual([null, null, null, null, null, null, null]);
    expect(result.stepResults.map((r) => r !== null)).toEqual([true, true, true, true, true, false, true]);
    expect(await rows(conn, "PRAGMA foreign_keys")).toEqual([[1n]]);
    expect(await rows(conn, "SELECT pid FROM child")).toEqual([[42n]]);
    expect(await rows(conn, "SELECT name FROM sqlite_schema WHERE name = 'm'")).toEqual([["m"]]);
  });

  test("a failed step without BEGIN leaves the earlier steps applied", async () => {
    const conn = await connect();
    await conn.executeScript("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    const result = await executeBatch(conn, new MapSqlStore(), { steps: [step("INSERT INTO t VALUES (1)"), step("INSERT INTO t VALUES (1)"), step("INSERT INTO t VALUES (2)")] }, V2);
    expect(result.stepErrors.map((e) => e?.code ?? null)).toEqual([null, "SQLITE_CONSTRAINT", null]);
    expect(await rows(conn, "SELECT id FROM t ORDER BY id")).toEqual([[1n], [2n]]);
  });

  describe("Hrana 3 transactions guarded by not(is_autocommit)", () => {
    const guarded = (c: NonNullable<BatchStep["condition"]> | null) => (c === null ? not(isAutocommit) : and(c, not(isAutocommit)));

    test("after a ROLLBACK step, guarded steps are skipped and a later COMMIT fails", async () => {
      const conn = await connect();
      await conn.executeScript("CREATE TABLE t (x)");
      const store = new MapSqlStore();
      const result = await executeBatch(
        conn,
        store,
        {
          steps: [
            step("BEGIN DEFERRED", null, false),
            step("INSERT INTO t VALUES (1)", guarded(ok(0))),
            step("ROLLBACK", guarded(ok(1)), false),
            step("INSERT INTO t VALUES (2)", guarded(ok(2))),
            step("INSERT INTO t VALUES (3)", guarded(null)),
          ],
        },
        V3,
      );
      expect(result.stepResults.map((r) => r !== null)).toEqual([true, true, true, false, false]);
      expect(result.stepErrors).toEqual([null, null, null, null, null]);
      const commit = await executeStreamRequest(conn, store, { type: "execute", stmt: { sql: "COMMIT" } }, V3);
      expect(commit.type === "error" && commit.error.message).toMatch(/cannot commit - no transaction is active/);
      expect(await rows(conn, "SELECT count(*) FROM t")).toEqual([[0n]]);
    });

    test("after INSERT OR ROLLBACK fails inside the transaction, guarded steps are skipped", async () => {
      const conn = await connect();
      await conn.executeScript("CREATE TABLE t (x UNIQUE)");
      const result = await executeBatch(
        conn,
        new MapSqlStore(),
        {
          steps: [
            step("BEGIN IMMEDIATE", null, false),
            step("INSERT INTO t VALUES (1)", guarded(ok(0))),
            step("INSERT OR ROLLBACK INTO t VALUES (1)", guarded(ok(1))),
            step("INSERT INTO t VALUES (2)", guarded(null)),
            step("COMMIT", guarded(null), false),
          ],
        },
        V3,
      );
      expect(result.stepErrors.map((e) => e?.code ?? null)).toEqual([null, null, "SQLITE_CONSTRAINT", null, null]);
      expect(result.stepResults.map((r) => r !== null)).toEqual([true, true, false, false, false]);
      expect(conn.autocommit).toBe(true);
      const getAutocommit = await executeStreamRequest(conn, new MapSqlStore(), { type: "get_autocommit" }, V3);
      expect(getAutocommit).toEqual({ type: "ok", response: { type: "get_autocommit", isAutocommit: true } });
      expect(await rows(conn, "SELECT count(*) FROM t")).toEqual([[0n]]);
    });

    test("inside an open transaction the guarded steps run, and get_autocommit says false", async () => {
      const conn = await connect();
      const store = new MapSqlStore();
      const result = await executeBatch(conn, store, { steps: [step("BEGIN", null, false), step("SELECT 1", guarded(ok(0)))] }, V3);
      expect(result.stepResults[1]?.rows).toEqual([[1n]]);
      expect(await executeStreamRequest(conn, store, { type: "get_autocommit" }, V3)).toEqual({
        type: "ok",
        response: { type: "get_autocommit", isAutocommit: false },
      });
    });
  });

  test("protocol errors are raised before any step runs", async () => {
    const conn = await connect();
    await conn.executeScript("CREATE TABLE t (x)");
    const store = new MapSqlStore();
    const insert = step("INSERT INTO t VALUES (1)");
    await rejectsWith(executeBatch(conn, store, { steps: [insert, step("SELECT 1", ok(1))] }, V2), "PROTO_BATCH_BAD_STEP");
    await rejectsWith(executeBatch(conn, store, { steps: [insert, step("SELECT 1", ok(2))] }, V2), "PROTO_BATCH_BAD_STEP");
    await rejectsWith(executeBatch(conn, store, { steps: [insert, step("SELECT 1", not(isAutocommit))] }, V2), "PROTO_NOT_SUPPORTED");
    await rejectsWith(executeBatch(conn, store, { steps: [insert, { stmt: { sqlId: 9 } }] }, V2), "PROTO_SQL_NOT_FOUND");
    let deep: NonNullable<BatchStep["condition"]> = ok(0);
    for (let i = 0; i < 200; i++) deep = not(deep);
    await rejectsWith(executeBatch(conn, store, { steps: [insert, step("SELECT 1", deep)] }, V2), "PROTO_NESTING_TOO_DEEP");
    expect(await rows(conn, "SELECT count(*) FROM t")).toEqual([[0n]]);
  });
});

describe("sequence, describe, store_sql, get_autocommit", () => {
  test("sequence runs every statement and stops at the first error", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    const run = (sql: string) => executeStreamRequest(conn, store, { type: "sequence", sql }, V2);
    expect(await run("CREATE TABLE t (x); INSERT INTO t VALUES (1); SELECT * FROM t;")).toEqual({ type: "ok", response: { type: "sequence" } });
    const failed = await run("INSERT INTO t VALUES (2); INSERT INTO nope VALUES (3); INSERT INTO t VALUES (4)");
    expect(failed).toMatchObject({ type: "error", error: { code: "SQLITE_ERROR" } });
    expect(await rows(conn, "SELECT x FROM t ORDER BY x")).toEqual([[1n], [2n]]);
    await rejectsWith(executeStreamRequest(conn, store, { type: "sequence", sqlId: 1 }, V2), "PROTO_SQL_NOT_FOUND");
  });

  test("describe reports parameters, columns, EXPLAIN and read-only", async () => {
    const conn = await connect();
    await conn.executeScript("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    const store = new MapSqlStore();
    const select = okResponse(await executeStreamRequest(conn, store, { type: "describe", sql: "SELECT id, name AS n, 1 + 1 FROM t WHERE id = ? OR name = :a OR name = $b" }, V2));
    expect(select).toEqual({
      type: "describe",
      result: {
        params: [{ name: null }, { name: ":a" }, { name: "$b" }],
        cols: [
          { name: "id", decltype: "INTEGER" },
          { name: "n", decltype: "TEXT" },
          { name: "1 + 1", decltype: null },
        ],
        isExplain: false,
        isReadonly: true,
      },
    });
    const insert = okResponse(await executeStreamRequest(conn, store, { type: "describe", sql: "INSERT INTO t (name) VALUES (?)" }, V2));
    expect(insert).toMatchObject({ result: { isReadonly: false, isExplain: false, params: [{ name: null }], cols: [] } });
    const explain = okResponse(await executeStreamRequest(conn, store, { type: "describe", sql: "EXPLAIN QUERY PLAN SELECT * FROM t" }, V2));
    expect(explain).toMatchObject({ result: { isExplain: true } });
    expect(await executeStreamRequest(conn, store, { type: "describe", sql: "SELECT * FROM missing" }, V2)).toMatchObject({ type: "error", error: { code: "SQLITE_ERROR" } });
  });

  test("store_sql limits are per-request errors; a duplicate id is a protocol error; close_sql of an unknown id is fine", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    const options: ExecutorOptions = { version: 2, maxStoredSql: 2, maxStoredSqlLength: 10 };
    const request = (r: StreamRequest) => executeStreamRequest(conn, store, r, options);
    expect(await request({ type: "store_sql", sqlId: 1, sql: "SELECT 1" })).toEqual({ type: "ok", response: { type: "store_sql" } });
    // 5 × "é" is 10 UTF-8 bytes (fits); 6 × "é" is 12 (too large), although only 6 UTF-16 units.
    expect(await request({ type: "store_sql", sqlId: 2, sql: "é".repeat(6) })).toMatchObject({ type: "error", error: { code: "SQL_STORE_TOO_LARGE" } });
    expect(await request({ type: "store_sql", sqlId: 2, sql: "é".repeat(5) })).toEqual({ type: "ok", response: { type: "store_sql" } });
    expect(await request({ type: "store_sql", sqlId: 3, sql: "SELECT 3" })).toEqual({
      type: "error",
      error: { message: "The server already stores 2 SQL texts, it cannot store more", code: "SQL_STORE_TOO_MANY" },
    });
    await rejectsWith(request({ type: "store_sql", sqlId: 1, sql: "SELECT 1" }), "PROTO_SQL_EXISTS");
    expect(await request({ type: "close_sql", sqlId: 99 })).toEqual({ type: "ok", response: { type: "close_sql" } });
    expect(await request({ type: "close_sql", sqlId: 1 })).toEqual({ type: "ok", response: { type: "close_sql" } });
    expect(store.sqlCount).toBe(1);
    expect(await request({ type: "store_sql", sqlId: 1, sql: "SELECT 11" })).toEqual({ type: "ok", response: { type: "store_sql" } });
    expect(store.lookupSql(1)).toBe("SELECT 11");
    await rejectsWith(executeStreamRequest(conn, store, { type: "store_sql", sqlId: 7, sql: "x" }, { ...options, version: 1 }), "PROTO_NOT_SUPPORTED");
  });

  test("the HTTP limits are sqld's: 50 texts of at most 5000 bytes", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    for (let id = 0; id < 50; id++) {
      expect((await executeStreamRequest(conn, store, { type: "store_sql", sqlId: id, sql: "x".repeat(5000) }, V2)).type).toBe("ok");
    }
    expect(await executeStreamRequest(conn, store, { type: "store_sql", sqlId: 50, sql: "x" }, V2)).toMatchObject({ error: { code: "SQL_STORE_TOO_MANY" } });
    expect(await executeStreamRequest(conn, new MapSqlStore(), { type: "store_sql", sqlId: 0, sql: "x".repeat(5001) }, V2)).toMatchObject({
      error: { code: "SQL_STORE_TOO_LARGE" },
    });
  });

  test("get_autocommit is Hrana 3 only", async () => {
    const conn = await connect();
    await rejectsWith(executeStreamRequest(conn, new MapSqlStore(), { type: "get_autocommit" }, V2), "PROTO_NOT_SUPPORTED");
  });

  test("inlineStoredSql resolves ids at arrival, so a later close_sql cannot break a queued request", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    store.storeSql(1, "SELECT 'stored'");
    const queued = inlineStoredSql(store, { type: "batch", batch: { steps: [{ stmt: { sqlId: 1 } }, { stmt: { sql: "SELECT 2" } }] } } as StreamRequest, 2);
    store.dropSql(1);
    const result = okResponse(await executeStreamRequest(conn, store, queued, V2));
    expect(result.type === "batch" && result.result.stepResults.map((r) => r?.rows)).toEqual([[["stored"]], [[2n]]]);
    await rejectsWith(() => inlineStoredSql(store, { type: "execute", stmt: { sqlId: 1 } }, 2), "PROTO_SQL_NOT_FOUND");

    // WebSocket requests (with their stream and cursor ids) go through unchanged but for the SQL.
    store.storeSql(2, "SELECT 'two'");
    const wsRequest: WsRequest = { type: "open_cursor", streamId: 4, cursorId: 5, batch: { steps: [{ stmt: { sqlId: 2, args: [1n] } }] } };
    expect(inlineStoredSql(store, wsRequest, 3)).toEqual({
      type: "open_cursor",
      streamId: 4,
      cursorId: 5,
      batch: { steps: [{ stmt: { sql: "SELECT 'two'", sqlId: null, args: [1n] } }] },
    });
    const wsExecute: WsRequest = { type: "execute", streamId: 4, stmt: { sqlId: 2 } };
    if (wsExecute.type !== "execute") throw new Error("unreachable");
    const inlined = inlineStoredSql(store, wsExecute, 2);
    expect(okResponse(await executeStreamRequest(conn, store, inlined, V2))).toMatchObject({ result: { rows: [["two"]] } });
  });
});

describe("cursors", () => {
  const TEN_THOUSAND = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000) SELECT i FROM c";

  test("10 000 rows stream as step_begin, one row entry each, step_end", async () => {
    const conn = await connect();
    const entries = await collect(cursorEntries(conn, new MapSqlStore(), { steps: [step(TEN_THOUSAND)] }, { ...V3, cursorChunkRows: 1000 }));
    expect(entries).toHaveLength(10_002);
    expect(entries[0]).toEqual({ type: "step_begin", step: 0, cols: [{ name: "i", decltype: null }] });
    expect(entries[1]).toEqual({ type: "row", row: [1n] });
    expect(entries[10_000]).toEqual({ type: "row", row: [10_000n] });
    expect(entries.slice(1, -1).every((e, i) => e.type === "row" && e.row[0] === BigInt(i + 1))).toBe(true);
    expect(entries[10_001]).toEqual({ type: "step_end", affectedRowCount: 0, lastInsertRowid: null });
  });

  test("stopping early closes the driver cursor, so the connection can open another", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    let seen = 0;
    for await (const entry of cursorEntries(conn, store, { steps: [step(TEN_THOUSAND)] }, V3)) {
      if (entry.type === "row") seen += 1;
      if (seen === 5) break;
    }
    expect(seen).toBe(5);
    const again = await collect(cursorEntries(conn, store, { steps: [step("SELECT 7")] }, V3));
    expect(again).toEqual([
      { type: "step_begin", step: 0, cols: [{ name: "7", decltype: null }] },
      { type: "row", row: [7n] },
      { type: "step_end", affectedRowCount: 0, lastInsertRowid: null },
    ]);
  });

  test("skipped steps emit nothing; errors before and after step_begin; conditions see cursor outcomes", async () => {
    const conn = await connect();
    await conn.executeScript("CREATE TABLE t (x)");
    const overflowAfterThreeRows =
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) SELECT CASE WHEN i <= 3 THEN i ELSE abs(-9223372036854775808) END FROM c";
    const batch: Batch = {
      steps: [
        step("BEGIN", null, false),
        step("SELECT * FROM missing", ok(0)),
        step("SELECT 'skipped'", ok(1)),
        step("INSERT INTO t VALUES (1), (2)", { type: "error", step: 1 }),
        step(overflowAfterThreeRows, ok(3)),
        step("SELECT 'after'", { type: "error", step: 4 }, false),
        step("COMMIT", not(isAutocommit), false),
      ],
    };
    const entries = await collect(cursorEntries(conn, new MapSqlStore(), batch, { ...V3, cursorChunkRows: 2 }));
    const shape = entries
      .filter((e) => e.type !== "row")
      .map((e) => (e.type === "step_error" ? `${e.type}:${e.step}:${e.error.code}` : e.type === "step_begin" ? `${e.type}:${e.step}` : e.type));
    expect(shape).toEqual([
      "step_begin:0",
      "step_end",
      "step_error:1:SQLITE_ERROR",
      "step_begin:3",
      "step_end",
      "step_begin:4",
      "step_error:4:SQLITE_ERROR",
      "step_begin:5",
      "step_end",
      "step_begin:6",
      "step_end",
    ]);
    expect(entries[4]).toEqual({ type: "step_end", affectedRowCount: 2, lastInsertRowid: 2n });
    // The rows before the failing one arrive between step_begin and step_error (at least the first full chunk;
    // the driver may drop the rows of the chunk in which the error happened).
    const rowsOfStep4 = entries.slice(entries.findIndex((e) => e.type === "step_begin" && e.step === 4) + 1, entries.findIndex((e) => e.type === "step_error" && e.step === 4));
    expect(rowsOfStep4.length).toBeGreaterThanOrEqual(2);
    expect(rowsOfStep4).toEqual([[1n], [2n], [3n]].slice(0, rowsOfStep4.length).map((row) => ({ type: "row", row })));
    expect(entries.filter((e) => e.type === "row")).toHaveLength(rowsOfStep4.length);
    expect(conn.autocommit).toBe(true);
    expect(await rows(conn, "SELECT count(*) FROM t")).toEqual([[2n]]);
  });

  test("a malformed batch throws ProtocolError at the call, and cursors need Hrana 3", async () => {
    const conn = await connect();
    const store = new MapSqlStore();
    await rejectsWith(() => cursorEntries(conn, store, { steps: [step("SELECT 1", ok(0))] }, V3), "PROTO_BATCH_BAD_STEP");
    await rejectsWith(() => cursorEntries(conn, store, { steps: [{ stmt: { sqlId: 1 } }] }, V3), "PROTO_SQL_NOT_FOUND");
    await rejectsWith(() => cursorEntries(conn, store, { steps: [] }, V2), "PROTO_NOT_SUPPORTED");
    expect(await collect(cursorEntries(conn, store, { steps: [] }, V3))).toEqual([]);
  });
});
