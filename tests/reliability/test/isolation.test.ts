/**
 * Isolation at the server: while database A runs runaway statements (until the statement deadline interrupts
 * them), point SELECTs to database B over HTTP and over WebSocket all complete, and complete before A's
 * statements end. Latencies are reported, not asserted (the machine is shared and noisy): the latency targets
 * live in `bench/server-isolation.mjs`.
 */
import { createClient, type Client } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HranadProcess } from "./support/hranad-process.js";
import { percentile, pick } from "./support/soak.js";

const STATEMENT_TIMEOUT_MS = 5000;
const RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
const B_REQUESTS = pick(150, 1500);

let server: HranadProcess;

beforeAll(async () => {
  server = await HranadProcess.start({
    databases: [
      { name: "a", mode: "create" },
      { name: "b", mode: "create" },
    ],
    limits: { statementTimeoutMs: pick(STATEMENT_TIMEOUT_MS, 60_000) },
  });
  const b = createClient({ url: `${server.url}/b/` });
  await b.batch(["CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO kv SELECT value, 'v' || value FROM json_each((SELECT json_group_array(x) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c)))"], "write");
  b.close();
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

/** `count` sequential point SELECTs; returns each one's latency and when the last one finished. */
async function pointSelects(client: Client, count: number): Promise<{ latencies: number[]; finishedAt: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const rs = await client.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: [1 + (i % 1000)] });
    latencies.push(performance.now() - started);
    expect(rs.rows[0]![0]).toBe(`v${1 + (i % 1000)}`);
  }
  return { latencies, finishedAt: performance.now() };
}

function describeLatencies(latencies: number[]): string {
  const sorted = [...latencies].sort((x, y) => x - y);
  return `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`;
}

describe("a runaway statement on one database", () => {
  it(
    "does not hold up point SELECTs on another database, over HTTP or WebSocket",
    async () => {
      const aHttp = createClient({ url: `${server.url}/a/` });
      const aWs = createClient({ url: `${server.wsUrl}/a` });
      const bHttp = createClient({ url: `${server.url}/b/` });
      const bWs = createClient({ url: `${server.wsUrl}/b` });
      try {
        // B idle, for the report (and to open B's connections).
        const idleHttp = await pointSelects(bHttp, 50);
        const idleWs = await pointSelects(bWs, 50);

        // Two runaway statements on A, one per transport: each runs until the deadline interrupts it.
        const started = performance.now();
        const settle = (p: Promise<unknown>) =>
          p.then(
            () => ({ error: undefined as unknown, endedAt: performance.now() }),
            (error: unknown) => ({ error, endedAt: performance.now() }),
          );
        const runaways = [settle(aHttp.execute(RUNAWAY)), settle(aWs.execute(RUNAWAY))];

        const [http, ws] = await Promise.all([pointSelects(bHttp, B_REQUESTS), pointSelects(bWs, B_REQUESTS)]);
        const ends = await Promise.all(runaways);
        const aEndedAt = Math.min(...ends.map((e) => e.endedAt));
        console.log(
          `[isolation] B idle: http ${describeLatencies(idleHttp.latencies)}; ws ${describeLatencies(idleWs.latencies)}\n` +
            `[isolation] B while A runs: http ${describeLatencies(http.latencies)}; ws ${describeLatencies(ws.latencies)}; ` +
            `B done ${(Math.max(http.finishedAt, ws.finishedAt) - started).toFixed(0)} ms after A started, A interrupted after ${(aEndedAt - started).toFixed(0)} ms`,
        );
        // All of B's requests completed while A's statements were still running.
        expect(http.latencies).toHaveLength(B_REQUESTS);
        expect(ws.latencies).toHaveLength(B_REQUESTS);
        expect(Math.max(http.finishedAt, ws.finishedAt)).toBeLessThan(aEndedAt);
        // And A's statements ended by the deadline, with SQLite's interrupt, not by finishing or by a crash.
        for (const end of ends) {
          expect((end.error as { code?: string } | undefined)?.code).toBe("SQLITE_INTERRUPT");
        }
        expect(server.alive).toBe(true);
      } finally {
        for (const client of [aHttp, aWs, bHttp, bWs]) client.close();
      }
    },
    pick(60_000, 180_000),
  );
});
