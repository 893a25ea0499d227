/**
 * Reaping what nobody reads, and what nobody can receive: against the real `hranad` bin, a `/v3/cursor` client
 * that stops reading while a writer runs (cut off after `sendTimeoutMs`, baton `STREAM_STALLED`, the writer goes
 * on, the `-wal` file back under `walTruncateBytes`), an administrator's kill of such a busy cursor stream
 * (`STREAM_KILLED`), a WebSocket holding every connection with cursors it never fetches (ended after
 * `idleTimeoutMs`: other clients served, not `POOL_TIMEOUT` forever), and a WebSocket or HTTP client that goes
 * away while its stream holds the write lock and runs a long statement (interrupted and rolled back at once: another
 * client's write succeeds, long before the busy timeout). Each scenario also checks that the process stays up,
 * that another client is served during and after, and that the server's peak RSS stays within a bound.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { json } from "@hranad/hrana-protocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpStream } from "./support/http-stream.js";
import { HranaWs } from "./support/hrana-ws.js";
import type { HranadConfig } from "./support/hranad-process.js";
import { MiB, ScenarioReport, runScenario, startHarness, withServer, type Harness } from "./support/scenario.js";
import { pick, sleep, timeoutFor, within } from "./support/soak.js";

const report = new ScenarioReport("reaping");
afterAll(() => report.print());

const withHarness = (limits: HranadConfig["limits"], fn: (h: Harness) => Promise<void>) => withServer(report, { limits }, fn);

const SEND_TIMEOUT_MS = 2000;
const IDLE_TIMEOUT_MS = 2000;
const WAL_TRUNCATE_BYTES = 1 * MiB;
const BIG_ROWS = pick(40_000, 200_000);
/** A time bound for work whose size grows under HRANAD_SOAK. */
const scaled = (ms: number): number => pick(ms, 10 * ms);
const RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

const port = (h: Harness) => Number(new URL(h.server.url).port);

function walBytes(h: Harness, database = "default"): number {
  const wal = join(h.server.dataDir, `${database}.db-wal`);
  return existsSync(wal) ? statSync(wal).size : 0;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: response.status, json: parsed };
}

async function sessions(h: Harness, database = "default"): Promise<{ id: string; busy: boolean; database: string; inTransaction: boolean }[]> {
  const response = await fetch(`${h.server.url}/admin/sessions?database=${database}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: { id: string; busy: boolean; database: string; inTransaction: boolean }[] }).sessions;
}

async function pollUntil<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs: number, intervalMs = 100): Promise<{ value: T; afterMs: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (done(value) || performance.now() - started > timeoutMs) return { value, afterMs: performance.now() - started };
    await sleep(intervalMs);
  }
}

/** `big`: BIG_ROWS rows of 1 KB (a cursor body far larger than every socket buffer), and `w` for a writer. */
async function createBigTable(h: Harness): Promise<void> {
  const client = createClient({ url: h.server.url });
  try {
    await client.batch(
      [
        "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)",
        `INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${BIG_ROWS}) SELECT x, printf('%.*c', 1000, 'b') FROM c`,
        "CREATE TABLE w (id INTEGER PRIMARY KEY, v BLOB)",
      ],
      "write",
    );
  } finally {
    client.close();
  }
}

/** Opens a `/v3/cursor` over `big`, waits for its first line (the baton) and stops reading. */
async function stalledCursor(h: Harness): Promise<{ stream: HttpStream; baton: string }> {
  const stream = await HttpStream.open(port(h), "POST", "/v3/cursor", json.encodeCursorReqBody({ baton: null, batch: { steps: [{ stmt: { sql: "SELECT id, v FROM big", args: [], namedArgs: [], wantRows: true } }] } }), {
    "content-type": "application/json",
  });
  await stream.waitFor(() => stream.body().includes(10), 10_000, "the cursor's first line");
  stream.pause();
  expect(stream.status).toBe(200);
  const head = stream.body().subarray(0, stream.body().indexOf(10)).toString();
  const baton = json.decodeCursorRespBody(head).baton;
  expect(baton).toEqual(expect.any(String));
  return { stream, baton: baton! };
}

/** A writer inserting 64 KB rows into `w` one after another until stopped; counts what it saw. */
class Writer {
  readonly #client: Client;
  ok = 0;
  readonly errors: string[] = [];
  #stop = false;
  readonly #loop: Promise<void>;

  constructor(url: string) {
    const client = createClient({ url });
    this.#client = client;
    this.#loop = (async () => {
      while (!this.#stop) {
        try {
          await within(client.execute("INSERT INTO w (v) VALUES (randomblob(65536))"), 30_000, "an INSERT");
          this.ok++;
        } catch (error) {
          this.errors.push(String((error as { code?: unknown }).code ?? (error as Error).message));
          await sleep(50);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    if (this.#stop) return this.#loop;
    this.#stop = true;
    await this.#loop;
    this.#client.close();
  }
}

describe("an HTTP cursor whose client stops reading", () => {
  it(
    `is ended after sendTimeoutMs (baton STREAM_STALLED); a writer goes on; the -wal file is back under walTruncateBytes`,
    () =>
      withHarness({ sendTimeoutMs: `${SEND_TIMEOUT_MS}ms`, walTruncateBytes: WAL_TRUNCATE_BYTES }, async (h) => {
        await createBigTable(h);
        // Start from a small WAL, so that what follows shows the pinned snapshot growing it and the guard shrinking it.
        const before = await pollUntil(() => walBytes(h), (size) => size <= WAL_TRUNCATE_BYTES, scaled(20_000), 200);
        expect(before.value, "the -wal file after creating the table").toBeLessThanOrEqual(WAL_TRUNCATE_BYTES);
        await runScenario(h, `5a. /v3/cursor over ${BIG_ROWS} × 1 KB, client stops reading, writer running`, { allowanceBytes: 150 * MiB }, async () => {
          const { stream, baton } = await stalledCursor(h);
          const pausedAt = performance.now();
          const writer = new Writer(h.server.url);
          let walPeak = 0;
          const walWatch = setInterval(() => (walPeak = Math.max(walPeak, walBytes(h))), 50);
          try {
            // Until the stream is cut off, its baton is refused as busy (409); then it names the reason.
            const answer = await pollUntil(
              () => postJson(`${h.server.url}/v3/pipeline`, { baton, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }),
              (a) => a.status !== 409,
              SEND_TIMEOUT_MS + 20_000,
              200,
            );
            const cutAfter = performance.now() - pausedAt;
            expect(answer.value.status, JSON.stringify(answer.value.json)).toBe(400);
            expect(answer.value.json.code).toBe("STREAM_STALLED");
            expect(cutAfter).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS * 0.9);
            // The writer goes on after the cut-off.
            const writesAtCut = writer.ok;
            await pollUntil(() => writer.ok, (n) => n >= writesAtCut + 5, 15_000);
            await writer.stop();
            clearInterval(walWatch);
            expect(writer.errors).toEqual([]);
            expect(writer.ok).toBeGreaterThanOrEqual(writesAtCut + 5);
            // The body was ended: reading on reaches its end.
            stream.resume();
            const end = await within(stream.ended, 15_000, "the end of the stalled cursor body");
            // The pinned snapshot let the WAL grow past the bound; with the reader gone it is checkpointed back.
            expect(walPeak, "the writer did not grow the -wal file past walTruncateBytes while the cursor pinned it").toBeGreaterThan(WAL_TRUNCATE_BYTES);
            const after = await pollUntil(() => walBytes(h), (size) => size <= WAL_TRUNCATE_BYTES, 15_000, 200);
            expect(after.value, "the -wal file 15 s after the cut-off").toBeLessThanOrEqual(WAL_TRUNCATE_BYTES);
            return {
              received: `body ${end.complete ? "ended complete" : "cut"} after ${(end.bodyBytes / MiB).toFixed(1)} MiB; baton → ${answer.value.status} ${answer.value.json.code} ${(cutAfter / 1000).toFixed(1)} s after it stopped reading; writer ${writer.ok} ok, 0 failed; -wal peak ${(walPeak / MiB).toFixed(1)} MiB → ${(after.value / 1024).toFixed(0)} KiB in ${(after.afterMs / 1000).toFixed(1)} s`,
            };
          } finally {
            clearInterval(walWatch);
            await writer.stop();
            stream.destroy();
          }
        });
      }),
    timeoutFor(scaled(90_000)),
  );

  it(
    "can be killed by an administrator while busy (DELETE /admin/sessions/<id> → 200, the body ends, baton STREAM_KILLED)",
    () =>
      withHarness({ sendTimeoutMs: "60s" }, async (h) => {
        await createBigTable(h);
        await runScenario(h, "5b. admin kill of a busy /v3/cursor stream (sendTimeoutMs 60 s)", { allowanceBytes: 150 * MiB }, async () => {
          const { stream, baton } = await stalledCursor(h);
          try {
            await sleep(300);
            const listed = await sessions(h);
            expect(listed).toHaveLength(1);
            expect(listed[0]!.busy).toBe(true);
            const kill = await fetch(`${h.server.url}/admin/sessions/${listed[0]!.id}`, { method: "DELETE" });
            const killBody = await kill.json();
            expect(kill.status, JSON.stringify(killBody)).toBe(200);
            stream.resume();
            const end = await within(stream.ended, 15_000, "the end of the killed cursor body");
            const lines = stream.body().toString().split("\n").filter((l) => l.length > 0);
            const last = lines.at(-1)!;
            // A body that ended cleanly says why in its last entry.
            if (end.complete) expect(JSON.parse(last)).toMatchObject({ type: "error", error: { code: "STREAM_KILLED" } });
            const answer = await postJson(`${h.server.url}/v3/pipeline`, { baton, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] });
            expect(answer.status).toBe(400);
            expect(answer.json.code).toBe("STREAM_KILLED");
            expect(await sessions(h)).toEqual([]);
            const lastEntry = end.complete ? (JSON.parse(last) as { type: string; error?: { code: string } }) : undefined;
            return {
              received: `kill → ${kill.status} ${JSON.stringify(killBody)}; body ${end.complete ? `ended complete, last entry ${lastEntry?.type}${lastEntry?.error ? ` ${lastEntry.error.code}` : ""}` : "cut"} after ${(end.bodyBytes / MiB).toFixed(1)} MiB; baton → ${answer.status} ${answer.json.code}`,
            };
          } finally {
            stream.destroy();
          }
        });
      }),
    timeoutFor(scaled(60_000)),
  );
});

describe("a WebSocket holding every connection with cursors it never fetches", () => {
  const CURSORS = 16;

  it(
    `${CURSORS} open_cursor, no fetch: ended after idleTimeoutMs; other clients of the database served, not POOL_TIMEOUT forever`,
    () =>
      withHarness({ idleTimeoutMs: `${IDLE_TIMEOUT_MS}ms`, maxConnections: CURSORS }, async (h) => {
        const sameDatabase = createClient({ url: h.server.url });
        await sameDatabase.batch(["CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO kv WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x, 'v' || x FROM c"], "write");
        try {
          await runScenario(h, `5c. ${CURSORS} ws cursors never fetched (maxConnections ${CURSORS})`, { allowanceBytes: 250 * MiB }, async () => {
            // Warm the pool first (all its connections open, their workers started), so that the cursors below
            // open at once rather than over more than idleTimeoutMs.
            const warm = await HranaWs.open(h.server.wsUrl, "hrana3");
            await Promise.all(Array.from({ length: CURSORS }, (_, i) => warm.ok({ type: "open_stream", streamId: i + 1 })));
            await Promise.all(Array.from({ length: CURSORS }, (_, i) => warm.ok({ type: "close_stream", streamId: i + 1 })));
            warm.close();
            const socket = await HranaWs.open(h.server.wsUrl, "hrana3");
            try {
              await Promise.all(
                Array.from({ length: CURSORS }, async (_, i) => {
                  await socket.ok({ type: "open_stream", streamId: i + 1 });
                  await socket.ok({ type: "open_cursor", streamId: i + 1, cursorId: i + 1, batch: { steps: [{ stmt: { sql: "SELECT k, v FROM kv", args: [], namedArgs: [], wantRows: true } }] } });
                  // One small fetch starts the cursor's statement (an open_cursor alone runs nothing and holds no
                  // connection): from here on the cursor pins its connection and the read snapshot.
                  await socket.ok({ type: "fetch_cursor", cursorId: i + 1, maxCount: 1 });
                }),
              );
              const openedAt = performance.now();
              // Every connection of the database is pinned by a cursor nobody fetches any more.
              const stats = (await (await fetch(`${h.server.url}/admin/databases`)).json()) as { databases: { name: string; pool: unknown }[] };
              const pool = stats.databases.find((d) => d.name === "default")?.pool;
              expect(pool, "the cursors do not pin every connection").toMatchObject({ inUse: CURSORS, max: CURSORS });
              // Another client of the same database: every connection is pinned until the cursors are reaped.
              const attempts: string[] = [];
              const served = await pollUntil(
                async () => {
                  try {
                    const rs = await within(sameDatabase.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: [7] }), 30_000, "a point SELECT");
                    attempts.push("ok");
                    return rs.rows[0]?.[0] === "v7";
                  } catch (error) {
                    attempts.push(String((error as { code?: unknown }).code ?? (error as Error).message.slice(0, 60)));
                    return false;
                  }
                },
                (ok) => ok,
                IDLE_TIMEOUT_MS + 20_000,
                100,
              );
              const servedAfter = performance.now() - openedAt;
              expect(served.value, `the other client of the database was never served: ${attempts.join(", ")}`).toBe(true);
              // And from then on, every time.
              for (let k = 1; k <= 10; k++) {
                const rs = await sameDatabase.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: [k] });
                expect(rs.rows[0]![0]).toBe(`v${k}`);
              }
              // The reaped streams say why; their cursors are gone (an error or an empty, done fetch). The socket lives.
              await sleep(Math.max(0, openedAt + IDLE_TIMEOUT_MS + 1000 - performance.now()));
              const execute = await socket.request({ type: "execute", streamId: 1, stmt: { sql: "SELECT 1", args: [], namedArgs: [], wantRows: true } });
              expect(execute.type).toBe("response_error");
              const executeCode = execute.type === "response_error" ? execute.error.code : null;
              expect(["STREAM_EXPIRED", "STREAM_NOT_OPEN"]).toContain(executeCode);
              const fetched = await socket.request({ type: "fetch_cursor", cursorId: CURSORS, maxCount: 100 });
              if (fetched.type === "response_error") expect(fetched.error.code).toBe("CURSOR_NOT_OPEN");
              else expect(fetched).toMatchObject({ type: "response_ok", response: { type: "fetch_cursor", entries: [], done: true } });
              expect(socket.closeInfo).toBeUndefined();
              const fetchSaid = fetched.type === "response_error" ? fetched.error.code : fetched.type === "response_ok" && fetched.response.type === "fetch_cursor" ? `${fetched.response.entries.length} entries, done ${fetched.response.done}` : fetched.type;
              return {
                received: `other client on the same database served ${(servedAfter / 1000).toFixed(1)} s after the cursors opened (attempts: ${attempts.join(", ")}); later execute → ${executeCode}, fetch → ${fetchSaid}`,
              };
            } finally {
              socket.close();
            }
          });
        } finally {
          sameDatabase.close();
        }
      }),
    timeoutFor(60_000),
  );
});

describe("a client that goes away while its stream holds the write lock and runs a long statement", () => {
  const limits = { statementTimeoutMs: "120s", busyTimeoutMs: "20s" };
  // These scenarios cost little memory: they share one server.
  let shared: Harness | undefined;
  beforeAll(async () => {
    shared = await startHarness(report, { limits });
  }, 60_000);
  afterAll(async () => {
    await shared?.dispose();
  });
  const withShared = (fn: (h: Harness) => Promise<void>) => fn(shared!);

  async function expectOtherWriteSucceeds(h: Harness, mark: string): Promise<string> {
    const writer = createClient({ url: h.server.url });
    try {
      const started = performance.now();
      // Without the interrupt, this waits for busyTimeoutMs (20 s) and fails with SQLITE_BUSY.
      await within(writer.execute("INSERT INTO t VALUES ('other')"), 60_000, "the other client's INSERT");
      const tookMs = performance.now() - started;
      const rows = await writer.execute("SELECT group_concat(x) FROM t");
      // The departed client's transaction was rolled back.
      expect(rows.rows[0]![0]).toBe("other");
      const left = await pollUntil(() => sessions(h), (list) => list.length === 0, 10_000);
      expect(left.value, `the ${mark} stream is still listed`).toEqual([]);
      return `other client's INSERT ok after ${(tookMs / 1000).toFixed(2)} s; the ${mark} row rolled back`;
    } finally {
      writer.close();
    }
  }

  async function createT(h: Harness): Promise<void> {
    const client = createClient({ url: h.server.url });
    await client.batch(["CREATE TABLE IF NOT EXISTS t (x TEXT)", "DELETE FROM t"], "write");
    client.close();
  }

  it(
    "WebSocket closed: its statement is interrupted, its transaction rolled back, another client's write succeeds",
    () =>
      withShared(async (h) => {
        await createT(h);
        await runScenario(h, "8a. ws closed mid-statement holding the write lock", { allowanceBytes: 100 * MiB }, async () => {
          const socket = await HranaWs.open(h.server.wsUrl, "hrana3");
          await socket.ok({ type: "open_stream", streamId: 1 });
          await socket.ok({ type: "execute", streamId: 1, stmt: { sql: "BEGIN IMMEDIATE", args: [], namedArgs: [], wantRows: false } });
          await socket.ok({ type: "execute", streamId: 1, stmt: { sql: "INSERT INTO t VALUES ('ws')", args: [], namedArgs: [], wantRows: false } });
          const runaway = socket.request({ type: "execute", streamId: 1, stmt: { sql: RUNAWAY, args: [], namedArgs: [], wantRows: true } }).catch(() => "cut");
          await sleep(500);
          socket.terminate();
          await runaway;
          return { received: `socket terminated mid-statement; ${await expectOtherWriteSucceeds(h, "ws")}` };
        });
      }),
    timeoutFor(90_000),
  );

  it(
    "HTTP client disconnecting mid-pipeline: same",
    () =>
      withShared(async (h) => {
        await createT(h);
        await runScenario(h, "8b. http client gone mid-pipeline holding the write lock", { allowanceBytes: 100 * MiB }, async () => {
          const stream = await HttpStream.open(
            port(h),
            "POST",
            "/v2/pipeline",
            JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "BEGIN IMMEDIATE" } }, { type: "execute", stmt: { sql: "INSERT INTO t VALUES ('http')" } }, { type: "execute", stmt: { sql: RUNAWAY } }] }),
            { "content-type": "application/json" },
          );
          // The runaway statement is running once the stream holds the lock and is busy.
          await pollUntil(() => sessions(h), (list) => list.length === 1 && list[0]!.busy && list[0]!.inTransaction !== false, 10_000, 50);
          await sleep(500);
          expect(stream.status, "the pipeline answered before the client went away").toBe(0);
          stream.destroy();
          return { received: `connection destroyed mid-statement; ${await expectOtherWriteSucceeds(h, "http")}` };
        });
      }),
    timeoutFor(90_000),
  );
});
