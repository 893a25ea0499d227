// Streams 1 000 000 rows through `/v3/cursor` (JSON lines) and `/v3-protobuf/cursor` (length-delimited protobuf),
// reading each body as a stream and counting rows, while sampling the server child's RSS every 50 ms. Each
// encoding runs in a fresh server child so that one run's heap growth cannot hide the other's.
// Target: peak RSS growth < 64 MiB.
//   node bench/cursor-memory.mjs [--quick] [--cpu-prof] [--rows N]
import http from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  commandLine,
  formatMiB,
  formatNumber,
  machineLine,
  makeTempDir,
  printTable,
  rssBytes,
  sampleRss,
  startHranad,
} from "./lib/common.mjs";
import { createBig } from "./lib/fixtures.mjs";

const TARGET_BYTES = 64 * 1024 * 1024;


const argv = process.argv.slice(2);
const rowsIndex = argv.indexOf("--rows");
const ROWS = rowsIndex >= 0 ? Number(argv.splice(rowsIndex, 2)[1]) : 1_000_000;
const WARM_ROWS = Math.min(ROWS, 20_000);
const quick = argv.includes("--quick");
const cpuProf = argv.includes("--cpu-prof");
for (const arg of argv) if (arg !== "--quick" && arg !== "--cpu-prof") throw new Error(`unknown option ${arg}`);

const cursorBody = (sql) => JSON.stringify({ baton: null, batch: { steps: [{ stmt: { sql } }] } });

/** Counts `row` entries of a JSON-lines cursor body, chunk by chunk. */
function jsonCounter() {
  let rest = "";
  let lines = 0;
  const state = { rows: 0, errors: [], ended: false, lastRow: undefined };
  return {
    state,
    push(chunk) {
      const textChunk = rest + chunk.toString("utf8");
      let from = 0;
      for (let nl = textChunk.indexOf("\n", from); nl >= 0; nl = textChunk.indexOf("\n", from)) {
        lines++;
        if (lines > 1) {
          if (textChunk.startsWith('{"type":"row"', from)) {
            state.rows++;
            if (state.rows === ROWS) state.lastRow = JSON.parse(textChunk.slice(from, nl)).row;
          } else {
            const entry = JSON.parse(textChunk.slice(from, nl));
            if (entry.type === "step_end") state.ended = true;
            else if (entry.type === "error" || entry.type === "step_error") state.errors.push(entry.error.code);
          }
        }
        from = nl + 1;
      }
      rest = textChunk.slice(from);
    },
  };
}

/** Counts `row` entries (field 4) of a length-delimited protobuf cursor body without decoding the rows. */
function protobufCounter() {
  let buffer = Buffer.alloc(0);
  let messages = 0;
  const state = { rows: 0, errors: [], ended: false, lastRow: undefined };
  return {
    state,
    push(chunk) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      let offset = 0;
      for (;;) {
        let length = 0;
        let shift = 0;
        let p = offset;
        let complete = false;
        while (p < buffer.length) {
          const byte = buffer[p++];
          length += (byte & 0x7f) * 2 ** shift;
          shift += 7;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || p + length > buffer.length) break;
        messages++;
        if (messages > 1) {
          const tag = buffer[p];
          if (tag === 0x22) state.rows++; // field 4, length-delimited: row
          else if (tag === 0x12) state.ended = true; // field 2: step_end
          else if (tag === 0x1a || tag === 0x2a) state.errors.push("protobuf error entry");
        }
        offset = p + length;
      }
      buffer = buffer.subarray(offset);
    },
  };
}

function streamCursor(url, path, body, counter) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = http.request(
      { host: target.hostname, port: target.port, path, method: "POST", headers: { "content-type": "application/json" } },
      (response) => {
        if (response.statusCode !== 200) {
          const chunks = [];
          response.on("data", (c) => chunks.push(c));
          response.on("end", () => reject(new Error(`HTTP ${response.statusCode}: ${Buffer.concat(chunks).toString("utf8").slice(0, 300)}`)));
          return;
        }
        let bytes = 0;
        response.on("data", (chunk) => {
          bytes += chunk.length;
          counter.push(chunk);
        });
        response.on("end", () => resolve(bytes));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    // The protobuf endpoint takes a protobuf body: CursorReqBody { batch (2) { steps (1) { stmt (2) { sql (1) } } } }.
    request.end(body);
  });
}

function protobufCursorBody(sql) {
  const bytes = (n) => {
    const out = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (number, payload) => Buffer.concat([bytes((number << 3) | 2), bytes(payload.length), payload]);
  const stmt = field(1, Buffer.from(sql, "utf8"));
  const step = field(2, stmt);
  const batch = field(1, step);
  return field(2, batch);
}

async function measure(encoding, dataDir, configDir) {
  const server = await startHranad({ dataDir, configDir, cpuProfDir: cpuProf ? join(process.cwd(), "cpu-profiles") : undefined });
  try {
    const path = encoding === "json" ? "/v3/cursor" : "/v3-protobuf/cursor";
    const body = (sql) => (encoding === "json" ? cursorBody(sql) : protobufCursorBody(sql));
    const counter = () => (encoding === "json" ? jsonCounter() : protobufCounter());
    // Warm-up: the code paths, the worker and the connection, so the baseline is a running server's.
    const warm = counter();
    await streamCursor(server.url, path, body(`SELECT * FROM big LIMIT ${WARM_ROWS}`), warm);
    if (warm.state.rows !== WARM_ROWS) throw new Error(`warm-up streamed ${warm.state.rows} rows`);
    await new Promise((r) => setTimeout(r, 300));
    const before = rssBytes(server.pid);
    const sampler = sampleRss(server.pid, 50);
    const count = counter();
    const t0 = performance.now();
    const bytes = await streamCursor(server.url, path, body("SELECT * FROM big ORDER BY id"), count);
    const elapsed = (performance.now() - t0) / 1000;
    const { peak, samples } = sampler.stop();
    const after = rssBytes(server.pid);
    const { rows, errors, ended } = count.state;
    const correct = rows === ROWS && ended && errors.length === 0;
    return { encoding, rows, bytes, elapsed, before, peak, after, samples, growth: peak - before, correct, errors, lastRow: count.state.lastRow };
  } finally {
    await server.stop();
  }
}

async function main() {
  console.log(`cursor-memory: ${machineLine()}; ${formatNumber(ROWS)} rows${quick ? " (quick: JSON only)" : ""}`);
  const temp = makeTempDir("cursor");
  const dataDir = join(temp.dir, "data");
  mkdirSync(dataDir);
  try {
    const t0 = performance.now();
    createBig(join(dataDir, "default.db"), ROWS);
    console.log(`fixture: ${formatNumber(ROWS)} rows written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const encodings = quick ? ["json"] : ["json", "protobuf"];
    const results = [];
    for (const encoding of encodings) results.push(await measure(encoding, dataDir, temp.dir));
    printTable(
      ["endpoint", "rows", "body", "s", "rows/s", "RSS before", "peak", "peak growth", "samples", "complete"],
      results.map((r) => [
        r.encoding === "json" ? "/v3/cursor" : "/v3-protobuf/cursor",
        formatNumber(r.rows),
        formatMiB(r.bytes),
        r.elapsed.toFixed(1),
        formatNumber(r.rows / r.elapsed),
        formatMiB(r.before),
        formatMiB(r.peak),
        formatMiB(r.growth),
        String(r.samples),
        r.correct ? "yes" : `NO ${r.errors.join(",")}`,
      ]),
    );
    const json = results[0];
    if (json.lastRow) console.log(`last JSON row: ${JSON.stringify(json.lastRow)}`);
    const pass = results.every((r) => r.correct && r.growth < TARGET_BYTES);
    console.log(
      `\nSUMMARY cursor-memory: ${pass ? "PASS" : "FAIL"} — peak RSS growth ${results.map((r) => `${r.encoding} ${formatMiB(r.growth)}`).join(", ")} ` +
        `streaming ${formatNumber(ROWS)} rows (target < ${formatMiB(TARGET_BYTES)}); ` +
        results.map((r) => `${r.encoding} ${formatNumber(r.rows / r.elapsed)} rows/s`).join(", "),
    );
    console.log(`command: ${commandLine()}`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    temp.remove();
  }
}

await main();
