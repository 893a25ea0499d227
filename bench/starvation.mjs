// Abandoned streams: 20 HTTP streams opened with `[execute SELECT 1]` and never closed (as any crashed or careless
// client leaves them), then plain requests (`[execute, close]`) from another client. Before idle streams gave their
// connection back, each abandoned stream pinned one of the database's 16 connections for the idle timeout, and the
// next request waited for POOL_TIMEOUT. Prints the plain request's latency with the abandoned streams held, as a
// ratio to the latency with none, measured in the same run. Target: answered in < 100 ms.
// Then one client (address 127.0.0.3) tries to abandon `--hog` streams (default 200, more than the database's 128
// slots): the per-client cap (`maxSessionsPerClient`, a quarter of the database's) stops it, and a neighbour (address
// 127.0.0.2) must still open its own streams and a transaction, and be answered as before. Needs Linux (every
// 127.x.x.x is loopback).
//   node bench/starvation.mjs [--abandoned N] [--requests N] [--hog N]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  JsonClient,
  commandLine,
  firstResult,
  machineLine,
  makeTempDir,
  percentile,
  pipelineBody,
  pipelineErrorCode,
  printTable,
  startHranad,
} from "./lib/common.mjs";

const argv = process.argv.slice(2);
const take = (flag, fallback) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const ABANDONED = take("--abandoned", 20);
const REQUESTS = take("--requests", 200);
const HOG = take("--hog", 200);
const NEIGHBOUR_STREAMS = 5;
const TARGET_MS = 100;

const tally = (map) => (map.size === 0 ? "none" : [...map].map(([code, n]) => `${code} × ${n}`).join(", "));

async function plainRequests(client, count) {
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    firstResult(await client.post("/v2/pipeline", pipelineBody("SELECT 1")));
    latencies.push(performance.now() - start);
  }
  return latencies;
}

async function main() {
  console.log(`starvation: ${machineLine()}; ${ABANDONED} abandoned streams, ${REQUESTS} plain requests per phase`);
  const temp = makeTempDir("starvation");
  const dataDir = join(temp.dir, "data");
  mkdirSync(dataDir);
  let hranad;
  const abandoners = [];
  const client = { current: undefined };
  try {
    hranad = await startHranad({ dataDir, configDir: temp.dir, config: { limits: { idleTimeoutMs: "60s" } } });
    client.current = new JsonClient(hranad.url);
    await plainRequests(client.current, 20); // warm
    const none = await plainRequests(client.current, REQUESTS);
    const openedAt = performance.now();
    for (let i = 0; i < ABANDONED; i++) {
      const abandoner = new JsonClient(hranad.url);
      abandoners.push(abandoner);
      const answer = await abandoner.post("/v2/pipeline", pipelineBody("SELECT 1", [], { keepOpen: true }));
      if (typeof answer.json?.baton !== "string") throw new Error(`stream ${i} not opened: ${answer.raw.slice(0, 200)}`);
    }
    const openMs = performance.now() - openedAt;
    const first = performance.now();
    firstResult(await client.current.post("/v2/pipeline", pipelineBody("SELECT 1")));
    const firstMs = performance.now() - first;
    const held = await plainRequests(client.current, REQUESTS);
    printTable(
      ["phase", "requests", "p50 ms", "p99 ms", "max ms"],
      [
        ["no abandoned stream", String(none.length), percentile(none, 50).toFixed(2), percentile(none, 99).toFixed(2), Math.max(...none).toFixed(2)],
        [`${ABANDONED} abandoned streams`, String(held.length), percentile(held, 50).toFixed(2), percentile(held, 99).toFixed(2), Math.max(...held).toFixed(2)],
      ],
    );

    const verdict = firstMs < TARGET_MS && Math.max(...held) < TARGET_MS ? "PASS" : "FAIL";
    console.log(
      `\nSUMMARY starvation: ${verdict} — ${ABANDONED} streams abandoned in ${openMs.toFixed(0)} ms; the next plain request answered in ` +
        `${firstMs.toFixed(1)} ms (target < ${TARGET_MS} ms); with them held p50 ${percentile(held, 50).toFixed(2)} ms, p99 ` +
        `${percentile(held, 99).toFixed(2)} ms = ${(percentile(held, 99) / percentile(none, 99)).toFixed(2)} × the p99 with none`,
    );

    // One client takes every slot it can; its neighbour must not notice.
    const hog = new JsonClient(hranad.url, { localAddress: "127.0.0.3" });
    abandoners.push(hog);
    const hogCodes = new Map();
    let hogOpened = 0;
    for (let i = 0; i < HOG; i++) {
      const answer = await hog.post("/v2/pipeline", pipelineBody("SELECT 1", [], { keepOpen: true }));
      const code = pipelineErrorCode(answer);
      if (code === null) hogOpened++;
      else hogCodes.set(code, (hogCodes.get(code) ?? 0) + 1);
    }
    const neighbour = new JsonClient(hranad.url, { localAddress: "127.0.0.2" });
    abandoners.push(neighbour);
    const neighbourCodes = new Map();
    const fail = (code) => neighbourCodes.set(code, (neighbourCodes.get(code) ?? 0) + 1);
    const neighbourFirst = performance.now();
    for (let i = 0; i < NEIGHBOUR_STREAMS; i++) {
      const code = pipelineErrorCode(await neighbour.post("/v2/pipeline", pipelineBody("SELECT 1", [], { keepOpen: true })));
      if (code !== null) fail(code);
    }
    const begun = await neighbour.post("/v2/pipeline", pipelineBody("BEGIN", [], { keepOpen: true }));
    if (pipelineErrorCode(begun) !== null) fail(pipelineErrorCode(begun));
    else {
      const committed = JSON.stringify({ baton: begun.json.baton, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "execute", stmt: { sql: "COMMIT" } }, { type: "close" }] });
      const code = pipelineErrorCode(await neighbour.post("/v2/pipeline", committed));
      if (code !== null) fail(code);
    }
    const neighbourMs = performance.now() - neighbourFirst;
    const hogged = await plainRequests(neighbour, REQUESTS);
    console.log("");
    printTable(
      ["phase", "requests", "p50 ms", "p99 ms", "max ms"],
      [[`neighbour, after one client tried ${HOG} streams`, String(hogged.length), percentile(hogged, 50).toFixed(2), percentile(hogged, 99).toFixed(2), Math.max(...hogged).toFixed(2)]],
    );
    const hogVerdict = neighbourCodes.size === 0 && Math.max(...hogged) < TARGET_MS ? "PASS" : "FAIL";
    console.log(
      `\nSUMMARY starvation (one client hogs): ${hogVerdict} — one client tried ${HOG} streams: ${hogOpened} opened, refused: ${tally(hogCodes)}; ` +
        `its neighbour opened ${NEIGHBOUR_STREAMS} streams and a transaction in ${neighbourMs.toFixed(1)} ms (errors: ${tally(neighbourCodes)}), ` +
        `then p99 ${percentile(hogged, 99).toFixed(2)} ms = ${(percentile(hogged, 99) / percentile(none, 99)).toFixed(2)} × the p99 with no abandoned stream`,
    );
    console.log(`command: ${commandLine()}`);
    process.exitCode = verdict === "PASS" && hogVerdict === "PASS" ? 0 : 1;
  } finally {
    for (const abandoner of abandoners) abandoner.close();
    client.current?.close();
    await hranad?.stop();
    temp.remove();
  }
}

await main();
