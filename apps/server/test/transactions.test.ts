import { createClient, LibsqlError, type Client } from "@libsql/client";
import { WebSocket, WsClient } from "@libsql/hrana-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

/**
 * Interactive transactions through @libsql/client: one stream = one pinned connection, writers queue, and every way
 * a stream can end (expiry, admin kill, a vanished WebSocket) rolls its transaction back.
 */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const setup = createClient({ url: server.url });
  try {
    await setup.execute("CREATE TABLE IF NOT EXISTS tx_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, owner TEXT)");
  } finally {
    setup.close();
  }
});
afterAll(async () => {
  await server?.close();
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function count(client: Client, where: string, table = "tx_items"): Promise<number> {
  const rs = await client.execute(`SELECT count(*) AS n FROM ${table} WHERE ${where}`);
  return Number(rs.rows[0]!.n);
}

function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => error,
  );
}

for (const scheme of ["http", "ws"] as const) {
  describe(`interactive transactions with @libsql/client over ${scheme}://`, () => {
    const clients: Client[] = [];
    const url = (s: TestServer = server) => (scheme === "http" ? s.url : s.wsUrl);
    const client = (s: TestServer = server): Client => {
      const c = createClient({ url: url(s) });
      clients.push(c);
      return c;
    };
    afterAll(() => {
      for (const c of clients) c.close();
    });

    it("pins one connection: temp tables and last_insert_rowid() carry across requests, and others see nothing", async () => {
      const a = client();
      const b = client();
      const scratch = `tx_scratch_${scheme}`;
      const tx = await a.transaction("write");
      try {
        await tx.execute(`CREATE TEMP TABLE ${scratch} (x)`);
        await tx.execute(`INSERT INTO ${scratch} VALUES (1), (2)`);
        const inserted = await tx.execute({ sql: "INSERT INTO tx_items (name, owner) VALUES (?, ?)", args: [`pinned-${scheme}`, "a"] });
        // Connection state from the previous request: only true if it ran on the same SQLite connection.
        const state = await tx.execute(`SELECT last_insert_rowid() AS id, (SELECT count(*) FROM temp.${scratch}) AS scratch`);
        expect(state.rows[0]!.id).toBe(Number(inserted.lastInsertRowid));
        expect(state.rows[0]!.scratch).toBe(2);
        expect(await count(b, `name = 'pinned-${scheme}'`)).toBe(0);
        const elsewhere = await errorOf(b.execute(`SELECT count(*) FROM temp.${scratch}`));
        expect((elsewhere as LibsqlError).message).toMatch(/no such table/);
        // Temp tables outlive the stream on a pooled connection: do not leave one behind.
        await tx.execute(`DROP TABLE temp.${scratch}`);
        await tx.commit();
      } finally {
        tx.close();
      }
      expect(await count(b, `name = 'pinned-${scheme}'`)).toBe(1);
    });

    it("serializes two write transactions: the second waits for the first to commit", async () => {
      const a = client();
      const b = client();
      const txA = await a.transaction("write");
      const txB = await b.transaction("write");
      try {
        await txA.execute({ sql: "INSERT INTO tx_items (name, owner) VALUES (?, 'a')", args: [`first-${scheme}`] });
        const events: string[] = [];
        // B's first statement carries its BEGIN IMMEDIATE, which must queue behind A's write lock.
        const bWrites = txB
          .execute({ sql: "SELECT count(*) AS n FROM tx_items WHERE name = ?", args: [`first-${scheme}`] })
          .then((rs) => {
            events.push("B began");
            return rs;
          });
        // Evidence that B's request is inside the server, waiting, rather than failed or not sent yet.
        await waitFor(() => server.server.store.list().some((s) => s.busy));
        expect(events).toEqual([]);
        events.push("A commits");
        await txA.commit();
        const seen = await bWrites;
        expect(events).toEqual(["A commits", "B began"]);
        // B started after A's commit, so it sees A's row.
        expect(seen.rows[0]!.n).toBe(1);
        await txB.execute({ sql: "INSERT INTO tx_items (name, owner) VALUES (?, 'b')", args: [`second-${scheme}`] });
        await txB.commit();
      } finally {
        txA.close();
        txB.close();
      }
      expect(await count(a, `name IN ('first-${scheme}', 'second-${scheme}')`)).toBe(2);
    }, 15_000);

    it("a stream killed by the admin is rolled back and its next request fails with STREAM_KILLED", async () => {
      const a = client();
      const before = new Set(server.server.store.list().map((s) => s.id));
      const tx = await a.transaction("write");
      try {
        await tx.execute({ sql: "INSERT INTO tx_items (name) VALUES (?)", args: [`killed-${scheme}`] });
        const mine = server.server.store.list().filter((s) => !before.has(s.id) && s.inTransaction);
        expect(mine).toHaveLength(1);
        expect(await server.server.store.kill(mine[0]!.id)).toBe("killed");
        const error = await errorOf(tx.execute("SELECT 1"));
        expect(error).toBeInstanceOf(LibsqlError);
        expect((error as LibsqlError).code).toBe("STREAM_KILLED");
      } finally {
        tx.close();
      }
      const b = client();
      expect(await count(b, `name = 'killed-${scheme}'`)).toBe(0);
      // The write lock went with it.
      await b.batch([{ sql: "INSERT INTO tx_items (name) VALUES (?)", args: [`after-kill-${scheme}`] }], "write");
      expect(await count(b, `name = 'after-kill-${scheme}'`)).toBe(1);
    });

    it("migrate() switches foreign keys off around the migration and back on after it", async () => {
      const a = client();
      const parent = `fk_parent_${scheme}`;
      const child = `fk_child_${scheme}`;
      await a.migrate([
        `CREATE TABLE ${parent} (id INTEGER PRIMARY KEY, label TEXT)`,
        `CREATE TABLE ${child} (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES ${parent}(id))`,
        `INSERT INTO ${parent} VALUES (1, 'one')`,
        `INSERT INTO ${child} VALUES (10, 1)`,
      ]);
      // Foreign keys are enforced for ordinary statements…
      expect((await a.execute("PRAGMA foreign_keys")).rows[0]![0]).toBe(1);
      const orphan = await errorOf(a.execute(`INSERT INTO ${child} VALUES (11, 99)`));
      expect((orphan as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
      expect((orphan as LibsqlError).message).toMatch(/FOREIGN KEY constraint failed/);
      // …so this table rebuild (DROP of a referenced table) only works because migrate() turns them off.
      await a.migrate([
        `CREATE TABLE ${parent}_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL DEFAULT '')`,
        `INSERT INTO ${parent}_new SELECT id, coalesce(label, '') FROM ${parent}`,
        `DROP TABLE ${parent}`,
        `ALTER TABLE ${parent}_new RENAME TO ${parent}`,
      ]);
      const rows = await a.execute(`SELECT c.id, p.label FROM ${child} c JOIN ${parent} p ON p.id = c.parent_id`);
      expect(rows.rows.map((r) => [r.id, r.label])).toEqual([[10, "one"]]);
      const fkCheck = await a.execute(`PRAGMA foreign_key_check(${child})`);
      expect(fkCheck.rows).toEqual([]);
      // Enforcement is back on afterwards, on whatever connection serves the next request.
      for (let i = 0; i < 3; i++) {
        const again = await errorOf(a.execute(`INSERT INTO ${child} VALUES (${20 + i}, 99)`));
        expect((again as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
      }
      // A failing migration leaves nothing behind.
      const failed = await errorOf(a.migrate([`CREATE TABLE ${parent}_half (x)`, `INSERT INTO no_such_table VALUES (1)`]));
      expect(failed).toBeInstanceOf(LibsqlError);
      expect(await count(a, `name = '${parent}_half'`, "sqlite_master")).toBe(0);
      expect((await a.execute("PRAGMA foreign_keys")).rows[0]![0]).toBe(1);
    });

    it("a WebSocket or HTTP client that goes away mid-transaction leaves no open transaction", async () => {
      const a = createClient({ url: url() });
      const tx = await a.transaction("write");
      await tx.execute({ sql: "INSERT INTO tx_items (name) VALUES (?)", args: [`abandoned-${scheme}`] });
      expect(server.server.store.list().filter((s) => s.inTransaction)).toHaveLength(1);
      // close() drops the socket (ws) or sends `close` on the stream (http) without COMMIT.
      a.close();
      await waitFor(() => server.server.store.count() === 0);
      const b = client();
      // Another writer gets the lock (a held lock would make this wait and then fail with SQLITE_BUSY).
      await b.batch([{ sql: "INSERT INTO tx_items (name) VALUES (?)", args: [`next-writer-${scheme}`] }], "write");
      expect(await count(b, `name = 'abandoned-${scheme}'`)).toBe(0);
      expect(await count(b, `name = 'next-writer-${scheme}'`)).toBe(1);
    }, 15_000);
  });
}

describe("a WebSocket that disappears without a close frame", () => {
  it("rolls back its streams' transactions and frees their connections", async () => {
    const socket = new WebSocket(server.wsUrl, ["hrana3", "hrana2"]);
    const hrana = new WsClient(socket, undefined);
    await hrana.getVersion();
    const stream = hrana.openStream();
    await stream.run("BEGIN IMMEDIATE");
    await stream.run("INSERT INTO tx_items (name) VALUES ('terminated')");
    expect(server.server.store.list().filter((s) => s.inTransaction)).toHaveLength(1);
    // Destroys the TCP connection: no close frame, no close_stream.
    socket.terminate();
    await waitFor(() => server.server.store.count() === 0);
    hrana.close();
    const other = createClient({ url: server.url });
    try {
      await other.batch(["INSERT INTO tx_items (name) VALUES ('after-terminate')"], "write");
      expect(await count(other, "name = 'terminated'")).toBe(0);
      expect(await count(other, "name = 'after-terminate'")).toBe(1);
    } finally {
      other.close();
    }
  }, 15_000);
});

describe("an idle HTTP stream expires (idleTimeoutMs: 1000)", () => {
  let idle: TestServer;

  beforeAll(async () => {
    idle = await startTestServer({ limits: { idleTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await idle?.close();
  });

  it("rolls back the transaction, and the next request fails with STREAM_EXPIRED", async () => {
    const a = createClient({ url: idle.url });
    const b = createClient({ url: idle.url });
    try {
      await a.execute("CREATE TABLE IF NOT EXISTS exp_items (name TEXT)");
      const tx = await a.transaction("write");
      await tx.execute("INSERT INTO exp_items VALUES ('expiring')");
      expect(idle.server.store.list().filter((s) => s.inTransaction)).toHaveLength(1);
      // The reaper ends the idle stream (rolling back) within a second or two.
      await waitFor(() => idle.server.store.count() === 0);
      expect(await count(b, "name = 'expiring'", "exp_items")).toBe(0);
      const error = await errorOf(tx.execute("SELECT 1"));
      expect(error).toBeInstanceOf(LibsqlError);
      expect((error as LibsqlError).code).toBe("STREAM_EXPIRED");
      tx.close();
      // The lock is free.
      await b.batch(["INSERT INTO exp_items VALUES ('after')"], "write");
      expect(await count(b, "name = 'after'", "exp_items")).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  }, 15_000);

  it("a stream that keeps talking does not expire", async () => {
    const a = createClient({ url: idle.url });
    try {
      const tx = await a.transaction("write");
      await tx.execute("INSERT INTO exp_items VALUES ('kept')");
      // Several idle periods' worth of requests, each well within the timeout.
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.execute("SELECT 1");
      }
      await tx.commit();
      expect(await count(a, "name = 'kept'", "exp_items")).toBe(1);
    } finally {
      a.close();
    }
  }, 15_000);
});

describe("read transactions (one pooled connection, so reuse is certain)", () => {
  let single: TestServer;

  beforeAll(async () => {
    single = await startTestServer({ limits: { maxConnections: 1 } });
    const setup = createClient({ url: single.url });
    try {
      await setup.execute("CREATE TABLE ro_items (name TEXT)");
    } finally {
      setup.close();
    }
  });
  afterAll(async () => {
    await single?.close();
  });

  for (const scheme of ["http", "ws"] as const) {
    it(`batch(…, "read") refuses writes and the connection writes again afterwards (${scheme})`, async () => {
      const c = createClient({ url: scheme === "http" ? single.url : single.wsUrl });
      try {
        const refused = await errorOf(c.batch([`INSERT INTO ro_items VALUES ('ro-${scheme}')`], "read"));
        expect(refused).toBeInstanceOf(LibsqlError);
        expect((refused as LibsqlError).code).toMatch(/^SQLITE_(AUTH|READONLY)$/);
        expect(await count(c, `name = 'ro-${scheme}'`, "ro_items")).toBe(0);
        const read = await c.batch(["SELECT count(*) AS n FROM ro_items"], "read");
        expect(read[0]!.rows[0]!.n).toBeGreaterThanOrEqual(0);
        await c.execute(`INSERT INTO ro_items VALUES ('rw-${scheme}')`);
        expect(await count(c, `name = 'rw-${scheme}'`, "ro_items")).toBe(1);

        const tx = await c.transaction("read");
        expect((await tx.execute("SELECT count(*) AS n FROM ro_items")).rows[0]!.n).toBeGreaterThanOrEqual(1);
        const write = await errorOf(tx.execute(`INSERT INTO ro_items VALUES ('tx-ro-${scheme}')`));
        expect((write as LibsqlError).code).toMatch(/^SQLITE_(AUTH|READONLY)$/);
        await tx.rollback();
        await c.batch([`INSERT INTO ro_items VALUES ('after-tx-${scheme}')`], "write");
        expect(await count(c, `name IN ('tx-ro-${scheme}', 'after-tx-${scheme}')`, "ro_items")).toBe(1);
      } finally {
        c.close();
      }
    });
  }
});
