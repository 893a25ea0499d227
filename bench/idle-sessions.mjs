// 1 000 idle interactive sessions over 100 databases (declared in a YAML config): each opened over HTTP with
// `BEGIN` and its baton kept. Reports the time to open them, the server's RSS per session, and the p50/p99
// latency of a new request (a fresh stream: point SELECT + close) while they are held, as a ratio to the latency
// with none held (measured before opening and after closing them, in the same run).
// Opening stops early (and says so) if the server's RSS passes a safety cap or the open phase takes too long.
// With --autocommit each stream is opened with `SELECT 1` instead (an idle stream in autocommit, which holds no
// connection between requests). With --read each stream is an open read transaction: `BEGIN` and a SELECT (so it
// holds a read snapshot), left open with its baton; the report adds MiB per transaction with the whole server's RSS
// included (aim: < 2 MiB). Before opening, the session count is scaled down (and the output says so) when the
// machine's available memory could not hold it at ~10 MiB per pinned connection.
// All streams come from this one process (one address): the per-client cap is raised to the per-database cap.
// `--open-seconds S` changes how long opening may take (default 240 s).
//   node bench/idle-sessions.mjs [--quick] [--cpu-prof] [--autocommit | --read] [--sessions N] [--databases N] [--open-seconds S]
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  JsonClient,
  commandLine,
  firstResult,
  formatMiB,
  formatNumber,
  integer,
  machineLine,
  makeTempDir,
  percentile,
  pipelineBody,
  pipelineErrorCode,
  printTable,
  rssBytes,
  startHranad,
  mapCount,
  threadCount,
} from "./lib/common.mjs";
import { KV_ROWS, POINT_SELECT, createKv } from "./lib/fixtures.mjs";

const argv = process.argv.slice(2);
const take = (flag) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv.splice(i, 2)[1]) : undefined;
};
const sessionsArg = take("--sessions");
const databasesArg = take("--databases");
const openSecondsArg = take("--open-seconds");
const quick = argv.includes("--quick");
const cpuProf = argv.includes("--cpu-prof");
const autocommit = argv.includes("--autocommit");
const read = argv.includes("--read");
for (const arg of argv) if (!["--quick", "--cpu-prof", "--autocommit", "--read"].includes(arg)) throw new Error(`unknown option ${arg}`);
if (autocommit && read) throw new Error("--autocommit and --read exclude each other");
const MODE = autocommit ? "autocommit" : read ? "read transactions" : "BEGIN";

const REQUESTED_SESSIONS = sessionsArg ?? (quick ? 100 : 1000);
const DATABASES = databasesArg ?? (quick ? 10 : 100);
const OPENERS = 8;
const PROBES = quick ? 100 : 400;
const RSS_CAP = 12 * 1024 ** 3;
/** Opening also stops while the machine has less than this available (it is shared). */
const MIN_AVAILABLE = 6 * 1024 ** 3;
// Each session pins a connection, and each connection starts a worker thread: opening is slow, hence the long cap.
const OPEN_PHASE_CAP_MS = openSecondsArg !== undefined ? openSecondsArg * 1000 : quick ? 30_000 : 240_000;

function memAvailable() {
  const match = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return match ? Number(match[1]) * 1024 : Infinity;
}

/** A stream that holds a transaction pins a connection (a worker each, measured at 7–9 MiB): plan for 10 MiB. */
const PINNED_BYTES = 10 * 1024 ** 2;
/** The server with every database touched once (one connection each, measured at ~9 MiB) plus its own ~100 MiB. */
const baseBytes = (databases) => 100 * 1024 ** 2 + databases * 10 * 1024 ** 2;
let scaledNote = null;
let SESSIONS = REQUESTED_SESSIONS;
if (!autocommit) {
  const room = memAvailable() - MIN_AVAILABLE - baseBytes(databasesArg ?? (quick ? 10 : 100));
  const fits = Math.max(0, Math.floor(room / PINNED_BYTES));
  if (fits < SESSIONS) {
    scaledNote = `scaled down from ${REQUESTED_SESSIONS} to ${fits} sessions: ${formatMiB(memAvailable())} available on the machine, ${formatMiB(MIN_AVAILABLE)} kept free`;
    SESSIONS = fits;
  }
}

const dbName = (i) => `db${String(i).padStart(3, "0")}`;

/** The pipeline that opens one held stream (no close). */
function openBody() {
  if (autocommit) return pipelineBody("SELECT 1", [], { keepOpen: true });
  if (!read) return pipelineBody("BEGIN", [], { keepOpen: true });
  const execute = (sql) => ({ type: "execute", stmt: { sql } });
  return JSON.stringify({ baton: null, requests: [execute("BEGIN"), execute("SELECT count(*) FROM kv")] });
}

async function probe(client, count) {
  const latencies = [];
  const errors = new Map();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const response = await client.post(`/${dbName(0)}/v2/pipeline`, pipelineBody(POINT_SELECT, [integer((i % KV_ROWS) + 1)]));
    const code = pipelineErrorCode(response);
    if (code === null) latencies.push(performance.now() - t0);
    else errors.set(code, (errors.get(code) ?? 0) + 1);
  }
  return { latencies, errors };
}

async function main() {
  console.log(
    `idle-sessions (${MODE}): ${machineLine()}; ${SESSIONS} sessions over ${DATABASES} databases${quick ? " (quick: fewer sessions)" : ""}; ` +
      `machine memory available ${formatMiB(memAvailable())}`,
  );
  if (scaledNote) console.log(`NOTE: ${scaledNote}`);
  const temp = makeTempDir("idle");
  const dataDir = join(temp.dir, "data");
  mkdirSync(dataDir);
  let server;
  const openers = [];
  let probeClient;
  try {
    for (let d = 0; d < DATABASES; d++) createKv(join(dataDir, `${dbName(d)}.db`));
    const perDatabase = Math.ceil(SESSIONS / DATABASES);
    server = await startHranad({
      dataDir,
      configDir: temp.dir,
      config: {
        databases: Array.from({ length: DATABASES }, (_, d) => ({ name: dbName(d), mode: "readwrite" })),
        limits: {
          idleTimeoutMs: "30m",
          maxLifetimeMs: "2h",
          maxSessionsPerDatabase: perDatabase + 8,
          maxSessionsPerClient: perDatabase + 8,
          maxConnections: perDatabase + 4,
        },
      },
      cpuProfDir: cpuProf ? join(process.cwd(), "cpu-profiles") : undefined,
    });
    const pid = server.pid;
    probeClient = new JsonClient(server.url);
    for (let i = 0; i < OPENERS; i++) openers.push(new JsonClient(server.url));

    const rssStart = rssBytes(pid);
    // Touch every database once (autocommit) so that opening a database is not counted as a session's cost.
    const tWarm = performance.now();
    for (let d = 0; d < DATABASES; d++) {
      firstResult(await probeClient.post(`/${dbName(d)}/v2/pipeline`, pipelineBody("SELECT count(*) FROM kv")));
    }
    const warmMs = performance.now() - tWarm;
    await probe(probeClient, 50); // JIT warm-up of the probe path
    await new Promise((r) => setTimeout(r, 500));
    const rssWarm = rssBytes(pid);
    const threadsWarm = threadCount(pid);
    const mapsWarm = mapCount(pid);

    const before = await probe(probeClient, PROBES);

    // Open the sessions: BEGIN (SELECT 1 with --autocommit, BEGIN and a SELECT with --read) on a new stream, keep the baton.
    const batons = [];
    const openErrors = new Map();
    let next = 0;
    let stopReason = null;
    const tOpen = performance.now();
    await Promise.all(
      openers.map(async (client) => {
        while (next < SESSIONS && stopReason === null) {
          const i = next++;
          const db = dbName(i % DATABASES);
          const response = await client.post(`/${db}/v2/pipeline`, openBody());
          const code = pipelineErrorCode(response);
          if (code === null && typeof response.json.baton === "string") batons.push({ db, baton: response.json.baton });
          else openErrors.set(code ?? "NO_BATON", (openErrors.get(code ?? "NO_BATON") ?? 0) + 1);
          if (i % 50 === 49) {
            const rss = rssBytes(pid) ?? 0;
            if (rss > RSS_CAP) stopReason = `server RSS passed ${formatMiB(RSS_CAP)}`;
            else if (memAvailable() < MIN_AVAILABLE) stopReason = `machine memory available fell below ${formatMiB(MIN_AVAILABLE)}`;
            else if (performance.now() - tOpen > OPEN_PHASE_CAP_MS) stopReason = `open phase passed ${OPEN_PHASE_CAP_MS / 1000} s`;
          }
        }
      }),
    );
    const openMs = performance.now() - tOpen;
    await new Promise((r) => setTimeout(r, 1000));
    const rssHeld = rssBytes(pid);
    const threadsHeld = threadCount(pid);
    const mapsHeld = mapCount(pid);

    const held = await probe(probeClient, PROBES);

    // Every held session must still be there: close each with its baton.
    const closeErrors = new Map();
    let cursor = 0;
    const tClose = performance.now();
    await Promise.all(
      openers.map(async (client) => {
        while (cursor < batons.length) {
          const { db, baton } = batons[cursor++];
          const response = await client.post(`/${db}/v2/pipeline`, JSON.stringify({ baton, requests: [{ type: "close" }] }));
          const code = pipelineErrorCode(response);
          if (code !== null) closeErrors.set(code, (closeErrors.get(code) ?? 0) + 1);
        }
      }),
    );
    const closeMs = performance.now() - tClose;
    await new Promise((r) => setTimeout(r, 500));
    const after = await probe(probeClient, PROBES);
    const rssAfter = rssBytes(pid);
    const threadsAfter = threadCount(pid);
    const mapsAfter = mapCount(pid);

    const opened = batons.length;
    const perSession = (rssHeld - rssWarm) / Math.max(1, opened);
    const none = [...before.latencies, ...after.latencies];
    const rows = [
      ["none held (before + after)", formatNumber(none.length), percentile(none, 50).toFixed(2), percentile(none, 99).toFixed(2)],
      [`${opened} held`, formatNumber(held.latencies.length), percentile(held.latencies, 50).toFixed(2), percentile(held.latencies, 99).toFixed(2)],
    ];
    printTable(["new request on db000", "requests", "p50 ms", "p99 ms"], rows);
    console.log("");
    printTable(
      ["phase", "server RSS", "threads", "memory maps", "time"],
      [
        ["started", formatMiB(rssStart), "", "", ""],
        [`${DATABASES} databases touched`, formatMiB(rssWarm), String(threadsWarm), String(mapsWarm), `${(warmMs / 1000).toFixed(1)} s`],
        [`${opened} sessions open`, formatMiB(rssHeld), String(threadsHeld), String(mapsHeld), `${(openMs / 1000).toFixed(1)} s to open`],
        ["all closed", formatMiB(rssAfter), String(threadsAfter), String(mapsAfter), `${(closeMs / 1000).toFixed(1)} s to close`],
      ],
    );
    const errors = [...openErrors, ...closeErrors, ...before.errors, ...held.errors, ...after.errors];
    if (errors.length > 0) console.log(`errors: ${errors.map(([code, n]) => `${code}: ${n}`).join(", ")}`);
    if (stopReason) console.log(`opening stopped early: ${stopReason}`);
    const p50Ratio = percentile(held.latencies, 50) / percentile(none, 50);
    const p99Ratio = percentile(held.latencies, 99) / percentile(none, 99);
    if (read) {
      const perTransaction = rssHeld / Math.max(1, opened);
      console.log(
        `\nSUMMARY idle-sessions (read transactions): ${opened}/${SESSIONS} open read transactions (BEGIN + SELECT, baton kept) over ` +
          `${DATABASES} databases${scaledNote ? ` (${scaledNote})` : ""}: ${formatMiB(perTransaction)} per transaction with the server's RSS ` +
          `included (${formatMiB(rssHeld)} / ${opened}; aim < 2 MiB → ${perTransaction < 2 * 1024 ** 2 ? "met" : "missed"}); ` +
          `${formatMiB(perSession)} each beyond the ${DATABASES} touched databases`,
      );
    }
    console.log(
      `${read ? "" : "\n"}SUMMARY idle-sessions (${MODE}): ${opened}/${SESSIONS} sessions over ${DATABASES} databases opened in ${(openMs / 1000).toFixed(1)} s ` +
        `(${formatNumber(opened / (openMs / 1000))}/s); RSS ${formatMiB(perSession)} per session (${formatMiB(rssHeld - rssWarm)} total, ` +
        `${threadsHeld - threadsWarm} more threads); new-request latency held ÷ none: p50 ${p50Ratio.toFixed(2)}, p99 ${p99Ratio.toFixed(2)}; ` +
        `errors ${errors.reduce((n, [, k]) => n + k, 0)}${stopReason ? `; STOPPED EARLY (${stopReason})` : ""}`,
    );
    console.log(`command: ${commandLine()}`);
    process.exitCode = errors.length === 0 && stopReason === null ? 0 : 1;
  } finally {
    probeClient?.close();
    for (const client of openers) client.close();
    await server?.stop();
    temp.remove();
  }
}

await main();
