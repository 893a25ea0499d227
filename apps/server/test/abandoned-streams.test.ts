/**
 * Abandoned streams (a client that opens a stream and never comes back, as any crashed or careless client does) hold
 * a session slot until they expire, but no connection: other clients are served at once.
 */
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestServer, type TestServer } from "./support.js";

let server: TestServer;

beforeAll(async () => {
  // 4 connections, and a pool wait short enough that starvation would show as POOL_TIMEOUT in this test.
  server = await startTestServer({ limits: { maxConnections: 4, idleTimeoutMs: "60s" } });
});
afterAll(async () => {
  await server?.close();
});

const execute = (sql: string) => ({ type: "execute", stmt: { sql } });

describe("abandoned streams", () => {
  it("20 streams left open without close leave the database to everyone else", async () => {
    for (let i = 0; i < 20; i++) {
      const answer = await post(`${server.url}/v2/pipeline`, { requests: [execute("SELECT 1")] });
      expect(answer.json.baton).toEqual(expect.any(String));
    }
    const sessions = (await (await fetch(`${server.url}/admin/sessions`)).json()) as { sessions: { holdsConnection: boolean }[] };
    expect(sessions.sessions).toHaveLength(20);
    expect(sessions.sessions.every((s) => !s.holdsConnection)).toBe(true);

    const client = createClient({ url: server.url });
    await client.execute("CREATE TABLE IF NOT EXISTS t (x)");
    await client.execute({ sql: "INSERT INTO t VALUES (?)", args: [1] });
    const rows = await client.execute("SELECT count(*) AS n FROM t");
    expect(rows.rows[0]?.n).toBe(1);
    // Transactions still pin: 4 concurrent write-free read transactions take the 4 connections and work.
    const transactions = await Promise.all([0, 1, 2, 3].map(() => client.transaction("read")));
    for (const tx of transactions) expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1);
    for (const tx of transactions) tx.close();
    client.close();
  });

  it("an abandoned stream still resumes with its baton, on whatever connection is free", async () => {
    const first = await post(`${server.url}/v2/pipeline`, { requests: [execute("SELECT 41 + 1")] });
    const again = await post(`${server.url}/v2/pipeline`, { baton: first.json.baton, requests: [execute("SELECT 2"), { type: "close" }] });
    expect(again.status).toBe(200);
    expect(again.json.results.map((r: { type: string }) => r.type)).toEqual(["ok", "ok"]);
  });
});
