/**
 * The per-client cap on open streams (`limits.maxSessionsPerClient`): one client that opens more interactive
 * transactions than its cap is refused with TOO_MANY_CLIENT_SESSIONS (429), while another client — another remote
 * address — still opens its own, and the refused client's slots come back when its streams close or expire.
 */
import http from "node:http";
import { createClient, LibsqlError } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "./support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ limits: { maxSessionsPerDatabase: 8, maxSessionsPerClient: 2, idleTimeoutMs: "1s" } });
});
afterAll(async () => {
  await server?.close();
});

interface Answer {
  status: number;
  json: { baton?: string | null; code?: string; message?: string; results?: { type: string }[] };
}

/** POSTs a pipeline from `localAddress` (fetch cannot choose its source address; every 127.x.x.x is loopback on Linux). */
function pipeline(localAddress: string, body: unknown, path = "/v2/pipeline"): Promise<Answer> {
  const url = new URL(server.url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path, method: "POST", localAddress, agent: false, headers: { "content-length": Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

const execute = (sql: string) => ({ type: "execute", stmt: { sql } });
/** Opens an interactive transaction from `localAddress` and returns the answer (its baton when it worked). */
const begin = (localAddress: string) => pipeline(localAddress, { baton: null, requests: [execute("BEGIN"), execute("SELECT 1")] });
const close = (localAddress: string, baton: string) => pipeline(localAddress, { baton, requests: [{ type: "close" }] });

describe("per-client cap on open streams", () => {
  it("refuses the client past its cap with a named 429 while another client opens its own, until it closes one", async () => {
    const first = await begin("127.0.0.1");
    const second = await begin("127.0.0.1");
    expect([first.status, second.status]).toEqual([200, 200]);

    const refused = await begin("127.0.0.1");
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe("TOO_MANY_CLIENT_SESSIONS");
    expect(refused.json.message).toContain("limit 2 per client");
    expect(refused.json.message).toContain("limits.maxSessionsPerClient");

    // Another client is not affected, on this database or any other; the first client still may use `other`.
    const neighbour = await begin("127.0.0.2");
    expect(neighbour.status).toBe(200);
    expect((await pipeline("127.0.0.1", { baton: null, requests: [execute("BEGIN"), { type: "close" }] }, "/other/v2/pipeline")).status).toBe(200);

    // The held transactions still work, and closing one gives the client its slot back.
    const resumed = await pipeline("127.0.0.1", { baton: first.json.baton, requests: [execute("SELECT 2")] });
    expect(resumed.json.results?.map((r) => r.type)).toEqual(["ok"]);
    expect((await close("127.0.0.1", resumed.json.baton!)).status).toBe(200);
    const again = await begin("127.0.0.1");
    expect(again.status).toBe(200);

    for (const [address, baton] of [["127.0.0.1", second.json.baton], ["127.0.0.1", again.json.baton], ["127.0.0.2", neighbour.json.baton]] as const) {
      expect((await close(address, baton!)).status).toBe(200);
    }
  });

  it("gives the slots back when the client's streams expire", async () => {
    const held = [await begin("127.0.0.1"), await begin("127.0.0.1")];
    expect(held.map((answer) => answer.status)).toEqual([200, 200]);
    expect((await begin("127.0.0.1")).json.code).toBe("TOO_MANY_CLIENT_SESSIONS");
    // idleTimeoutMs is 1 s and the reaper wakes every second.
    await expect.poll(async () => (await begin("127.0.0.1")).status, { timeout: 5000, interval: 250 }).toBe(200);
    const late = await pipeline("127.0.0.1", { baton: held[0]!.json.baton, requests: [execute("SELECT 1")] });
    expect(late.json.code).toBe("STREAM_EXPIRED");
    await expect.poll(() => server.server.store.count("default", "127.0.0.1"), { timeout: 5000 }).toBe(0);
  });

  it("surfaces the code through @libsql/client over HTTP, and the reason over WebSocket", async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as LibsqlError);
    const http = createClient({ url: server.url });
    // A transaction's stream opens with its first statement.
    const held = [await http.transaction("read"), await http.transaction("read")];
    for (const tx of held) await tx.execute("SELECT 1");
    const third = await http.transaction("read");
    const refused = await failure(third.execute("SELECT 1"));
    expect(refused).toBeInstanceOf(LibsqlError);
    expect(refused?.code).toBe("TOO_MANY_CLIENT_SESSIONS");
    for (const tx of [...held, third]) tx.close();
    http.close();
    await expect.poll(() => server.server.store.count("default", "127.0.0.1")).toBe(0);

    // Over WebSocket the client pipelines open_stream with its first request and reports that request's error
    // (STREAM_NOT_OPEN), whose message carries the reason.
    const ws = createClient({ url: server.wsUrl });
    const transactions = [await ws.transaction("read"), await ws.transaction("read")];
    for (const tx of transactions) await tx.execute("SELECT 1");
    const error = await failure(ws.execute("SELECT 1"));
    expect(error).toBeInstanceOf(LibsqlError);
    expect(error?.message).toContain("limits.maxSessionsPerClient");
    for (const tx of transactions) tx.close();
    ws.close();
    await expect.poll(() => server.server.store.count("default", "127.0.0.1")).toBe(0);
  });

  it("counts a WebSocket's streams against the address it connected from", async () => {
    const socket = new WebSocket(server.wsUrl, ["hrana2"]);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const replies: { type: string; error?: { code: string } }[] = [];
    socket.on("message", (data: Buffer) => replies.push(JSON.parse(data.toString("utf8"))));
    socket.send(JSON.stringify({ type: "hello", jwt: null }));
    for (let id = 1; id <= 3; id++) {
      socket.send(JSON.stringify({ type: "request", request_id: id, request: { type: "open_stream", stream_id: id } }));
      socket.send(JSON.stringify({ type: "request", request_id: 100 + id, request: { type: "execute", stream_id: id, stmt: { sql: "BEGIN", want_rows: false } } }));
    }
    await expect.poll(() => replies.length).toBe(7);
    const errors = replies.filter((reply) => reply.type === "response_error").map((reply) => reply.error?.code);
    expect(errors).toContain("TOO_MANY_CLIENT_SESSIONS");
    // another address is not affected meanwhile
    expect((await begin("127.0.0.2")).status).toBe(200);
    socket.close();
    await expect.poll(() => server.server.store.count("default", "127.0.0.1")).toBe(0);
  });
});
