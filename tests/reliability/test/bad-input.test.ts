/**
 * Bad input: at least 100 000 generated and mutated requests (JSON and protobuf pipelines and cursors, forged
 * batons, odd routes, deep nesting, oversized bodies), WebSocket sessions with bad frames, slow and truncated
 * senders. The server runs as a child process (`hranad` bin): it must never answer 5xx for a client's mistake,
 * never die, keep its memory bounded, and still serve a normal client afterwards.
 */
import { connect, type Socket } from "node:net";
import { createClient } from "@libsql/client";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deepArrayJson, deepGroupsProtobuf, deepNotJson, deepNotProtobuf, deepObjectJson, deepUnknownProtobuf, RequestFactory } from "./support/generators.js";
import { HranadProcess } from "./support/hranad-process.js";
import { endpointOf, judge, Verdicts, type SentRequest } from "./support/oracle.js";
import { KeepAliveConnection } from "./support/raw-http.js";
import { pick, sleep, SOAK, timeoutFor, within } from "./support/soak.js";
import { WsFuzzer } from "./support/ws-fuzz.js";

const FUZZ_SEED = Number(process.env.HRANAD_FUZZ_SEED ?? Date.now() % 2 ** 31);
const HTTP_REQUESTS = Number(process.env.HRANAD_FUZZ_REQUESTS ?? pick(100_000, 1_000_000));
/** Hard bound on the main loop, whatever the machine's speed. */
const HTTP_BUDGET_MS = pick(150_000, 900_000);
const CONNECTIONS = 8;
const PIPELINE = 4;
const WS_SESSIONS = pick(1000, 15_000);
const MAX_RSS_GROWTH = 200 * 1024 * 1024;
const MAX_BODY = 10 * 1024 * 1024;

let server: HranadProcess;
let port: number;
let rssBaseline = 0;
let rssPeak = 0;
let rssTimer: NodeJS.Timeout | undefined;
const report: string[] = [];

beforeAll(async () => {
  server = await HranadProcess.start({
    // Short idle and busy timeouts: mutated bodies leave streams and transactions open, and the suite must not
    // spend its time waiting for them (the limits themselves are tested in batons/transfers).
    limits: { idleTimeoutMs: 1000, statementTimeoutMs: 2000, busyTimeoutMs: 500 },
  });
  port = Number(new URL(server.url).port);
  // Warm up, then take the RSS baseline: every pool connection of both databases opened (a worker thread each:
  // 16 streams held open at once), the JIT warm.
  const connections = Array.from({ length: 16 }, () => new KeepAliveConnection(port));
  const open = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] });
  const warm = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] });
  for (const prefix of ["", "/other"]) {
    const batons = await Promise.all(connections.map(async (c) => JSON.parse((await c.request("POST", `${prefix}/v2/pipeline`, open)).body.toString()).baton as string));
    // Starting 16 worker threads can take longer than the 1 s idle timeout: a stream may have expired already.
    await Promise.all(connections.map(async (c, i) => expect([200, 400]).toContain((await c.request("POST", `${prefix}/v2/pipeline`, JSON.stringify({ baton: batons[i], requests: [{ type: "close" }] }))).status)));
  }
  await Promise.all(connections.map(async (c) => {
    for (let i = 0; i < 100; i++) expect((await c.request("POST", i % 2 === 0 ? "/v2/pipeline" : "/other/v2/pipeline", warm)).status).toBe(200);
    for (let i = 0; i < 50; i++) expect((await c.request("POST", "/other/v2/pipeline", "{")).status).toBe(400);
    c.close();
  }));
  rssBaseline = server.rssBytes();
  rssPeak = rssBaseline;
  rssTimer = setInterval(() => {
    if (server.alive) rssPeak = Math.max(rssPeak, server.rssBytes());
  }, 500);
}, 60_000);

afterAll(async () => {
  clearInterval(rssTimer);
  console.log(`[bad-input] seed ${FUZZ_SEED}${SOAK ? " (soak)" : ""}\n${report.join("\n")}`);
  if (process.env.HRANAD_DEBUG) console.log(server?.output());
  await server?.dispose();
}, 30_000);

let streamsClosed = 0;

/**
 * Sends `sent` on `connection` and judges the answer; a transport failure is a failure too. A request the server
 * accepted may leave its stream open (no `close`, or a cursor): close it at once, as a client would, so that the
 * fuzzer measures bad input rather than streams parked until the idle timeout (that is the capacity suite's job).
 */
async function sendAndJudge(connection: KeepAliveConnection, sent: SentRequest & { headers?: Record<string, string> }, verdicts: Verdicts): Promise<number | undefined> {
  let status: number | undefined;
  try {
    const response = await connection.request(sent.method, sent.path, sent.method === "GET" ? undefined : sent.body, sent.headers ?? {});
    status = response.status;
    const { failure, baton } = judge(sent, response, verdicts, server.dataDir);
    if (failure !== undefined) verdicts.fail(failure);
    if (baton !== null) {
      const close = await connection.request("POST", `${endpointOf(sent.path).prefix}/v2/pipeline`, JSON.stringify({ baton, requests: [{ type: "close" }] }));
      streamsClosed++;
      // A close pipelined behind a slow request may find the stream already reaped (idle timeout 1 s): also right.
      const expired = close.status === 400 && close.body.includes('"STREAM_EXPIRED"');
      if (close.status !== 200 && !expired) verdicts.fail(`closing the stream left open by ${sent.path} answered ${close.status} ${close.body.toString("utf8").slice(0, 200)}`);
    }
  } catch (error) {
    verdicts.fail(`${sent.method} ${sent.path} (${sent.body.length} bytes): ${(error as Error).message}`);
  }
  return status;
}

describe("bad input against the hranad process", () => {
  it(
    `answers ${HTTP_REQUESTS} generated and mutated HTTP requests without a 5xx, each error with {message, code}`,
    async () => {
      const factory = new RequestFactory(FUZZ_SEED);
      const verdicts = new Verdicts();
      const rssTrend: number[] = [];
      const connections = Array.from({ length: CONNECTIONS }, () => new KeepAliveConnection(port, 20_000));
      const started = performance.now();
      let issued = 0;
      // PIPELINE lanes per connection: requests pipelined on each keep-alive connection, for throughput.
      await Promise.all(
        connections.flatMap((connection) =>
          Array.from({ length: PIPELINE }, async () => {
            while (issued < HTTP_REQUESTS && performance.now() - started < HTTP_BUDGET_MS && server.alive) {
              issued++;
              if (issued % 20_000 === 0) rssTrend.push(Math.round(server.rssBytes() / 2 ** 20));
              await sendAndJudge(connection, factory.next(), verdicts);
            }
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const reconnects = connections.reduce((n, c) => n + c.connections - 1, 0);
      connections.forEach((c) => c.close());
      report.push(
        `HTTP: ${verdicts.total} requests in ${seconds.toFixed(1)} s (${Math.round(verdicts.total / seconds)}/s, ${reconnects} reconnects), plus ${streamsClosed} closes of streams they left open`,
        `  kinds: ${[...factory.counts].map(([k, n]) => `${k}×${n}`).join(" ")}`,
        `  ${verdicts.summary()}`,
        `  RSS every 20 000 requests (MiB): ${rssTrend.join(" ")}`,
      );
      expect(server.alive, server.output()).toBe(true);
      expect(verdicts.failures, `seed ${FUZZ_SEED}`).toEqual([]);
      expect(verdicts.total).toBeGreaterThanOrEqual(HTTP_REQUESTS);
      // Both sides of the oracle were exercised: refusals and well-formed answers.
      expect(verdicts.byStatus.get(400) ?? 0).toBeGreaterThan(HTTP_REQUESTS / 4);
      expect(verdicts.byStatus.get(200) ?? 0).toBeGreaterThan(HTTP_REQUESTS / 20);
    },
    timeoutFor(HTTP_BUDGET_MS),
  );

  it("refuses hostile shapes: 100 000-deep nesting, huge arrays, oversized bodies", async () => {
    const verdicts = new Verdicts();
    const connection = new KeepAliveConnection(port, 30_000);
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const cases: (SentRequest & { expect: number })[] = [
      { method: "POST", path: "/v2/pipeline", body: utf8(deepNotJson(100_000)), expect: 400 },
      { method: "POST", path: "/v3/cursor", body: utf8(`{"baton":null,"batch":{"steps":[{"condition":${'{"type":"not","cond":'.repeat(100_000)}{"type":"ok","step":0}${"}".repeat(100_000)},"stmt":{"sql":"SELECT 1"}}]}}`), expect: 400 },
      { method: "POST", path: "/v2/pipeline", body: utf8(deepArrayJson(100_000)), expect: 400 },
      // JSON nesting past MAX_JSON_DEPTH is refused before JSON.parse, also inside a key the decoder would ignore
      // (parsing it would block the event loop).
      { method: "POST", path: "/v2/pipeline", body: utf8(deepObjectJson(100_000)), expect: 400 },
      { method: "POST", path: "/v3-protobuf/pipeline", body: deepNotProtobuf(100_000), expect: 400 },
      // An unknown length-delimited field is skipped whole, without looking inside.
      { method: "POST", path: "/v3-protobuf/pipeline", body: deepUnknownProtobuf(100_000), expect: 200 },
      { method: "POST", path: "/v3-protobuf/pipeline", body: deepGroupsProtobuf(100_000), expect: 400 },
      // Within the depth limit: still answered.
      { method: "POST", path: "/v2/pipeline", body: utf8(deepNotJson(50)), expect: 200 },
      { method: "POST", path: "/v3-protobuf/pipeline", body: deepNotProtobuf(50), expect: 200 },
      // 100 000 requests in one body (the stream closes at the first; the rest answer STREAM_CLOSED).
      { method: "POST", path: "/v2/pipeline", body: utf8(`{"requests":[${'{"type":"close"},'.repeat(99_999)}{"type":"close"}]}`), expect: 200 },
      // 10 000 stored SQL texts: SQL_STORE_TOO_MANY after sqld's 50, inline.
      { method: "POST", path: "/v2/pipeline", body: utf8(JSON.stringify({ requests: [...Array.from({ length: 10_000 }, (_, i) => ({ type: "store_sql", sql_id: i, sql: "SELECT 1" })), { type: "close" }] })), expect: 200 },
      // Over the 10 MiB limit: 413 with a JSON body, on every endpoint family.
      { method: "POST", path: "/v2/pipeline", body: utf8(JSON.stringify({ requests: [{ type: "execute", stmt: { sql: `SELECT '${"x".repeat(MAX_BODY)}'` } }] })), expect: 413 },
      { method: "POST", path: "/v3-protobuf/pipeline", body: new Uint8Array(MAX_BODY + 1), expect: 413 },
      { method: "POST", path: "/v3/cursor", body: new Uint8Array(MAX_BODY + 1024).fill(0x20), expect: 413 },
    ];
    const statuses: (number | undefined)[] = [];
    for (const sent of cases) statuses.push(await sendAndJudge(connection, sent, verdicts));
    connection.close();
    report.push(`hostile shapes: ${verdicts.summary()}`);
    expect(verdicts.failures).toEqual([]);
    expect(statuses).toEqual(cases.map((c) => c.expect));
    expect(server.alive, server.output()).toBe(true);
  }, 120_000);

  it(
    `survives ${WS_SESSIONS} WebSocket sessions of bad frames: only decodable answers and client-fault close codes`,
    async () => {
      const fuzzer = new WsFuzzer(server.wsUrl, FUZZ_SEED ^ 0x5eed);
      const failures: string[] = [];
      const closeCodes = new Map<number, number>();
      let framesSent = 0;
      let framesReceived = 0;
      let sessions = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (sessions < WS_SESSIONS && performance.now() - started < pick(60_000, 600_000)) {
            sessions++;
            const result = await fuzzer.run();
            framesSent += result.framesSent;
            framesReceived += result.framesReceived;
            if (result.serverCloseCode !== undefined) closeCodes.set(result.serverCloseCode, (closeCodes.get(result.serverCloseCode) ?? 0) + 1);
            if (result.failure !== undefined && failures.length < 20) failures.push(`${result.protocol}: ${result.failure}`);
          }
        }),
      );
      report.push(
        `WebSocket: ${sessions} sessions, ${framesSent} frames sent, ${framesReceived} received in ${((performance.now() - started) / 1000).toFixed(1)} s; server close codes ${[...closeCodes].map(([c, n]) => `${c}×${n}`).join(" ")}`,
      );
      expect(failures, `seed ${FUZZ_SEED}`).toEqual([]);
      expect(sessions).toBeGreaterThanOrEqual(WS_SESSIONS);
      expect(server.alive, server.output()).toBe(true);
    },
    timeoutFor(pick(60_000, 600_000)),
  );

  it("closes a WebSocket on a request before hello, a wrong frame type and garbage, with the right codes", async () => {
    const session = (protocol: string, frames: { data: string | Uint8Array; binary: boolean }[]) =>
      within(
        new Promise<{ code: number; messages: number }>((resolve, reject) => {
          const socket = new WebSocket(server.wsUrl, [protocol]);
          let messages = 0;
          socket.on("open", () => frames.forEach((f) => socket.send(f.data, { binary: f.binary })));
          socket.on("message", () => messages++);
          socket.on("error", reject);
          socket.on("close", (code) => resolve({ code, messages }));
        }),
        10_000,
        "a WebSocket session",
      );
    const request = '{"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}}';
    // Requests pipelined before hello: refused as a policy violation, nothing executed.
    expect(await session("hrana2", [{ data: request, binary: false }, { data: '{"type":"hello"}', binary: false }])).toEqual({ code: 1008, messages: 0 });
    // A text frame on the protobuf subprotocol, and a binary frame on a JSON one.
    expect((await session("hrana3-protobuf", [{ data: "{}", binary: false }])).code).toBe(1003);
    expect((await session("hrana2", [{ data: new Uint8Array([1, 2, 3]), binary: true }])).code).toBe(1003);
    // Not JSON at all.
    expect((await session("hrana3", [{ data: "\u0000garbage{", binary: false }])).code).toBe(1007);
  }, 60_000);

  it("keeps serving while slow senders dribble bodies, truncated bodies and abandoned responses come and go", async () => {
    const sockets: Socket[] = [];
    const openRaw = () =>
      new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
        socket.on("error", () => undefined);
        socket.once("error", reject);
        sockets.push(socket);
      });
    const head = (path: string, length: number | "chunked") =>
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${length === "chunked" ? "transfer-encoding: chunked" : `content-length: ${length}`}\r\n\r\n`;
    const body = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] });
    const bigCursor = JSON.stringify({ baton: null, batch: { steps: [{ stmt: { sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x, randomblob(100) FROM c" } }] } });
    const bigPipeline = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x, randomblob(100) FROM c" } }] });

    const slowSenders = Array.from({ length: 16 }, async (_, i) => {
      const socket = await openRaw();
      socket.write(head(i % 2 === 0 ? "/v2/pipeline" : "/v3-protobuf/pipeline", 4096));
      for (let sent = 0; sent < 30 && !socket.destroyed; sent++) {
        socket.write(body.slice(0, 16));
        await sleep(50);
      }
      socket.destroy(); // abandoned mid-body
    });
    const truncated = Array.from({ length: 16 }, async (_, i) => {
      const socket = await openRaw();
      if (i % 3 === 0) {
        socket.write(head("/v2/pipeline", "chunked") + "10\r\n" + body.slice(0, 16) + "\r\n");
      } else {
        socket.write(head("/v3/pipeline", body.length + 100) + body);
      }
      await sleep(20);
      if (i % 2 === 0) socket.end(); // half-close: the body will never be complete
      else socket.destroy();
    });
    const abandoned = Array.from({ length: 8 }, async (_, i) => {
      const socket = await openRaw();
      const payload = i % 2 === 0 ? bigCursor : bigPipeline;
      socket.write(head(i % 2 === 0 ? "/v3/cursor" : "/v2/pipeline", Buffer.byteLength(payload)) + payload);
      // Read the first bytes of the answer (or nothing), then go away.
      await new Promise<void>((resolve) => {
        socket.once("data", () => resolve());
        setTimeout(resolve, i % 4 === 1 ? 0 : 2000);
      });
      socket.destroy();
    });
    // A huge declared length with no body: refused up front.
    const declaredTooLarge = (async () => {
      const socket = await openRaw();
      const answer = new Promise<string>((resolve) => {
        let text = "";
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("latin1");
          if (text.includes("\r\n\r\n")) resolve(text);
        });
        socket.on("close", () => resolve(text));
      });
      socket.write(head("/v2/pipeline", 20 * 1024 * 1024));
      const text = await within(answer, 10_000, "the answer to a 20 MiB Content-Length");
      socket.destroy();
      return text;
    })();

    // Meanwhile, a normal client keeps getting answers.
    const verdicts = new Verdicts();
    const normal = (async () => {
      const connection = new KeepAliveConnection(port, 20_000);
      for (let i = 0; i < 300; i++) await sendAndJudge(connection, { method: "POST", path: "/v2/pipeline", body: new TextEncoder().encode(body) }, verdicts);
      connection.close();
    })();

    await within(Promise.all([...slowSenders, ...truncated, ...abandoned, normal]), 60_000, "the slow, truncated and abandoned senders");
    expect(await declaredTooLarge).toMatch(/^HTTP\/1\.1 413 /);
    for (const socket of sockets) socket.destroy();
    expect(verdicts.failures).toEqual([]);
    expect(verdicts.byStatus.get(200)).toBe(300);
    expect(server.alive, server.output()).toBe(true);
  }, 120_000);

  it("is still alive afterwards, with bounded memory, and a normal @libsql/client still works", async () => {
    // Let streams left open by the mutated bodies expire (idle timeout 1 s, reaper granularity 1 s).
    await sleep(3000);
    expect(server.alive, server.output()).toBe(true);
    expect(server.stderr).not.toMatch(/uncaught|unhandled/i);
    const rss = server.rssBytes();
    report.push(
      `RSS: baseline ${(rssBaseline / 2 ** 20).toFixed(0)} MiB after warm-up, peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB, end ${(rss / 2 ** 20).toFixed(0)} MiB (growth ${((rss - rssBaseline) / 2 ** 20).toFixed(0)} MiB)`,
    );
    expect(rss - rssBaseline).toBeLessThan(MAX_RSS_GROWTH);

    for (const url of [server.url, server.wsUrl]) {
      const client = createClient({ url });
      try {
        await client.execute("CREATE TABLE IF NOT EXISTS after_fuzz (id INTEGER PRIMARY KEY, v TEXT)");
        await client.batch([{ sql: "INSERT INTO after_fuzz (v) VALUES (?)", args: [url] }], "write");
        const tx = await client.transaction("write");
        await tx.execute({ sql: "INSERT INTO after_fuzz (v) VALUES (?)", args: ["tx"] });
        await tx.commit();
        const rows = await client.execute({ sql: "SELECT count(*) AS n FROM after_fuzz WHERE v IN (?, 'tx')", args: [url] });
        expect(Number(rows.rows[0]!.n)).toBeGreaterThanOrEqual(2);
      } finally {
        client.close();
      }
    }
    const check = createClient({ url: server.url });
    expect((await check.execute("PRAGMA integrity_check")).rows[0]![0]).toBe("ok");
    check.close();
  }, 60_000);
});
