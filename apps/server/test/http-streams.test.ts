import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTestServer, type TestServer } from "./support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ limits: { idleTimeoutMs: 1000 } });
  await post(`${server.url}/v2/pipeline`, {
    requests: [
      { type: "execute", stmt: { sql: "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v)" } },
      { type: "close" },
    ],
  });
});
afterAll(async () => {
  await server?.close();
});

const execute = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args, want_rows: true } });
const text = (value: string) => ({ type: "text", value });

describe("Hrana over HTTP: streams and batons", () => {
  it("answers the version probes and health", async () => {
    for (const path of ["/v2", "/v3", "/v3-protobuf", "/other/v2"]) {
      const response = await fetch(server.url + path);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/Hello/);
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/version`)).text()).toMatch(/^hranad \d/);
  });

  it("returns one result per request, errors inline with HTTP 200", async () => {
    const r = await post(`${server.url}/v2/pipeline`, {
      requests: [execute("SELECT 1"), execute("SELECT * FROM missing_table"), execute("SELECT 2"), { type: "close" }],
    });
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/json/);
    expect(r.json.baton).toBeNull();
    expect(r.json.results.map((x: any) => x.type)).toEqual(["ok", "error", "ok", "ok"]);
    expect(r.json.results[1].error.code).toBe("SQLITE_ERROR");
    expect(r.json.results[1].error.message).toMatch(/no such table/);
    expect(r.json.results[0].response.result.rows).toEqual([[{ type: "integer", value: "1" }]]);
  });

  it("rotates the baton on every response and refuses a replayed one", async () => {
    const first = await post(`${server.url}/v2/pipeline`, { requests: [execute("BEGIN")] });
    const baton1 = first.json.baton as string;
    expect(typeof baton1).toBe("string");
    const second = await post(`${server.url}/v2/pipeline`, { baton: baton1, requests: [execute("INSERT INTO kv VALUES ('a', 1)")] });
    const baton2 = second.json.baton as string;
    expect(baton2).not.toBe(baton1);
    const replay = await post(`${server.url}/v2/pipeline`, { baton: baton1, requests: [execute("SELECT 1")] });
    expect(replay.status).toBe(400);
    expect(replay.type).toBe("application/json");
    expect(replay.json.code).toBe("BATON_REUSED");
    // The replay did not hurt the live stream.
    const rollback = await post(`${server.url}/v2/pipeline`, { baton: baton2, requests: [execute("ROLLBACK"), { type: "close" }] });
    expect(rollback.json.results[0].type).toBe("ok");
    expect(rollback.json.baton).toBeNull();
    const after = await post(`${server.url}/v2/pipeline`, { baton: baton2, requests: [execute("SELECT 1")] });
    expect(after.status).toBe(400);
    expect(after.json.code).toMatch(/BATON_REUSED|STREAM_CLOSED/);
  });

  it("refuses forged and malformed batons without leaking anything", async () => {
    for (const baton of ["nonsense", "A".repeat(82), "", "x".repeat(10000)]) {
      const r = await post(`${server.url}/v2/pipeline`, { baton, requests: [execute("SELECT 1")] });
      expect(r.status).toBe(400);
      expect(r.json.code).toBe("BATON_INVALID");
    }
  });

  it("refuses a baton presented for another database without burning it", async () => {
    const open = await post(`${server.url}/v2/pipeline`, { requests: [execute("SELECT 1")] });
    const baton = open.json.baton as string;
    const elsewhere = await post(`${server.url}/other/v2/pipeline`, { baton, requests: [execute("SELECT 1")] });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json.code).toBe("BATON_DATABASE_MISMATCH");
    const owner = await post(`${server.url}/v2/pipeline`, { baton, requests: [execute("SELECT 2"), { type: "close" }] });
    expect(owner.status).toBe(200);
    expect(owner.json.results[0].type).toBe("ok");
  });

  it("pins one connection: uncommitted rows stay invisible to other streams", async () => {
    const tx = await post(`${server.url}/v2/pipeline`, {
      requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO kv VALUES (?, 1)", [text("pinned")])],
    });
    expect(tx.json.results.every((x: any) => x.type === "ok")).toBe(true);
    const outside = await post(`${server.url}/v2/pipeline`, {
      requests: [execute("SELECT count(*) FROM kv WHERE k = 'pinned'"), { type: "close" }],
    });
    expect(outside.json.results[0].response.result.rows[0][0].value).toBe("0");
    const inside = await post(`${server.url}/v2/pipeline`, {
      baton: tx.json.baton,
      requests: [execute("SELECT count(*) FROM kv WHERE k = 'pinned'"), execute("COMMIT"), { type: "close" }],
    });
    expect(inside.json.results[0].response.result.rows[0][0].value).toBe("1");
  });

  it("expires an idle stream, rolls its transaction back and says why", async () => {
    const tx = await post(`${server.url}/v2/pipeline`, {
      requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO kv VALUES ('expired', 1)")],
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const late = await post(`${server.url}/v2/pipeline`, { baton: tx.json.baton, requests: [execute("COMMIT")] });
    expect(late.status).toBe(400);
    expect(late.type).toBe("application/json");
    expect(late.json.code).toBe("STREAM_EXPIRED");
    const check = await post(`${server.url}/v2/pipeline`, {
      requests: [execute("SELECT count(*) FROM kv WHERE k = 'expired'"), { type: "close" }],
    });
    expect(check.json.results[0].response.result.rows[0][0].value).toBe("0");
  });

  it("answers a malformed body with a 400 protocol error, and keeps serving", async () => {
    for (const body of ["{", "[]", '{"requests": 5}', '{"requests":[{"type":"nope"}]}', '{"requests":[{"type":"execute","stmt":{}}]}']) {
      const r = await post(`${server.url}/v2/pipeline`, body);
      expect(r.status).toBe(400);
      expect(r.json.code).toBe("PROTOCOL_ERROR");
      expect(r.text).not.toMatch(/\/tmp|at .*\.js/);
    }
    const v3only = await post(`${server.url}/v2/pipeline`, { requests: [{ type: "get_autocommit" }] });
    expect(v3only.status).toBe(400);
    const ok = await post(`${server.url}/v3/pipeline`, { requests: [{ type: "get_autocommit" }, { type: "close" }] });
    expect(ok.json.results[0].response.is_autocommit).toBe(true);
  });

  it("refuses a body over the size limit with 413", async () => {
    const r = await post(`${server.url}/v2/pipeline`, JSON.stringify({ requests: [execute("SELECT '" + "x".repeat(11 * 1024 * 1024) + "'")] }));
    expect(r.status).toBe(413);
    expect(r.json.code).toBe("BODY_TOO_LARGE");
  });

  it("answers 404 with a named code for unknown databases and routes, and CORS preflights", async () => {
    const unknown = await post(`${server.url}/nope/v2/pipeline`, { requests: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe("DATABASE_NOT_FOUND");
    const route = await post(`${server.url}/a/b/c/d`, {});
    expect(route.status).toBe(404);
    expect(route.json.code).toBe("NOT_FOUND");
    const preflight = await fetch(`${server.url}/v2/pipeline`, {
      method: "OPTIONS",
      headers: { origin: "http://example.test", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/);
  });

  it("streams a cursor: baton first, then entries, and the stream continues", async () => {
    const response = await fetch(`${server.url}/v3/cursor`, {
      method: "POST",
      body: JSON.stringify({
        batch: {
          steps: [
            { stmt: { sql: "BEGIN" } },
            { stmt: { sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c" } },
            { stmt: { sql: "SELECT * FROM no_such_table" } },
          ],
        },
      }),
    });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trim().split("\n").map((line) => JSON.parse(line));
    const head = lines[0];
    expect(typeof head.baton).toBe("string");
    const types = lines.slice(1).map((e: any) => e.type);
    expect(types.filter((t: string) => t === "row")).toHaveLength(1000);
    expect(types[0]).toBe("step_begin");
    expect(types).toContain("step_error");
    const next = await post(`${server.url}/v3/pipeline`, { baton: head.baton, requests: [{ type: "get_autocommit" }, execute("ROLLBACK"), { type: "close" }] });
    expect(next.json.results[0].response.is_autocommit).toBe(false);
    expect(next.json.results[1].type).toBe("ok");
  });
});

describe("Hrana over HTTP: result size", () => {
  it("refuses a statement result past limits.maxResultBytes with RESPONSE_TOO_LARGE, and a cursor streams it", async () => {
    const big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 2000000) SELECT i, randomblob(100) FROM n";
    const r = await post(`${server.url}/v2/pipeline`, { requests: [execute(big), execute("SELECT 1"), { type: "close" }] });
    expect(r.status).toBe(200);
    expect(r.json.results[0].error.code).toBe("RESPONSE_TOO_LARGE");
    expect(r.json.results[1].type).toBe("ok");
  });
});
