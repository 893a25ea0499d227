#!/usr/bin/env node
// Isolation benchmark of the worker-thread driver host (better-sqlite3 driver):
//  1. point-SELECT latency on database B, idle, then while database A runs a 3-second statement;
//  2. per-statement cost against a direct in-process better-sqlite3 call;
//  3. memory per connection and connection start-up time (cold worker vs warm worker);
//  4. through the server: point-SELECT latency on database B, one-shot and inside B's transactions, idle, then
//     while several clients flood database A with many distinct slow statements (one-shot `[execute, close]`).
// Run after `pnpm build`: `node bench/isolation.mjs` (or `pnpm --filter @hranad/bench isolation`);
// `node bench/isolation.mjs --flood-only` runs section 4 alone. `--statements N`, `--flooders N` size the flood.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { WorkerPool } from "@hranad/runtime";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { JsonClient, commandLine, integer, pipelineBody, pipelineErrorCode, startHranad } from "./lib/common.mjs";
import { KV_ROWS, POINT_SELECT, createKv } from "./lib/fixtures.mjs";

const argv = process.argv.slice(2);
const option = (flag, fallback) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv.splice(i, 2)[1]) : fallback;
};
const FLOOD_STATEMENTS = option("--statements", 200);
const FLOODERS = option("--flooders", 4);
const floodOnly = argv.includes("--flood-only");
for (const arg of argv) if (arg !== "--flood-only") throw new Error(`unknown option ${arg} (known: --flood-only, --statements N, --flooders N)`);

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
  const driverPass = floodOnly ? true : await driverSections();
  const floodPass = await floodSection();
  console.log(`\nload average at the end: ${loadavg().map((n) => n.toFixed(2)).join(" ")}`);
  console.log(`isolation: ${driverPass && floodPass ? "PASS" : "FAIL"}`);
  console.log(`command: ${commandLine()}`);
  return driverPass && floodPass;
}

/** Sections 1–3: the driver alone, in this process. Returns section 1's verdict. */
async function driverSections() {
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
  console.log("");
  return pass;
}

/** Milliseconds per row of the flood's recursive CTE, measured in process (better-sqlite3, same engine). */
function cteMsPerRow() {
  const db = new Database(":memory:");
  const count = db.prepare("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT count(*) FROM c");
  count.get(100_000);
  const rows = 1_000_000;
  const times = [];
  for (let i = 0; i < 3; i += 1) {
    const start = now();
    count.get(rows);
    times.push(now() - start);
  }
  db.close();
  return summarize(times).p50 / rows;
}

/**
 * The flood's statements: distinct recursive-CTE SELECTs (no two texts alike, so none is known to be slow before it
 * runs) of 50–200 ms each on this machine, spread evenly.
 */
function floodStatements(count) {
  const msPerRow = cteMsPerRow();
  return Array.from({ length: count }, (_, k) => {
    const targetMs = 50 + ((k * 97) % 151);
    const rows = Math.round(targetMs / msPerRow) + k;
    return { targetMs, sql: `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) SELECT count(*) FROM c` };
  });
}

/** One-shot point SELECTs on B (`[execute, close]`), one at a time, until `until()`; latencies in ms. */
async function oneShotLoop(client, until, errors) {
  const samples = [];
  for (let i = 0; !until(); i += 1) {
    const start = now();
    const answer = await client.post("/b/v2/pipeline", pipelineBody(POINT_SELECT, [integer((i % KV_ROWS) + 1)]));
    const code = pipelineErrorCode(answer);
    if (code === null) samples.push(now() - start);
    else errors.set(code, (errors.get(code) ?? 0) + 1);
  }
  return samples;
}

/** B's transactions: BEGIN, then 10 point SELECTs each its own request on the stream, then COMMIT and close. */
async function transactionLoop(client, until, errors) {
  const samples = [];
  const fail = (code) => errors.set(code, (errors.get(code) ?? 0) + 1);
  while (!until()) {
    let answer = await client.post("/b/v2/pipeline", pipelineBody("BEGIN", [], { keepOpen: true }));
    if (pipelineErrorCode(answer) !== null) {
      fail(pipelineErrorCode(answer));
      continue;
    }
    let baton = answer.json.baton;
    for (let i = 0; i < 10 && baton; i += 1) {
      const start = now();
      answer = await client.post("/b/v2/pipeline", pipelineBody(POINT_SELECT, [integer(1 + Math.floor(Math.random() * KV_ROWS))], { baton, keepOpen: true }));
      const code = pipelineErrorCode(answer);
      if (code === null) samples.push(now() - start);
      else fail(code);
      baton = answer.json?.baton ?? null;
    }
    if (baton) {
      answer = await client.post("/b/v2/pipeline", JSON.stringify({ baton, requests: [{ type: "execute", stmt: { sql: "COMMIT" } }, { type: "close" }] }));
      if (pipelineErrorCode(answer) !== null) fail(pipelineErrorCode(answer));
    }
  }
  return samples;
}

/** Section 4: B's latency through the server while clients flood A with distinct slow one-shot statements. */
async function floodSection() {
  const statements = floodStatements(FLOOD_STATEMENTS);
  const dataDir = join(dir, "server");
  mkdirSync(dataDir);
  createKv(join(dataDir, "b.db"));
  const server = await startHranad({
    dataDir,
    configDir: dir,
    config: { databases: [{ name: "a", mode: "create" }, { name: "b", mode: "readwrite" }] },
  });
  const clients = [];
  const client = () => {
    const c = new JsonClient(server.url);
    clients.push(c);
    return c;
  };
  try {
    const oneShot = client();
    const inTransaction = client();
    const errors = new Map();
    // warm-up, then the idle baseline (3 s of each, side by side)
    let until = now() + 1000;
    await Promise.all([oneShotLoop(oneShot, () => now() > until, errors), transactionLoop(inTransaction, () => now() > until, errors)]);
    until = now() + 3000;
    const [idleOne, idleTx] = await Promise.all([
      oneShotLoop(oneShot, () => now() > until, errors),
      transactionLoop(inTransaction, () => now() > until, errors),
    ]);

    // the flood: FLOODERS clients take the next statement until all have run
    let next = 0;
    let floodDone = false;
    const floodErrors = new Map();
    const floodLatencies = [];
    const floodStart = now();
    const flood = Promise.all(
      Array.from({ length: FLOODERS }, async () => {
        const flooder = client();
        while (next < statements.length) {
          const { sql } = statements[next++];
          const start = now();
          const code = pipelineErrorCode(await flooder.post("/a/v2/pipeline", pipelineBody(sql)));
          if (code === null) floodLatencies.push(now() - start);
          else floodErrors.set(code, (floodErrors.get(code) ?? 0) + 1);
        }
      }),
    ).then(() => (floodDone = true));
    const [busyOne, busyTx] = await Promise.all([
      oneShotLoop(oneShot, () => floodDone, errors),
      transactionLoop(inTransaction, () => floodDone, errors),
    ]);
    await flood;
    const floodMs = now() - floodStart;

    const rows = [];
    let pass = true;
    for (const [how, idleSamples, busySamples] of [
      ["one-shot [execute, close]", idleOne, busyOne],
      ["inside a transaction", idleTx, busyTx],
    ]) {
      const idle = summarize(idleSamples);
      const busy = summarize(busySamples);
      const p99Limit = Math.max(5, 3 * idle.p99);
      const ok = busy.p99 < p99Limit && busy.max < 50;
      pass &&= ok;
      rows.push([how, "idle", idle.n, fmt(idle.p50, 3), fmt(idle.p99, 3), fmt(idle.max, 3), "", ""]);
      rows.push([how, "A flooded", busy.n, fmt(busy.p50, 3), fmt(busy.p99, 3), fmt(busy.max, 3), `< ${fmt(p99Limit, 3)}, max < 50`, ok ? "PASS" : "FAIL"]);
    }
    const targets = statements.map((s) => s.targetMs);
    const floodSummary = summarize(floodLatencies);
    console.log(
      `4. Through the server: point SELECT on database B while ${FLOODERS} clients flood database A with ${statements.length} ` +
        `distinct slow one-shot SELECTs (recursive CTEs sized ${Math.min(...targets)}–${Math.max(...targets)} ms in process), latency in ms`,
    );
    table(["database B request", "phase", "samples", "p50", "p99", "max", "target p99", "verdict"], rows);
    const errorText = (map) => (map.size === 0 ? "none" : [...map].map(([code, n]) => `${code}: ${n}`).join(", "));
    console.log(
      `   A's flood: ${floodLatencies.length}/${statements.length} answered in ${fmt(floodMs / 1000, 1)} s, per statement p50 ` +
        `${fmt(floodSummary.p50, 0)} ms, max ${fmt(floodSummary.max, 0)} ms; errors on A: ${errorText(floodErrors)}; on B: ${errorText(errors)}`,
    );
    console.log(
      `SUMMARY isolation flood: ${pass ? "PASS" : "FAIL"} — B one-shot p99 ${fmt(summarize(busyOne).p99, 2)} ms (idle ${fmt(summarize(idleOne).p99, 2)}), ` +
        `max ${fmt(summarize(busyOne).max, 1)} ms; in transactions p99 ${fmt(summarize(busyTx).p99, 2)} ms (idle ${fmt(summarize(idleTx).p99, 2)}), ` +
        `max ${fmt(summarize(busyTx).max, 1)} ms; target p99 < max(5 ms, 3× idle p99), max < 50 ms`,
    );
    return pass && errors.size === 0;
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

try {
  const pass = await main();
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
