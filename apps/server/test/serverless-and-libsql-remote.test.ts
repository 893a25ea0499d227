import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { connect, DatabaseError, type Connection } from "@tursodatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

/**
 * Two clients that speak Hrana 3 JSON over `/v3/pipeline` and `/v3/cursor`: @tursodatabase/serverless and the
 * `libsql` package's remote mode (`new Database("http://…")`, the libsql Rust crate underneath).
 */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("@tursodatabase/serverless", () => {
  let conn: Connection;
  const opened: Connection[] = [];
  const open = (path = ""): Connection => {
    const c = connect({ url: server.url + path });
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    conn = open();
    await conn.exec(`
      DROP TABLE IF EXISTS ts_users;
      CREATE TABLE ts_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, avatar BLOB);
    `);
  });
  afterAll(async () => {
    for (const c of opened) await c.close();
  });

  it("prepares, runs and reads rows with get, all, iterate, raw and pluck", async () => {
    const insert = await conn.prepare("INSERT INTO ts_users (name, score, avatar) VALUES (?, ?, ?)");
    expect(insert.reader).toBe(false);
    const first = await insert.run(["alice", 1.5, new Uint8Array([1, 2, 3])]);
    expect(first.changes).toBe(1);
    expect(first.lastInsertRowid).toBeGreaterThan(0);
    await insert.run(["bob", 2.25, null]);
    await insert.run(["carol", null, new Uint8Array(0)]);

    const select = await conn.prepare("SELECT id, name, score, avatar FROM ts_users WHERE name = ?");
    expect(select.reader).toBe(true);
    expect(select.columns()).toEqual([
      { name: "id", type: "INTEGER" },
      { name: "name", type: "TEXT" },
      { name: "score", type: "REAL" },
      { name: "avatar", type: "BLOB" },
    ]);
    const alice = await select.get(["alice"]);
    expect(alice).toMatchObject({ id: first.lastInsertRowid, name: "alice", score: 1.5 });
    expect(new Uint8Array(alice.avatar)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await select.get(["nobody"])).toBeUndefined();

    const all = await conn.all("SELECT name, score FROM ts_users ORDER BY name");
    expect(all).toEqual([
      { name: "alice", score: 1.5 },
      { name: "bob", score: 2.25 },
      { name: "carol", score: null },
    ]);
    const names: string[] = [];
    for await (const row of conn.iterate("SELECT name FROM ts_users WHERE score IS NOT NULL ORDER BY name")) names.push(row.name);
    expect(names).toEqual(["alice", "bob"]);

    const raw = (await conn.prepare("SELECT name, score FROM ts_users ORDER BY name LIMIT 1")).raw();
    expect(await raw.all()).toEqual([["alice", 1.5]]);
    const pluck = (await conn.prepare("SELECT name FROM ts_users ORDER BY name DESC")).pluck();
    expect(await pluck.all()).toEqual(["carol", "bob", "alice"]);
    expect(await conn.get("SELECT count(*) AS n FROM ts_users")).toEqual({ n: 3 });
  });

  it("binds named arguments and keeps integers exact with safeIntegers", async () => {
    const named = await conn.get("SELECT :a || @b || $c AS s", { a: "x", b: "y", c: "z" });
    expect(named.s).toBe("xyz");
    // JS integers go as SQLite integers, fractions as reals.
    expect(await conn.get("SELECT typeof(?) AS a, typeof(?) AS b", [1, 1.5])).toEqual({ a: "integer", b: "real" });
    const exact = await conn.prepare("SELECT 9223372036854775807 AS max, -9223372036854775808 AS min, ? AS echoed");
    exact.safeIntegers(true);
    expect(await exact.get([9007199254740993n])).toEqual({ max: 9223372036854775807n, min: -9223372036854775808n, echoed: 9007199254740993n });
  });

  it(`fetches 5000 rows through /v3/cursor`, async () => {
    const rows = await conn.all(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x, 'row-' || x AS label FROM c",
    );
    expect(rows).toHaveLength(5000);
    expect(rows[4999]).toEqual({ x: 5000, label: "row-5000" });
    expect(rows.reduce((sum: number, row: { x: number }) => sum + row.x, 0)).toBe((5000 * 5001) / 2);
  });

  it("raises DatabaseError with the SQLite code, and the connection keeps working", async () => {
    const duplicate = await conn.run("INSERT INTO ts_users (name) VALUES ('alice')").catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(DatabaseError);
    expect((duplicate as DatabaseError).code).toBe("SQLITE_CONSTRAINT");
    expect((duplicate as DatabaseError).message).toMatch(/UNIQUE constraint failed: ts_users.name/);
    const syntax = await conn.prepare("SELEKT 1").catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(DatabaseError);
    expect((syntax as DatabaseError).message).toMatch(/syntax error/);
    const missing = await conn.all("SELECT * FROM no_such_table").catch((e: unknown) => e);
    expect((missing as DatabaseError).message).toMatch(/no such table/);
    expect(await conn.get("SELECT count(*) AS n FROM ts_users")).toEqual({ n: 3 });
  });

  it("runs batches: plain ones statement by statement, atomic ones all or nothing", async () => {
    const results = await conn.batch([
      { sql: "INSERT INTO ts_users (name) VALUES (?)", args: ["dave"] },
      { sql: "INSERT INTO ts_users (name) VALUES (:name)", args: { name: "erin" } },
      "SELECT count(*) AS n FROM ts_users",
    ]);
    expect(results).toHaveLength(3);
    expect(results[0].rowsAffected).toBe(1);
    expect(results[2].rows).toEqual([{ n: 5 }]);
    // Atomic: the second insert fails, the first is rolled back with it.
    const error = await conn
      .batch(
        [
          { sql: "INSERT INTO ts_users (name) VALUES (?)", args: ["frank"] },
          { sql: "INSERT INTO ts_users (name) VALUES (?)", args: ["alice"] },
        ],
        "immediate",
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("SQLITE_CONSTRAINT");
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name = 'frank'")).toEqual({ n: 0 });
    expect(conn.inTransaction).toBe(false);
    await conn.batch([{ sql: "INSERT INTO ts_users (name) VALUES (?)", args: ["frank"] }], "write");
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name = 'frank'")).toEqual({ n: 1 });
  });

  it("tracks BEGIN/COMMIT on the connection's stream; others see the rows only after COMMIT", async () => {
    const other = open();
    await conn.exec("BEGIN IMMEDIATE");
    expect(conn.inTransaction).toBe(true);
    await conn.run("INSERT INTO ts_users (name) VALUES (?)", ["in-tx"]);
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name = 'in-tx'")).toEqual({ n: 1 });
    expect(conn.inTransaction).toBe(true);
    expect(await other.get("SELECT count(*) AS n FROM ts_users WHERE name = 'in-tx'")).toEqual({ n: 0 });
    await conn.exec("COMMIT");
    expect(conn.inTransaction).toBe(false);
    expect(await other.get("SELECT count(*) AS n FROM ts_users WHERE name = 'in-tx'")).toEqual({ n: 1 });
  });

  it("transactionAsync commits, and rolls back when the callback throws", async () => {
    const addTwo = conn.transactionAsync(async (tx, a: string, b: string) => {
      await tx.run("INSERT INTO ts_users (name) VALUES (?)", [a]);
      const stmt = await tx.prepare("INSERT INTO ts_users (name) VALUES (?)");
      await stmt.run([b]);
      // Inside, the rows are visible; on the connection's own stream they are not yet.
      expect(await tx.get("SELECT count(*) AS n FROM ts_users WHERE name IN (?, ?)", [a, b])).toEqual({ n: 2 });
      expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name IN (?, ?)", [a, b])).toEqual({ n: 0 });
      return "done";
    });
    expect(await addTwo.immediate("gina", "hank")).toBe("done");
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name IN ('gina', 'hank')")).toEqual({ n: 2 });

    const failing = conn.transactionAsync(async (tx) => {
      await tx.run("INSERT INTO ts_users (name) VALUES ('ivy')");
      throw new Error("changed my mind");
    });
    await expect(failing.deferred()).rejects.toThrow("changed my mind");
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name = 'ivy'")).toEqual({ n: 0 });
    // A constraint error inside rolls back too.
    const conflicting = conn.transactionAsync(async (tx) => {
      await tx.run("INSERT INTO ts_users (name) VALUES ('jack')");
      await tx.run("INSERT INTO ts_users (name) VALUES ('alice')");
    });
    const error = await conflicting().catch((e: unknown) => e);
    expect((error as DatabaseError).code).toBe("SQLITE_CONSTRAINT");
    expect(await conn.get("SELECT count(*) AS n FROM ts_users WHERE name = 'jack'")).toEqual({ n: 0 });
  });

  it("addresses another database by path, and close() ends the stream", async () => {
    const other = connect({ url: `${server.url}/other` });
    await other.exec("CREATE TABLE IF NOT EXISTS ts_only_other (x)");
    expect(await other.get("SELECT count(*) AS n FROM sqlite_master WHERE name = 'ts_only_other'")).toEqual({ n: 1 });
    expect(await conn.get("SELECT count(*) AS n FROM sqlite_master WHERE name = 'ts_only_other'")).toEqual({ n: 0 });
    expect(server.server.store.count("other")).toBe(1);
    await other.close();
    await waitFor(() => server.server.store.count("other") === 0);
  });
});

/** Commands the worker understands; it answers `{id, ok, value}` or `{id, ok: false, error}`. */
type RemoteOp =
  | { op: "open"; url: string }
  | { op: "exec"; db: number; sql: string }
  | { op: "run" | "get" | "all" | "iterate"; db: number; sql: string; params?: unknown; mode?: "raw" | "pluck" | "safe" }
  | { op: "columns"; db: number; sql: string }
  | { op: "inTransaction"; db: number }
  | { op: "transaction"; db: number; statements: string[]; fail: boolean }
  | { op: "close"; db: number };

interface RemoteError {
  name: string;
  message: string;
  code: unknown;
}

/**
 * The `libsql` package blocks its calling thread on network I/O (`run()`, `get()`, `exec()` are synchronous), so
 * it runs in a worker: the server on this thread stays free to answer it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.libsqlPath);
const dbs = new Map();
let nextId = 1;
function prepare(m) {
  const stmt = dbs.get(m.db).prepare(m.sql);
  if (m.mode === "raw") stmt.raw(true);
  if (m.mode === "pluck") stmt.pluck(true);
  if (m.mode === "safe") stmt.safeIntegers(true);
  return stmt;
}
function call(stmt, method, params) {
  return params === undefined ? stmt[method]() : stmt[method](params);
}
function plain(row) {
  if (row === null || typeof row !== "object" || Array.isArray(row)) return row;
  const { _metadata, ...rest } = row;
  return rest;
}
const ops = {
  open: (m) => { const id = nextId++; dbs.set(id, new Database(m.url)); return id; },
  exec: (m) => { dbs.get(m.db).exec(m.sql); return null; },
  run: (m) => { const r = call(prepare(m), "run", m.params); return { changes: r.changes, lastInsertRowid: r.lastInsertRowid }; },
  get: (m) => plain(call(prepare(m), "get", m.params)),
  all: (m) => call(prepare(m), "all", m.params).map(plain),
  iterate: (m) => { const out = []; for (const row of call(prepare(m), "iterate", m.params)) out.push(plain(row)); return out; },
  columns: (m) => prepare(m).columns().map((c) => c.name),
  inTransaction: (m) => dbs.get(m.db).inTransaction,
  transaction: (m) => {
    const db = dbs.get(m.db);
    return db.transaction(() => {
      // Statements are prepared inside the transaction: see the note in the test.
      for (const sql of m.statements) db.prepare(sql).run();
      const inside = db.inTransaction;
      if (m.fail) throw new Error("rolled back on purpose");
      return inside;
    })();
  },
  close: (m) => { dbs.get(m.db).close(); dbs.delete(m.db); return null; },
};
parentPort.on("message", ({ id, message }) => {
  try {
    parentPort.postMessage({ id, ok: true, value: ops[message.op](message) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: { name: error.name, message: String(error.message), code: error.code } });
  }
});
`;

class RemoteLibsql {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: any): void; reject(error: unknown): void }>();
  #next = 1;

  constructor() {
    const libsqlPath = createRequire(import.meta.url).resolve("libsql");
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { libsqlPath } });
    this.#worker.on("message", ({ id, ok, value, error }: { id: number; ok: boolean; value: unknown; error: RemoteError }) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (ok) pending?.resolve(value);
      else pending?.reject(Object.assign(new Error(error.message), { remote: error }));
    });
    this.#worker.on("error", (error) => {
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
  }

  call(message: RemoteOp): Promise<any> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, message });
    });
  }

  async failure(message: RemoteOp): Promise<RemoteError> {
    try {
      await this.call(message);
    } catch (error) {
      return (error as { remote: RemoteError }).remote;
    }
    throw new Error(`expected ${message.op} to fail`);
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

describe("libsql (remote mode, new Database('http://…'))", () => {
  let remote: RemoteLibsql;
  let db: number;

  beforeAll(async () => {
    remote = new RemoteLibsql();
    db = await remote.call({ op: "open", url: server.url });
    await remote.call({ op: "exec", db, sql: "DROP TABLE IF EXISTS rs_items" });
    await remote.call({ op: "exec", db, sql: "CREATE TABLE rs_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, price REAL, data BLOB)" });
  });
  afterAll(async () => {
    if (remote !== undefined) {
      if (db !== undefined) await remote.call({ op: "close", db });
      await remote.terminate();
    }
  });

  it("runs prepared statements: run(), get(), all(), iterate(), columns()", async () => {
    const first = await remote.call({ op: "run", db, sql: "INSERT INTO rs_items (name, price, data) VALUES (?, ?, ?)", params: ["apple", 1.25, new Uint8Array([9, 8, 7])] });
    expect(first).toEqual({ changes: 1, lastInsertRowid: 1 });
    // libsql 0.5.29 remote sends no named_args for an object of named parameters (client side): bind by position.
    const second = await remote.call({ op: "run", db, sql: "INSERT INTO rs_items (name, price) VALUES (:name, :price)", params: ["pear", 2] });
    expect(second).toEqual({ changes: 1, lastInsertRowid: 2 });
    await remote.call({ op: "run", db, sql: "INSERT INTO rs_items (name) VALUES (?)", params: ["plum"] });

    const apple = await remote.call({ op: "get", db, sql: "SELECT id, name, price, data FROM rs_items WHERE name = ?", params: ["apple"] });
    expect(apple).toMatchObject({ id: 1, name: "apple", price: 1.25 });
    expect(new Uint8Array(apple.data)).toEqual(new Uint8Array([9, 8, 7]));
    expect(await remote.call({ op: "get", db, sql: "SELECT * FROM rs_items WHERE name = ?", params: ["none"] })).toBeUndefined();

    const all = await remote.call({ op: "all", db, sql: "SELECT name, price FROM rs_items ORDER BY id" });
    expect(all).toEqual([
      { name: "apple", price: 1.25 },
      { name: "pear", price: 2 },
      { name: "plum", price: null },
    ]);
    const iterated = await remote.call({ op: "iterate", db, sql: "SELECT name FROM rs_items WHERE price IS NOT NULL ORDER BY name DESC" });
    expect(iterated).toEqual([{ name: "pear" }, { name: "apple" }]);
    expect(await remote.call({ op: "all", db, sql: "SELECT name FROM rs_items ORDER BY id", mode: "pluck" })).toEqual(["apple", "pear", "plum"]);
    expect(await remote.call({ op: "columns", db, sql: "SELECT id, name AS label FROM rs_items" })).toEqual(["id", "label"]);
    const updated = await remote.call({ op: "run", db, sql: "UPDATE rs_items SET price = price * 2 WHERE price IS NOT NULL" });
    expect(updated.changes).toBe(2);
    expect(await remote.call({ op: "get", db, sql: "SELECT sum(price) AS total FROM rs_items" })).toEqual({ total: 6.5 });
  });

  it("returns every value type, and exact 64-bit integers with safeIntegers", async () => {
    const row = await remote.call({
      op: "get",
      db,
      sql: "SELECT ? AS i, ? AS f, ? AS t, ? AS n, x'00ff' AS b, typeof(?) AS tn, typeof(?) AS tb, 42 AS lit",
      params: [42, 0.5, "héllo 🌍", null, 7, 7n],
    });
    // This client sends every JS number as a float (so it is bound as REAL) and a bigint as an integer.
    expect(row).toMatchObject({ i: 42, f: 0.5, t: "héllo 🌍", n: null, tn: "real", tb: "integer", lit: 42 });
    expect(new Uint8Array(row.b)).toEqual(new Uint8Array([0, 255]));
    const exact = await remote.call({ op: "get", db, sql: "SELECT 9223372036854775807 AS max, -9223372036854775808 AS min", mode: "safe" });
    expect(exact).toEqual({ max: 9223372036854775807n, min: -9223372036854775808n });
  });

  it("fetches 5000 rows", async () => {
    const rows = await remote.call({
      op: "all",
      db,
      sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x FROM c",
      mode: "pluck",
    });
    expect(rows).toHaveLength(5000);
    expect(rows[0]).toBe(1);
    expect(rows[4999]).toBe(5000);
  });

  it("exec() runs several statements", async () => {
    await remote.call({
      op: "exec",
      db,
      sql: "CREATE TABLE IF NOT EXISTS rs_log (msg TEXT); INSERT INTO rs_log VALUES ('one'); INSERT INTO rs_log VALUES ('two');",
    });
    expect(await remote.call({ op: "all", db, sql: "SELECT msg FROM rs_log ORDER BY msg", mode: "pluck" })).toEqual(["one", "two"]);
  });

  it("raises errors with the server's message, and keeps working", async () => {
    const duplicate = await remote.failure({ op: "run", db, sql: "INSERT INTO rs_items (name) VALUES ('apple')" });
    expect(duplicate.message).toMatch(/UNIQUE constraint failed: rs_items.name/);
    expect(duplicate.message).toMatch(/SQLITE_CONSTRAINT/);
    const missing = await remote.failure({ op: "all", db, sql: "SELECT * FROM rs_missing" });
    expect(missing.message).toMatch(/no such table: rs_missing/);
    expect(await remote.call({ op: "get", db, sql: "SELECT count(*) AS n FROM rs_items" })).toEqual({ n: 3 });
  });

  it("transaction() commits, and rolls back when the function throws", async () => {
    // libsql 0.5.29 remote quirk (client side): a statement prepared *before* BEGIN sends `close` after it runs,
    // which ends the stream and so the transaction. Statements prepared inside the transaction share its stream.
    const inside = await remote.call({
      op: "transaction",
      db,
      statements: ["INSERT INTO rs_items (name) VALUES ('tx-kiwi')", "INSERT INTO rs_items (name) VALUES ('tx-lime')"],
      fail: false,
    });
    expect(inside).toBe(true);
    expect(await remote.call({ op: "inTransaction", db })).toBe(false);
    expect(await remote.call({ op: "all", db, sql: "SELECT name FROM rs_items WHERE name LIKE 'tx-%' ORDER BY name", mode: "pluck" })).toEqual([
      "tx-kiwi",
      "tx-lime",
    ]);
    const failed = await remote.failure({ op: "transaction", db, statements: ["INSERT INTO rs_items (name) VALUES ('tx-mango')"], fail: true });
    expect(failed.message).toBe("rolled back on purpose");
    expect(await remote.call({ op: "inTransaction", db })).toBe(false);
    expect(await remote.call({ op: "get", db, sql: "SELECT count(*) AS n FROM rs_items WHERE name = 'tx-mango'" })).toEqual({ n: 0 });
  });

  it("an explicit BEGIN is invisible to another connection until COMMIT", async () => {
    const other = await remote.call({ op: "open", url: server.url });
    try {
      await remote.call({ op: "exec", db, sql: "BEGIN IMMEDIATE" });
      expect(await remote.call({ op: "inTransaction", db })).toBe(true);
      await remote.call({ op: "run", db, sql: "INSERT INTO rs_items (name) VALUES ('pending')" });
      expect(await remote.call({ op: "get", db, sql: "SELECT count(*) AS n FROM rs_items WHERE name = 'pending'" })).toEqual({ n: 1 });
      expect(await remote.call({ op: "get", db: other, sql: "SELECT count(*) AS n FROM rs_items WHERE name = 'pending'" })).toEqual({ n: 0 });
      await remote.call({ op: "exec", db, sql: "COMMIT" });
      expect(await remote.call({ op: "inTransaction", db })).toBe(false);
      expect(await remote.call({ op: "get", db: other, sql: "SELECT count(*) AS n FROM rs_items WHERE name = 'pending'" })).toEqual({ n: 1 });
    } finally {
      await remote.call({ op: "close", db: other });
    }
  });

  it("addresses another database by path", async () => {
    const other = await remote.call({ op: "open", url: `${server.url}/other` });
    try {
      await remote.call({ op: "exec", db: other, sql: "CREATE TABLE IF NOT EXISTS rs_only_other (x)" });
      expect(await remote.call({ op: "get", db: other, sql: "SELECT count(*) AS n FROM sqlite_master WHERE name = 'rs_only_other'" })).toEqual({ n: 1 });
      expect(await remote.call({ op: "get", db, sql: "SELECT count(*) AS n FROM sqlite_master WHERE name = 'rs_only_other'" })).toEqual({ n: 0 });
    } finally {
      await remote.call({ op: "close", db: other });
    }
  });
});
