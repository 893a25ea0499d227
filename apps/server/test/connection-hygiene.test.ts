import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

// One connection per database, so every stream is certain to get the connection the previous one used.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { maxConnections: 1 } });
});
afterAll(async () => {
  await server?.close();
});

describe("a pooled connection carries nothing from one client to the next", () => {
  it("temp tables and views stay with their stream", async () => {
    const a = createClient({ url: server.url });
    const b = createClient({ url: server.wsUrl });
    try {
      const tx = await a.transaction("write");
      await tx.execute("CREATE TEMP TABLE secret (x)");
      await tx.execute("INSERT INTO temp.secret VALUES ('from client a')");
      await tx.execute("CREATE TEMP VIEW peek AS SELECT 1");
      await tx.commit();
      // Not even the same client's next stream sees them.
      expect(String(await a.execute("SELECT * FROM temp.secret").catch((e: unknown) => e))).toMatch(/no such table/);
      const error = await b.execute("SELECT * FROM temp.secret").catch((e: unknown) => e);
      expect(String(error)).toMatch(/no such table/);
      const objects = await b.execute("SELECT count(*) AS n FROM temp.sqlite_master");
      expect(objects.rows[0]!.n).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it("PRAGMA settings stay with their stream, and migrate() leaves foreign keys as they were", async () => {
    const a = createClient({ url: server.url });
    const b = createClient({ url: server.url });
    try {
      const base = (await b.execute("PRAGMA foreign_keys")).rows[0]![0];
      await a.execute(`PRAGMA foreign_keys = ${base === 1 ? "OFF" : "ON"}`);
      await a.execute("PRAGMA case_sensitive_like = 1");
      expect((await b.execute("PRAGMA foreign_keys")).rows[0]![0]).toBe(base);
      expect((await b.execute("SELECT 'A' LIKE 'a' AS ci")).rows[0]!.ci).toBe(1);
      await a.migrate(["CREATE TABLE IF NOT EXISTS m (x)"]);
      expect((await b.execute("PRAGMA foreign_keys")).rows[0]![0]).toBe(base);
    } finally {
      a.close();
      b.close();
    }
  });

  it("an interactive transaction's temp table lives until its end, then is gone", async () => {
    const a = createClient({ url: server.url });
    try {
      const tx = await a.transaction("write");
      await tx.execute("CREATE TEMP TABLE scratch (x)");
      await tx.execute("INSERT INTO scratch VALUES (1)");
      expect((await tx.execute("SELECT count(*) AS n FROM scratch")).rows[0]!.n).toBe(1);
      await tx.commit();
      const error = await a.execute("SELECT * FROM scratch").catch((e: unknown) => e);
      expect(String(error)).toMatch(/no such table/);
    } finally {
      a.close();
    }
  });
});
