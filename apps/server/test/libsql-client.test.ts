import { createClient, LibsqlError, type Client } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

for (const scheme of ["http", "ws"] as const) {
  describe(`@libsql/client over ${scheme}://`, () => {
    let client: Client;
    const table = `t_${scheme}`;
    const url = (path = "") => (scheme === "http" ? server.url : server.wsUrl) + path;

    beforeAll(async () => {
      client = createClient({ url: url() });
      await client.execute(`DROP TABLE IF EXISTS ${table}`);
      await client.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, data BLOB)`);
    });
    afterAll(() => client?.close());

    it("executes a query and returns columns, types and rows", async () => {
      const rs = await client.execute(`SELECT 1 AS one, 'x' AS two`);
      expect(rs.columns).toEqual(["one", "two"]);
      expect(rs.rows).toHaveLength(1);
      expect(rs.rows[0]!.one).toBe(1);
      expect(rs.rows[0]!.two).toBe("x");
      expect(rs.rowsAffected).toBe(0);
    });

    it("round-trips every value type", async () => {
      const blob = new Uint8Array([0, 1, 2, 253, 254, 255]);
      const rs = await client.execute({
        sql: "SELECT ? AS i, ? AS f, ? AS t, ? AS b, ? AS n, ? AS bool",
        args: [42n, 1.5, "héllo 🌍", blob, null, true],
      });
      const row = rs.rows[0]!;
      expect(row.i).toBe(42);
      expect(row.f).toBe(1.5);
      expect(row.t).toBe("héllo 🌍");
      expect(new Uint8Array(row.b as ArrayBuffer)).toEqual(blob);
      expect(row.n).toBeNull();
      expect(row.bool).toBe(1);
      // A JS number is sent as a float, even when integral.
      const float = await client.execute({ sql: "SELECT typeof(?) AS t", args: [1] });
      expect(float.rows[0]!.t).toBe("real");
      // Beyond 2^53 the default intMode "number" refuses to lose precision.
      const bigint = createClient({ url: url(), intMode: "bigint" });
      try {
        const exact = await bigint.execute({ sql: "SELECT ? AS big, 9223372036854775807 AS max, -9223372036854775808 AS min", args: [9007199254740993n] });
        expect(exact.rows[0]!.big).toBe(9007199254740993n);
        expect(exact.rows[0]!.max).toBe(9223372036854775807n);
        expect(exact.rows[0]!.min).toBe(-9223372036854775808n);
      } finally {
        bigint.close();
      }
      const strings = createClient({ url: url(), intMode: "string" });
      try {
        const text = await strings.execute("SELECT 9223372036854775807 AS max");
        expect(text.rows[0]!.max).toBe("9223372036854775807");
      } finally {
        strings.close();
      }
    });

    it("binds positional, ?NNN and named arguments", async () => {
      const positional = await client.execute({ sql: "SELECT ? + ?", args: [1, 2] });
      expect(positional.rows[0]![0]).toBe(3);
      const numbered = await client.execute({ sql: "SELECT ?3, ?1", args: ["a", "b", "c"] });
      expect(Array.from(numbered.rows[0]!)).toEqual(["c", "a"]);
      const named = await client.execute({ sql: "SELECT :a || @b || $c AS s", args: { a: "x", b: "y", c: "z" } });
      expect(named.rows[0]!.s).toBe("xyz");
      const prefixed = await client.execute({ sql: "SELECT :a AS s", args: { ":a": "p" } });
      expect(prefixed.rows[0]!.s).toBe("p");
      await expect(client.execute({ sql: "SELECT ?, ?", args: [1] })).rejects.toMatchObject({ code: "ARGS_INVALID" });
    });

    it("reports rows affected and last insert rowid", async () => {
      const insert = await client.execute({ sql: `INSERT INTO ${table} (name, score) VALUES (?, ?)`, args: ["alice", 1.25] });
      expect(insert.rowsAffected).toBe(1);
      expect(insert.lastInsertRowid).toBeGreaterThan(0n);
      const update = await client.execute(`UPDATE ${table} SET score = score + 1`);
      expect(update.rowsAffected).toBe(1);
      expect(update.lastInsertRowid).toBeUndefined();
      const select = await client.execute(`SELECT name, score FROM ${table}`);
      expect(select.rows.map((r) => [r.name, r.score])).toEqual([["alice", 2.25]]);
      expect(select.columnTypes).toEqual(["TEXT", "REAL"]);
    });

    it("maps constraint errors to SQLITE_CONSTRAINT", async () => {
      await client.execute({ sql: `INSERT OR IGNORE INTO ${table} (name) VALUES ('dup')` });
      const error = await client.execute({ sql: `INSERT INTO ${table} (name) VALUES ('dup')` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LibsqlError);
      expect((error as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
      expect((error as LibsqlError).message).toMatch(/UNIQUE/);
      const syntax = await client.execute("SELEC 1").catch((e: unknown) => e);
      expect((syntax as LibsqlError).code).toBe("SQLITE_ERROR");
    });

    it("runs batches in write, read and deferred mode", async () => {
      const results = await client.batch(
        [
          { sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["b1"] },
          { sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["b2"] },
          `SELECT count(*) AS n FROM ${table} WHERE name LIKE 'b%'`,
        ],
        "write",
      );
      expect(results[2]!.rows[0]!.n).toBe(2);
      const read = await client.batch([`SELECT count(*) AS n FROM ${table}`], "read");
      expect(read[0]!.rows[0]!.n).toBeGreaterThan(0);
      const deferred = await client.batch([`SELECT 1`], "deferred");
      expect(deferred).toHaveLength(1);
    });

    it("a read batch really is read-only", async () => {
      const error = await client.batch([`INSERT INTO ${table} (name) VALUES ('ro')`], "read").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LibsqlError);
      const count = await client.execute(`SELECT count(*) AS n FROM ${table} WHERE name = 'ro'`);
      expect(count.rows[0]!.n).toBe(0);
      // and the stream's next write works again
      await client.execute(`INSERT INTO ${table} (name) VALUES ('after-ro')`);
    });

    it("rolls a failing batch back as a whole", async () => {
      const before = await client.execute(`SELECT count(*) AS n FROM ${table}`);
      const error = await client
        .batch(
          [
            { sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["c1"] },
            { sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["c1"] },
          ],
          "write",
        )
        .catch((e: unknown) => e);
      expect((error as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
      const after = await client.execute(`SELECT count(*) AS n FROM ${table}`);
      expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    });

    it("commits an interactive transaction across requests", async () => {
      const tx = await client.transaction("write");
      await tx.execute({ sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["tx1"] });
      const inside = await tx.execute(`SELECT count(*) AS n FROM ${table} WHERE name = 'tx1'`);
      expect(inside.rows[0]!.n).toBe(1);
      // A second client does not see the uncommitted row.
      const other = createClient({ url: url() });
      try {
        const outside = await other.execute(`SELECT count(*) AS n FROM ${table} WHERE name = 'tx1'`);
        expect(outside.rows[0]!.n).toBe(0);
        await tx.commit();
        const committed = await other.execute(`SELECT count(*) AS n FROM ${table} WHERE name = 'tx1'`);
        expect(committed.rows[0]!.n).toBe(1);
      } finally {
        other.close();
      }
    });

    it("rolls back an interactive transaction, and close() rolls back too", async () => {
      const tx = await client.transaction("write");
      await tx.execute({ sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["tx2"] });
      await tx.rollback();
      const tx2 = await client.transaction("deferred");
      await tx2.execute({ sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["tx3"] });
      tx2.close();
      // close() sends its request in the background: wait for the stream to end.
      await waitFor(async () => server.server.store.count() === 0);
      const rs = await client.execute(`SELECT count(*) AS n FROM ${table} WHERE name IN ('tx2', 'tx3')`);
      expect(rs.rows[0]!.n).toBe(0);
    });

    it("runs executeMultiple and migrate", async () => {
      await client.executeMultiple(`
        CREATE TABLE IF NOT EXISTS ${table}_m (x);
        INSERT INTO ${table}_m VALUES (1);
        INSERT INTO ${table}_m VALUES (2);
      `);
      const rs = await client.execute(`SELECT sum(x) AS s FROM ${table}_m`);
      expect(rs.rows[0]!.s).toBe(3);
      await client.migrate([`CREATE TABLE ${table}_p (id INTEGER PRIMARY KEY)`, `CREATE TABLE ${table}_c (p REFERENCES ${table}_p(id))`]);
      const fk = await client.execute("PRAGMA foreign_keys");
      expect(fk.rows[0]![0]).toBeDefined();
      const tables = await client.execute(`SELECT name FROM sqlite_master WHERE name IN ('${table}_p', '${table}_c') ORDER BY name`);
      expect(tables.rows.map((r) => r.name)).toEqual([`${table}_c`, `${table}_p`]);
    });

    it("addresses a database other than default", async () => {
      const other = createClient({ url: url("/other/") });
      try {
        await other.execute("CREATE TABLE IF NOT EXISTS only_in_other (x)");
        const rs = await other.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'only_in_other'");
        expect(rs.rows[0]!.n).toBe(1);
        const there = await client.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'only_in_other'");
        expect(there.rows[0]!.n).toBe(0);
      } finally {
        other.close();
      }
    });

    it("refuses an unknown database with DATABASE_NOT_FOUND", async () => {
      const missing = createClient({ url: url("/nope/") });
      try {
        const error = await missing.execute("SELECT 1").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LibsqlError);
        if (scheme === "http") expect((error as LibsqlError).code).toBe("DATABASE_NOT_FOUND");
      } finally {
        missing.close();
      }
    });
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
