import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestServer, type TestServer } from "./support.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("the admin API", () => {
  it("lists streams and kills one, rolling its transaction back", async () => {
    const tx = await post(`${server.url}/v2/pipeline`, {
      requests: [
        { type: "execute", stmt: { sql: "CREATE TABLE IF NOT EXISTS a (x)" } },
        { type: "execute", stmt: { sql: "BEGIN" } },
        { type: "execute", stmt: { sql: "INSERT INTO a VALUES (1)" } },
      ],
    });
    const listing = (await (await fetch(`${server.url}/admin/sessions?database=default`)).json()) as any;
    expect(listing.sessions).toHaveLength(1);
    const session = listing.sessions[0];
    expect(session).toMatchObject({ database: "default", busy: false, inTransaction: true });
    const none = (await (await fetch(`${server.url}/admin/sessions?database=other`)).json()) as any;
    expect(none.sessions).toHaveLength(0);

    const kill = await fetch(`${server.url}/admin/sessions/${session.id}`, { method: "DELETE" });
    expect(kill.status).toBe(200);
    const again = await fetch(`${server.url}/admin/sessions/${session.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(((await again.json()) as any).code).toBe("STREAM_NOT_FOUND");

    const late = await post(`${server.url}/v2/pipeline`, { baton: tx.json.baton, requests: [{ type: "execute", stmt: { sql: "COMMIT" } }] });
    expect(late.status).toBe(400);
    expect(late.json.code).toBe("STREAM_KILLED");
    const client = createClient({ url: server.url });
    const rows = await client.execute("SELECT count(*) AS n FROM a");
    expect(rows.rows[0]!.n).toBe(0);
    client.close();
  });

  it("serves /metrics in Prometheus' text format (no replication lines without replication)", async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^hranad_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    expect(text).not.toContain("hranad_replication");
  });

  it("reports databases and checkpoints one", async () => {
    const stats = (await (await fetch(`${server.url}/admin/databases`)).json()) as any;
    expect(stats.databases.map((d: { name: string }) => d.name).sort()).toEqual(["default", "other"]);
    const checkpoint = await fetch(`${server.url}/admin/databases/default/checkpoint`, { method: "POST" });
    expect(checkpoint.status).toBe(200);
    expect(await checkpoint.json()).toMatchObject({ busy: 0 });
    const missing = await fetch(`${server.url}/admin/databases/nope/checkpoint`, { method: "POST" });
    expect(missing.status).toBe(404);
  });
});
