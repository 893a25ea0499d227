#!/usr/bin/env node
// Isolation benchmark of the worker-thread driver host (better-sqlite3 driver):
//  1. point-SELECT latency on database B, idle, then while database A runs a 3-second statement;
//  2. per-statement cost against a direct in-process better-sqlite3 call;
//  3. memory per connection and connection start-up time (cold worker vs warm worker).
// Run after `pnpm build`: `node bench/isolation.mjs` (or `pnpm --filter @hranad/bench isolation`).
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { WorkerPool } from "@hranad/runtime";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";

const ROWS = 10_000;
const LONG_STATEMENT_MS = 3_000;
const CONNECTIONS = Number(process.env.ISOLATION_CONNECTIONS ?? 200);
const RUNAWAY = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";
const POINT = "SELECT v FROM kv WHERE id = ?";

const dir = mkdtempSync(join(tmpdir(), "hranad-bench-"));
const pathA = join(dir, "a.db");
const pathB = join(dir, "b.db");
const now = () => performance.now();
const randomId = () => BigInt(1 + Math.floor(Math.random() * ROWS));
const fmt = (n, digits = 2) => n.toFixed(digits);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

async function pointSelects(connection, { count, until }) {
  const samples = [];
  for (let i = 0; count === undefined || i < count; i += 1) {
    if (until && until()) break;
    const start = now();
    await connection.execute({ sql: POINT, args: [randomId()] });
    samples.push(now() - start);
  }
  return samples;
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join("  ");
  console.log(line(headers));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

async function main() {
  console.log(`hranad driver isolation benchmark — better-sqlite3 driver, Node ${process.version}, ${new Date().toISOString()}`);
  const load = loadavg().map((n) => n.toFixed(2)).join(" ");
  console.log(`${availableParallelism()} CPUs, load average ${load} at start (latency maxima depend on it)\n`);

  // --- setup: database B with a keyed table, database A empty ---
  const poolB = await betterSqlite3Driver.open({ path: pathB, mode: "create", maxConnections: 2 });
  const b = await poolB.acquire();
  await b.executeScript(
    `CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT);
     WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ROWS})
     INSERT INTO kv SELECT i, 'value ' || i FROM c;`,
  );
  const poolA = await betterSqlite3Driver.open({ path: pathA, mode: "create", statementTimeoutMs: LONG_STATEMENT_MS });
  const a = await poolA.acquire();

  // --- 1. isolation ---
  await pointSelects(b, { count: 500 }); // warm-up
  const idle = summarize(await pointSelects(b, { count: 3000 }));
  let longDone = false;
  const longStart = now();
  const long = a.execute({ sql: RUNAWAY }).then(
    () => "finished",
    (error) => error.code ?? String(error),
  );
  void long.then(() => (longDone = true));
  const busySamples = await pointSelects(b, { until: () => longDone });
  const longOutcome = await long;
  const longMs = now() - longStart;
  const busy = summarize(busySamples);

  console.log(`1. Point SELECT on database B (${ROWS} rows), latency in ms`);
  table(
    ["database B", "samples", "p50", "p99", "max"],
    [
      ["idle", idle.n, fmt(idle.p50, 3), fmt(idle.p99, 3), fmt(idle.max, 3)],
      ["A runs a long statement", busy.n, fmt(busy.p50, 3), fmt(busy.p99, 3), fmt(busy.max, 3)],
    ],
  );
  const p99Limit = Math.max(5, 3 * idle.p99);
  const pass = busy.p99 < p99Limit && busy.max < 50;
  console.log(`   A's statement: ${fmt(longMs, 0)} ms, ended with ${longOutcome} (deadline ${LONG_STATEMENT_MS} ms)`);
  console.log(
    `   target: p99 < ${fmt(p99Limit, 3)} ms (5 ms or 3× idle p99) and max < 50 ms → ${pass ? "PASS" : "FAIL"}\n`,
  );

  // --- 2. per-statement cost ---
  const direct = new Database(pathB, { readonly: true });
  direct.defaultSafeIntegers(true);
  const statement = direct.prepare(POINT).raw(true);
  for (let i = 0; i < 5000; i += 1) statement.all(randomId());
  const directN = 100_000;
  let start = now();
  for (let i = 0; i < directN; i += 1) statement.all(randomId());
  const directOps = directN / ((now() - start) / 1000);
  direct.close();

  const sequentialN = 10_000;
  start = now();
  await pointSelects(b, { count: sequentialN });
  const sequentialOps = sequentialN / ((now() - start) / 1000);

  const depth = 16;
  const pipelinedN = 20_000;
  start = now();
  for (let done = 0; done < pipelinedN; done += depth) {
    await Promise.all(Array.from({ length: depth }, () => b.execute({ sql: POINT, args: [randomId()] })));
  }
  const pipelinedOps = pipelinedN / ((now() - start) / 1000);

  console.log("2. Per-statement cost (point SELECT by primary key)");
  table(
    ["how", "ops/s", "µs/op", "× direct cost"],
    [
      ["direct better-sqlite3, in process", fmt(directOps, 0), fmt(1e6 / directOps, 1), "1.0"],
      ["driver, one awaited at a time", fmt(sequentialOps, 0), fmt(1e6 / sequentialOps, 1), fmt(directOps / sequentialOps, 1)],
      [`driver, ${depth} in flight on one connection`, fmt(pipelinedOps, 0), fmt(1e6 / pipelinedOps, 1), fmt(directOps / pipelinedOps, 1)],
    ],
  );
  console.log("");

  await b.release();
  await a.release();
  await Promise.all([poolA.close(), poolB.close()]);

  // --- 3. memory and start-up ---
  const workers = WorkerPool.shared();
  const startup = { cold: [], warm: [] };
  for (let i = 0; i < 5; i += 1) {
    workers.close(); // no warm worker: the next open starts one
    start = now();
    const cold = await betterSqlite3Driver.open({ path: pathB, mode: "readwrite" });
    startup.cold.push(now() - start);
    await cold.close(); // its worker stays warm
    start = now();
    const warm = await betterSqlite3Driver.open({ path: pathB, mode: "readwrite" });
    startup.warm.push(now() - start);
    await warm.close();
  }
  workers.close();

  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const rssBefore = process.memoryUsage().rss;
  const many = await betterSqlite3Driver.open({
    path: pathB,
    mode: "readwrite",
    maxConnections: CONNECTIONS,
    acquireTimeoutMs: 600_000,
  });
  start = now();
  const leases = [];
  // Open in small batches: a burst of hundreds of worker starts at once only makes each one slower.
  for (let i = 0; i < CONNECTIONS; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, CONNECTIONS - i) }, () => many.acquire()));
    await Promise.all(batch.map((lease) => lease.execute({ sql: POINT, args: [randomId()] })));
    leases.push(...batch);
  }
  const openMs = now() - start;
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssAfter = process.memoryUsage().rss;
  await Promise.all(leases.map((lease) => lease.release()));
  await many.close();
  workers.close();

  const median = (values) => summarize(values).p50;
  console.log("3. Connections: memory and start-up");
  table(
    ["measure", "value"],
    [
      [`RSS per connection (${CONNECTIONS} open, each in its worker)`, `${fmt((rssAfter - rssBefore) / CONNECTIONS / 1048576)} MiB`],
      [`opening ${CONNECTIONS} connections (batches of 10)`, `${fmt(openMs, 0)} ms (${fmt(openMs / CONNECTIONS, 1)} ms each)`],
      ["open a pool, cold (starts a worker), median of 5", `${fmt(median(startup.cold), 1)} ms`],
      ["open a pool, warm worker reused, median of 5", `${fmt(median(startup.warm), 1)} ms`],
    ],
  );
  console.log(`\nload average at the end: ${loadavg().map((n) => n.toFixed(2)).join(" ")}`);
  console.log(`isolation: ${pass ? "PASS" : "FAIL"}`);
  return pass;
}

try {
  const pass = await main();
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
