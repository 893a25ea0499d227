import { createClient, type Client } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

/**
 * A migration through one client must be seen by every other client at once: the server's pooled connections
 * that loaded the old schema (by running statements on the old table) must not act on it afterwards.
 */
const CLIENTS = 10;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    databases: [
      { name: "default", mode: "create" },
      { name: "lsql", mode: "create", driver: "libsql" },
    ],
  });
});
afterAll(async () => {
  await server?.close();
});

for (const database of ["default", "lsql"] as const) {
  for (const scheme of ["http", "ws"] as const) {
    describe(`a migration seen by every client (${database} database, ${scheme}://)`, () => {
      const table = `migrated_${scheme}`;
      let clients: Client[] = [];

      beforeAll(() => {
        const base = scheme === "http" ? server.url : server.wsUrl;
        const url = database === "default" ? base : `${base}/${database}/`;
        clients = Array.from({ length: CLIENTS }, () => createClient({ url }));
      });
      afterAll(() => {
        for (const client of clients) client.close();
      });

      it("lets every client insert with the new column count right after DROP + CREATE", async () => {
        const [migrator] = clients as [Client];
        await migrator.execute(`CREATE TABLE ${table} (a)`);
        // Warm the pool: concurrent clients make the server use several connections, each of which loads the
        // one-column schema and caches the insert.
        for (let round = 0; round < 3; round += 1) {
          await Promise.all(
            clients.map((client, i) => client.execute({ sql: `INSERT INTO ${table} VALUES (?)`, args: [i] })),
          );
        }
        expect((await migrator.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n).toBe(3 * CLIENTS);

        await migrator.executeMultiple(`DROP TABLE ${table}; CREATE TABLE ${table} (a, b, c)`);

        const results = await Promise.allSettled(
          clients.map((client, i) =>
            client.execute({ sql: `INSERT INTO ${table} VALUES (?, ?, ?)`, args: [i, i * 10, `c${i}`] }),
          ),
        );
        const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
        expect(failures).toEqual([]);
        const rows = await Promise.all(clients.map((client) => client.execute(`SELECT * FROM ${table} ORDER BY a`)));
        for (const rs of rows) {
          expect(rs.columns).toEqual(["a", "b", "c"]);
          expect(rs.rows).toHaveLength(CLIENTS);
        }
      });

      it("lets every client use a column added by ALTER TABLE", async () => {
        const [migrator] = clients as [Client];
        await Promise.all(clients.map((client) => client.execute(`SELECT * FROM ${table} LIMIT 1`)));
        await migrator.execute(`ALTER TABLE ${table} ADD COLUMN d DEFAULT 0`);
        const results = await Promise.allSettled(
          clients.map((client, i) =>
            client.execute({ sql: `INSERT INTO ${table} VALUES (?, ?, ?, ?)`, args: [100 + i, 0, "", 1] }),
          ),
        );
        expect(results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []))).toEqual([]);
        const count = await migrator.execute(`SELECT count(*) AS n FROM ${table} WHERE d = 1`);
        expect(count.rows[0]!.n).toBe(CLIENTS);
      });
    });
  }
}
