/**
 * One request must never kill the server (bounded memory and backpressure): against the real `hranad` bin, each
 * scenario sends what used to grow the server's heap without limit or stall its event loop — a pipeline or batch
 * of 10 MB results, parallel ones against a small server-wide pool, 10 MB stored SQL texts, a WebSocket cursor
 * fetch of 4096 rows of 140 KB, 10 MB replies to a client that does not read, 5 million nested `[`, a NUL in SQL
 * text, a cursor row over `maxResultBytes` — and asserts that the offending client gets its named error, that
 * the process stays up (`/health` 200), that another client (`@libsql/client`, HTTP and WebSocket, point SELECTs
 * on database `other`) is served during and after, and that the server's peak RSS (sampled every 50 ms) stays
 * within a bound. The table of peak RSS and what each client received is printed at the end.
 */
import { json, protobuf, type CursorEntry, type ServerMsg, type Value } from "@hranad/hrana-protocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpStream } from "./support/http-stream.js";
import { HranaWs, WsRequestError } from "./support/hrana-ws.js";
import type { HranadConfig } from "./support/hranad-process.js";
import { MiB, ScenarioReport, runScenario, startHarness, withServer, type Harness } from "./support/scenario.js";
import { pick, sleep, timeoutFor, within } from "./support/soak.js";

const report = new ScenarioReport("overload");
afterAll(() => report.print());

/** 10 000 000 bytes of text: under the default maxResultBytes (10 MiB), three of them fit maxResponseBytes (32 MiB). */
const TEN_MB = 10_000_000;
const BIG_SELECT = `SELECT printf('%.*c', ${TEN_MB}, 'x')`;
const SEND_TIMEOUT_MS = 2000;
/** A time bound for work whose size grows under HRANAD_SOAK (counts ×5–15). */
const scaled = (ms: number): number => pick(ms, 10 * ms);

const withHarness = (limits: HranadConfig["limits"], fn: (h: Harness) => Promise<void>) => withServer(report, { limits }, fn);

async function postJson(url: string, body: unknown): Promise<{ status: number; json: any; bytes: number }> {
  const response = await fetch(url, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, json: parsed, bytes: Buffer.byteLength(text) };
}

/** `ok ×3, RESPONSE_TOO_LARGE ×57` from a list of codes ("ok" for a success), in order of first appearance. */
function tally(codes: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} ×${n}`).join(", ");
}

/** The index of the first element that is not "ok", or the length. */
function okPrefix(codes: readonly string[]): number {
  const index = codes.findIndex((c) => c !== "ok");
  return index < 0 ? codes.length : index;
}

function textLength(value: unknown): number {
  const v = value as { type?: string; value?: string } | undefined;
  return v?.type === "text" && typeof v.value === "string" ? v.value.length : -1;
}

// --- 1. a pipeline and a batch of 10 MB results --------------------------------------------------------------

describe("a pipeline or batch whose results would not fit one response", () => {
  const limits = { sendTimeoutMs: `${SEND_TIMEOUT_MS}ms` };
  const STATEMENTS = pick(30, 450);

  it(
    `POST /v2/pipeline with ${STATEMENTS} executes of a 10 MB text: 200, the first few ok, the rest RESPONSE_TOO_LARGE`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `1a. /v2/pipeline, ${STATEMENTS} × 10 MB`, { allowanceBytes: 320 * MiB }, async () => {
          const body = JSON.stringify({ requests: [...Array.from({ length: STATEMENTS }, () => ({ type: "execute", stmt: { sql: BIG_SELECT } })), { type: "close" }] });
          expect(body.length).toBeLessThan(40_000);
          const answer = await within(postJson(`${h.server.url}/v2/pipeline`, body), scaled(60_000), "the pipeline");
          expect(answer.status).toBe(200);
          const results: any[] = answer.json.results;
          expect(results).toHaveLength(STATEMENTS + 1);
          expect(results.at(-1)).toMatchObject({ type: "ok", response: { type: "close" } });
          const codes = results.slice(0, STATEMENTS).map((r) => (r.type === "ok" ? "ok" : String(r.error?.code)));
          const ok = okPrefix(codes);
          // The first statements fit (10 MB each in 32 MiB), every later one is refused inline, with its own error.
          expect(ok).toBeGreaterThanOrEqual(1);
          expect(ok).toBeLessThanOrEqual(3);
          for (const r of results.slice(0, ok)) expect(textLength(r.response.result.rows[0][0])).toBe(TEN_MB);
          expect(new Set(codes.slice(ok))).toEqual(new Set(["RESPONSE_TOO_LARGE"]));
          return { received: `200, ${answer.bytes} bytes: ${tally(codes)}` };
        });
      }),
    timeoutFor(scaled(60_000)),
  );

  it(
    `a batch of ${STATEMENTS} such steps: step results for the first few, step errors RESPONSE_TOO_LARGE after`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `1b. /v3/pipeline batch, ${STATEMENTS} × 10 MB`, { allowanceBytes: 320 * MiB }, async () => {
          const body = { requests: [{ type: "batch", batch: { steps: Array.from({ length: STATEMENTS }, () => ({ stmt: { sql: BIG_SELECT } })) } }, { type: "close" }] };
          const answer = await within(postJson(`${h.server.url}/v3/pipeline`, body), scaled(60_000), "the batch");
          expect(answer.status).toBe(200);
          expect(answer.json.results[0].type).toBe("ok");
          const batch = answer.json.results[0].response.result;
          expect(batch.step_results).toHaveLength(STATEMENTS);
          expect(batch.step_errors).toHaveLength(STATEMENTS);
          const codes = batch.step_results.map((r: any, i: number) => (r !== null ? "ok" : String(batch.step_errors[i]?.code)));
          const ok = okPrefix(codes);
          expect(ok).toBeGreaterThanOrEqual(1);
          expect(ok).toBeLessThanOrEqual(3);
          for (const r of batch.step_results.slice(0, ok)) expect(textLength(r.rows[0][0])).toBe(TEN_MB);
          expect(new Set(codes.slice(ok))).toEqual(new Set(["RESPONSE_TOO_LARGE"]));
          return { received: `200, ${answer.bytes} bytes: steps ${tally(codes)}` };
        });
      }),
    timeoutFor(scaled(60_000)),
  );
});

describe("parallel pipelines against a small server-wide pool (maxBufferedBytes 64 MiB)", () => {
  const limits = { maxBufferedBytes: "64MiB" };
  const PARALLEL = pick(6, 12);
  const STATEMENTS = pick(10, 100);

  it(
    `${PARALLEL} pipelines of ${STATEMENTS} × 10 MB at once: some statements SERVER_OVERLOADED, every answer 200, RSS bounded`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `1c. ${PARALLEL} parallel pipelines, ${STATEMENTS} × 10 MB, pool 64 MiB`, { allowanceBytes: pick(1024, 1536) * MiB, allowOtherCodes: ["SERVER_OVERLOADED"] }, async () => {
          const body = JSON.stringify({ requests: [...Array.from({ length: STATEMENTS }, () => ({ type: "execute", stmt: { sql: BIG_SELECT } })), { type: "close" }] });
          const answers = await within(Promise.all(Array.from({ length: PARALLEL }, () => postJson(`${h.server.url}/v2/pipeline`, body))), scaled(120_000), "the parallel pipelines");
          const codes: string[] = [];
          for (const answer of answers) {
            expect(answer.status).toBe(200);
            expect(answer.json.results).toHaveLength(STATEMENTS + 1);
            for (const r of answer.json.results.slice(0, STATEMENTS)) {
              if (r.type === "ok") expect(textLength(r.response.result.rows[0][0])).toBe(TEN_MB);
              codes.push(r.type === "ok" ? "ok" : String(r.error?.code));
            }
          }
          expect(new Set(codes).has("SERVER_OVERLOADED")).toBe(true);
          for (const code of codes) expect(["ok", "RESPONSE_TOO_LARGE", "SERVER_OVERLOADED"]).toContain(code);
          return { received: `${PARALLEL} × 200: ${tally(codes)}` };
        });
      }),
    timeoutFor(scaled(120_000)),
  );
});

// --- 2..4: WebSocket ---------------------------------------------------------------------------------------------

describe("WebSocket: stored SQL, cursor fetches and unread replies", () => {
  const limits = { sendTimeoutMs: `${SEND_TIMEOUT_MS}ms` };
  const SOCKETS = 3;
  const BIG_STORES = pick(6, 150);
  const MAX_SOCKET_SQL = 4 * MiB;

  it(
    `store_sql of 10 MB texts, ${BIG_STORES} per socket on ${SOCKETS} sockets: SQL_STORE_TOO_LARGE past 4 MiB, the sockets still work`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `2. store_sql 10 MB × ${BIG_STORES} on ${SOCKETS} sockets`, { allowanceBytes: 300 * MiB }, async () => {
          const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => HranaWs.open(h.server.wsUrl, "hrana3")));
          const codes: string[] = [];
          try {
            const small = (id: number) => `SELECT ${id} AS id /* ${"s".repeat(1_000_000)} */`;
            // One 10 MB text, JSON-encoded once; each message wraps it with its own ids.
          const bigText = JSON.stringify(`SELECT 0 /* ${"b".repeat(TEN_MB)} */`);
            await Promise.all(
              sockets.map(async (socket) => {
                // 1 MB texts until the socket's bound refuses one: 4 fit in 4 MiB, the 5th does not.
                let stored = 0;
                for (let id = 1; id <= 6; id++) {
                  const answer = await socket.request({ type: "store_sql", sqlId: id, sql: small(id) });
                  if (answer.type === "response_ok") stored++;
                  else {
                    expect(answer).toMatchObject({ type: "response_error", error: { code: "SQL_STORE_TOO_LARGE" } });
                    codes.push("SQL_STORE_TOO_LARGE");
                    break;
                  }
                }
                expect(stored).toBe(Math.floor(MAX_SOCKET_SQL / small(1).length));
                // Then 10 MB texts, one at a time per socket (the three sockets in parallel): every one refused.
                for (let i = 0; i < BIG_STORES; i++) {
                  const answer = await socket.requestEncoded(
                  (requestId) => `{"type":"request","request_id":${requestId},"request":{"type":"store_sql","sql_id":${1000 + i},"sql":${bigText}}}`,
                  (m) => (m.type === "response_error" ? String(m.error.code) : m.type),
                );
                  codes.push(answer);
                  expect(answer).toBe("SQL_STORE_TOO_LARGE");
                }
                // The socket still works: a stored text runs, and closing one makes room for another.
                await socket.ok({ type: "open_stream", streamId: 1 });
                const result = await socket.ok({ type: "execute", streamId: 1, stmt: { sqlId: 2, args: [], namedArgs: [], wantRows: true } });
                expect(result).toMatchObject({ type: "execute", result: { rows: [[2n]] } });
                await socket.ok({ type: "close_sql", sqlId: 1 });
                await socket.ok({ type: "store_sql", sqlId: 99, sql: small(99) });
                const again = await socket.ok({ type: "execute", streamId: 1, stmt: { sqlId: 99, args: [], namedArgs: [], wantRows: true } });
                expect(again).toMatchObject({ type: "execute", result: { rows: [[99n]] } });
                expect(socket.closeInfo).toBeUndefined();
              }),
            );
          } finally {
            for (const socket of sockets) socket.close();
          }
          return { received: `${tally(codes)}; each socket then ran stored SQL, close_sql + store_sql ok` };
        });
      }),
    timeoutFor(scaled(90_000)),
  );

  const ROWS = pick(300, 3000);
  const ROW_BYTES = 140_000;

  it(
    `fetch_cursor with max_count 4096 over ${ROWS} rows of 140 KB (hrana3 and hrana3-protobuf): bounded replies, every row`,
    () =>
      // A cursor's statement runs for as long as the cursor is read: in soak mode, on a loaded machine, that is
      // past the default 30 s statement deadline, which is not what this scenario is about.
      withHarness({ ...limits, statementTimeoutMs: "300s" }, async (h) => {
        const setup = await HranaWs.open(h.server.wsUrl, "hrana3");
        await setup.ok({ type: "open_stream", streamId: 1 });
        for (const sql of [
          "CREATE TABLE IF NOT EXISTS wide (id INTEGER PRIMARY KEY, v TEXT)",
          `INSERT INTO wide WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, printf('%.*c', ${ROW_BYTES}, char(65 + x % 26)) FROM c`,
        ]) {
          await setup.ok({ type: "execute", streamId: 1, stmt: { sql, args: [], namedArgs: [], wantRows: false } });
        }
        setup.close();
        await runScenario(h, `3. fetch_cursor max_count 4096, ${ROWS} × 140 KB, json + protobuf`, { allowanceBytes: pick(320, 640) * MiB }, async () => {
          const summaries: string[] = [];
          for (const protocol of ["hrana3", "hrana3-protobuf"] as const) {
            const socket = await HranaWs.open(h.server.wsUrl, protocol);
            try {
              await socket.ok({ type: "open_stream", streamId: 1 });
              await socket.ok({ type: "open_cursor", streamId: 1, cursorId: 1, batch: { steps: [{ stmt: { sql: "SELECT id, v FROM wide ORDER BY id", args: [], namedArgs: [], wantRows: true } }] } });
              let nextId = 1;
              const fetches: { entries: number; rows: number; bytes: number; done: boolean }[] = [];
              for (let guard = 0; guard < ROWS + 10; guard++) {
                const fetched = await socket.request({ type: "fetch_cursor", cursorId: 1, maxCount: 4096 }, (m: ServerMsg, bytes) => {
                  if (m.type !== "response_ok" || m.response.type !== "fetch_cursor") throw new Error(`fetch_cursor answered ${JSON.stringify(m).slice(0, 300)}`);
                  let rows = 0;
                  for (const entry of m.response.entries as CursorEntry[]) {
                    if (entry.type === "step_error" || entry.type === "error") throw new Error(`cursor entry ${entry.type}: ${entry.error.code} ${entry.error.message}`);
                    if (entry.type !== "row") continue;
                    const [id, v] = entry.row as Value[];
                    // Every row, in order, whole.
                    if (id !== BigInt(nextId)) throw new Error(`row ${nextId} came back as id ${String(id)}`);
                    if (typeof v !== "string" || v.length !== ROW_BYTES || v[0] !== String.fromCharCode(65 + (nextId % 26))) throw new Error(`row ${nextId} has a wrong value`);
                    nextId++;
                    rows++;
                  }
                  return { entries: m.response.entries.length, rows, bytes, done: m.response.done };
                });
                fetches.push(fetched);
                if (fetched.done) break;
              }
              expect(nextId - 1, protocol).toBe(ROWS);
              expect(fetches.at(-1)!.done).toBe(true);
              // Bounded replies: fewer entries than asked for, done false, each reply within maxResponseBytes (and one row).
              expect(fetches.length).toBeGreaterThan(1);
              expect(fetches[0]!.entries).toBeLessThan(4096);
              expect(fetches[0]!.done).toBe(false);
              for (const f of fetches) expect(f.bytes).toBeLessThanOrEqual(32 * MiB + 2 * ROW_BYTES + 64 * 1024);
              summaries.push(`${protocol}: ${fetches.length} fetches of ≤ ${Math.max(...fetches.map((f) => f.rows))} rows (≤ ${(Math.max(...fetches.map((f) => f.bytes)) / MiB).toFixed(1)} MiB), all ${ROWS} rows`);
              await socket.ok({ type: "close_cursor", cursorId: 1 });
            } finally {
              socket.close();
            }
          }
          return { received: summaries.join("; ") };
        });
      }),
    timeoutFor(scaled(90_000)),
  );

  const EXECUTES = pick(20, 200);

  it(
    `${EXECUTES} executes of 10 MB to a client that does not read: RSS bounded, closed 1008 after sendTimeoutMs`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `4a. ${EXECUTES} × 10 MB executes, client not reading`, { allowanceBytes: 200 * MiB }, async () => {
          const socket = await HranaWs.open(h.server.wsUrl, "hrana3");
          try {
            await socket.ok({ type: "open_stream", streamId: 1 });
            socket.pause();
            const pausedAt = performance.now();
            const answers = Array.from({ length: EXECUTES }, () =>
              socket
                .request({ type: "execute", streamId: 1, stmt: { sql: BIG_SELECT, args: [], namedArgs: [], wantRows: true } }, (m) => (m.type === "response_ok" ? "ok" : `response_error ${m.type === "response_error" ? m.error.code : m.type}`))
                .catch((error: unknown) => (error instanceof WsRequestError && error.close !== undefined ? "cut off by the close" : `error ${(error as Error).message}`)),
            );
            // The server closes the socket once its replies have not drained for sendTimeoutMs. The close frame waits
            // behind the unread replies, and the server drops the connection a little later: read again as soon as
            // the server has ended the socket's stream (it disappears from /admin/sessions), to see the close frame.
            const deadline = performance.now() + SEND_TIMEOUT_MS + 20_000;
            let ended = false;
            await sleep(SEND_TIMEOUT_MS / 2);
            while (!ended && performance.now() < deadline && socket.closeInfo === undefined) {
              const listing = (await (await fetch(`${h.server.url}/admin/sessions?database=default`)).json()) as { sessions: unknown[] };
              ended = listing.sessions.length === 0;
              if (!ended) await sleep(50);
            }
            const endedAfter = performance.now() - pausedAt;
            socket.resume();
            const close = await within(socket.closed, 20_000, "the server's close of the stalled socket");
            const codes = await Promise.all(answers);
            expect(ended, "the socket's stream was not ended").toBe(true);
            // Not before the deadline (a little slack for timer granularity).
            expect(endedAfter).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS * 0.9);
            expect(close.code).toBe(1008);
            return { received: `close ${close.code} "${close.reason}" ${(endedAfter / 1000).toFixed(1)} s after it stopped reading; ${tally(codes)}` };
          } finally {
            socket.terminate();
          }
        });
      }),
    timeoutFor(60_000),
  );

  const RESUMED_EXECUTES = pick(12, 200);

  it(
    `${RESUMED_EXECUTES} such executes to a client that resumes reading within sendTimeoutMs: all ${RESUMED_EXECUTES} correct responses`,
    () =>
      withHarness(limits, async (h) => {
        await runScenario(h, `4b. ${RESUMED_EXECUTES} × 10 MB executes, client pauses ${SEND_TIMEOUT_MS / 2000} s`, { allowanceBytes: 250 * MiB }, async () => {
          const socket = await HranaWs.open(h.server.wsUrl, "hrana3");
          try {
            await socket.ok({ type: "open_stream", streamId: 1 });
            socket.pause();
            const answers = Array.from({ length: RESUMED_EXECUTES }, (_, i) =>
              socket.request({ type: "execute", streamId: 1, stmt: { sql: `SELECT ${i}, printf('%.*c', ${TEN_MB}, 'x')`, args: [], namedArgs: [], wantRows: true } }, (m) => {
                if (m.type !== "response_ok" || m.response.type !== "execute") return `not ok: ${JSON.stringify(m).slice(0, 200)}`;
                const row = m.response.result.rows[0]!;
                return row[0] === BigInt(i) && typeof row[1] === "string" && row[1].length === TEN_MB ? "ok" : `wrong row for ${i}`;
              }),
            );
            await sleep(SEND_TIMEOUT_MS / 2);
            socket.resume();
            const codes = await within(Promise.all(answers), scaled(120_000), `${RESUMED_EXECUTES} responses`);
            expect(codes.filter((c) => c !== "ok")).toEqual([]);
            expect(socket.closeInfo).toBeUndefined();
            return { received: `${tally(codes)} (${(socket.receivedBytes / MiB).toFixed(0)} MiB), socket open` };
          } finally {
            socket.close();
          }
        });
      }),
    timeoutFor(scaled(120_000)),
  );
});

// --- 6, 7, 9: input refused before it costs much ------------------------------------------------------------------

describe("hostile input", () => {
  const MAX_RESULT = 1 * MiB;
  const limits = { maxResultBytes: "1MiB" };
  // These scenarios cost little memory: they share one server.
  let shared: Harness | undefined;
  beforeAll(async () => {
    shared = await startHarness(report, { limits });
  }, 60_000);
  afterAll(async () => {
    await shared?.dispose();
  });
  const withShared = (fn: (h: Harness) => Promise<void>) => fn(shared!);
  const DEPTH = 5_000_000;

  it(
    `a 10 MiB JSON body nesting ${DEPTH} [ in an ignored field: HTTP 400 PROTOCOL_ERROR, WebSocket closed 1007/1008`,
    () =>
      withShared(async (h) => {
        await runScenario(h, `6. ${DEPTH / 1e6} M nested [ (http + ws)`, { allowanceBytes: 150 * MiB }, async () => {
          const nest = `${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`;
          const received: string[] = [];
          for (const path of ["/v2/pipeline", "/v3/pipeline", "/v3/cursor"]) {
            const body = path.endsWith("cursor")
              ? `{"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]},"x":${nest}}`
              : `{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}},{"type":"close"}],"x":${nest}}`;
            expect(body.length).toBeLessThanOrEqual(10 * MiB);
            const answer = await within(postJson(`${h.server.url}${path}`, body), 60_000, `POST ${path}`);
            expect(answer.status, path).toBe(400);
            expect(answer.json?.code, path).toBe("PROTOCOL_ERROR");
            received.push(`${path} ${answer.status} ${answer.json?.code}`);
          }
          const socket = await HranaWs.open(h.server.wsUrl, "hrana3");
          socket.sendRaw(`{"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1},"x":${nest}}`);
          const close = await within(socket.closed, 60_000, "the close of the socket");
          expect([1007, 1008]).toContain(close.code);
          received.push(`ws close ${close.code}`);
          return { received: received.join("; ") };
        });
      }),
    timeoutFor(60_000),
  );

  it(
    "SQL text containing NUL is refused with SQL_CONTAINS_NUL: HTTP execute, batch step, sequence; WebSocket json and protobuf",
    () =>
      withShared(async (h) => {
        await runScenario(h, "7. SQL with NUL (http, ws, batch, sequence)", { allowanceBytes: 100 * MiB }, async () => {
          const sql = "SELECT 1\u0000; SELECT 2";
          const codes: string[] = [];
          for (const path of ["/v2/pipeline", "/v3/pipeline"]) {
            const answer = await postJson(`${h.server.url}${path}`, {
              requests: [
                { type: "execute", stmt: { sql } },
                { type: "batch", batch: { steps: [{ stmt: { sql } }] } },
                { type: "sequence", sql },
                { type: "execute", stmt: { sql: "SELECT 3" } },
                { type: "close" },
              ],
            });
            expect(answer.status).toBe(200);
            const [execute, batch, sequence, after] = answer.json.results;
            expect(execute, path).toMatchObject({ type: "error", error: { code: "SQL_CONTAINS_NUL" } });
            expect(batch, path).toMatchObject({ type: "ok", response: { result: { step_results: [null], step_errors: [{ code: "SQL_CONTAINS_NUL" }] } } });
            expect(sequence, path).toMatchObject({ type: "error", error: { code: "SQL_CONTAINS_NUL" } });
            expect(after.type, path).toBe("ok");
            codes.push(execute.error.code, batch.response.result.step_errors[0].code, sequence.error.code);
          }
          for (const protocol of ["hrana3", "hrana3-protobuf"] as const) {
            const socket = await HranaWs.open(h.server.wsUrl, protocol);
            try {
              await socket.ok({ type: "open_stream", streamId: 1 });
              const execute = await socket.request({ type: "execute", streamId: 1, stmt: { sql, args: [], namedArgs: [], wantRows: true } });
              expect(execute, protocol).toMatchObject({ type: "response_error", error: { code: "SQL_CONTAINS_NUL" } });
              const batch = await socket.ok({ type: "batch", streamId: 1, batch: { steps: [{ stmt: { sql, args: [], namedArgs: [], wantRows: true } }] } });
              expect(batch, protocol).toMatchObject({ type: "batch", result: { stepResults: [null], stepErrors: [{ code: "SQL_CONTAINS_NUL" }] } });
              const sequence = await socket.request({ type: "sequence", streamId: 1, sql });
              expect(sequence, protocol).toMatchObject({ type: "response_error", error: { code: "SQL_CONTAINS_NUL" } });
              const after = await socket.ok({ type: "execute", streamId: 1, stmt: { sql: "SELECT 3", args: [], namedArgs: [], wantRows: true } });
              expect(after).toMatchObject({ type: "execute", result: { rows: [[3n]] } });
              codes.push(`ws ${protocol}`);
            } finally {
              socket.close();
            }
          }
          return { received: `SQL_CONTAINS_NUL on http execute, batch step, sequence (v2, v3) and ws execute, batch step, sequence (json, protobuf); the stream goes on` };
        });
      }),
    timeoutFor(30_000),
  );

  it(
    "a /v3/cursor row larger than maxResultBytes: a step_error RESPONSE_TOO_LARGE entry, the body ends well-formed (json and protobuf)",
    () =>
      withShared(async (h) => {
        await runScenario(h, "9. /v3/cursor row > maxResultBytes (json + protobuf)", { allowanceBytes: 100 * MiB }, async () => {
          const port = Number(new URL(h.server.url).port);
          const batch = {
            steps: [
              { stmt: { sql: "SELECT 1", args: [], namedArgs: [], wantRows: true } },
              { stmt: { sql: `SELECT printf('%.*c', ${2 * MAX_RESULT}, 'x')`, args: [], namedArgs: [], wantRows: true } },
              { stmt: { sql: "SELECT 3", args: [], namedArgs: [], wantRows: true } },
            ],
          };
          const received: string[] = [];
          for (const variant of ["json", "protobuf"] as const) {
            const path = variant === "json" ? "/v3/cursor" : "/v3-protobuf/cursor";
            const body = variant === "json" ? json.encodeCursorReqBody({ baton: null, batch }) : protobuf.encodeCursorReqBody({ baton: null, batch });
            const stream = await HttpStream.open(port, "POST", path, body, { "content-type": variant === "json" ? "application/json" : "application/x-protobuf" });
            const end = await within(stream.ended, 30_000, `${path} body`);
            expect(stream.status, path).toBe(200);
            expect(stream.malformed, path).toBeUndefined();
            expect(end.complete, `${path}: the body did not end with its last chunk`).toBe(true);
            // Every line (every length-delimited message) decodes.
            const decoded = variant === "json" ? json.decodeCursorRespStream(stream.body()) : protobuf.decodeCursorRespStream(stream.body());
            const entries = decoded.entries;
            const tooLarge = entries.find((e) => (e.type === "step_error" || e.type === "error") && e.error.code === "RESPONSE_TOO_LARGE");
            expect(tooLarge, `${path}: ${JSON.stringify(entries.map((e) => e.type))}`).toMatchObject({ type: "step_error", step: 1 });
            expect(entries.some((e) => e.type === "row" && e.row[0] === 1n)).toBe(true);
            received.push(`${variant}: ${entries.map((e) => (e.type === "step_error" || e.type === "error" ? `${e.type}(${e.error.code})` : e.type)).join(" ")}`);
            // The stream stays usable: the baton works.
            if (decoded.body.baton !== null) {
              const close = await postJson(`${h.server.url}/v3/pipeline`, { baton: decoded.body.baton, requests: [{ type: "close" }] });
              expect(close.status).toBe(200);
            }
          }
          return { received: received.join("; ") };
        });
      }),
    timeoutFor(30_000),
  );
});
