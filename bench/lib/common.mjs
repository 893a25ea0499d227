// Shared helpers for the server benchmarks: child processes, rounds, statistics, tables, RSS sampling.
// Every figure a benchmark reports is a ratio of contenders measured side by side in the same run, so the
// helpers here are about fairness (alternating rounds, medians) rather than absolute speed.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The `hranad` bin of the workspace's built server. */
export const HRANAD_BIN = resolve(dirname(require.resolve("@hranad/server")), "..", "bin", "hranad.js");
const BARE_FASTIFY = join(here, "bare-fastify.mjs");

/** `--quick` (about 10 s), `--cpu-prof` (profile the server child), `--rounds N`, `--seconds S`. */
export function parseArgs(argv = process.argv.slice(2)) {
  const options = { quick: false, cpuProf: false, rounds: undefined, seconds: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--cpu-prof") options.cpuProf = true;
    else if (arg === "--rounds") options.rounds = Number(argv[++i]);
    else if (arg === "--seconds") options.seconds = Number(argv[++i]);
    else throw new Error(`unknown option ${arg} (known: --quick, --cpu-prof, --rounds N, --seconds S)`);
  }
  return options;
}

/** The exact command line that produced a run, for RESULTS.md. */
export function commandLine() {
  return ["node", ...process.argv.slice(1).map((a, i) => (i === 0 ? `bench/${a.split("/").pop()}` : a))].join(" ");
}

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `hranad-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Spawns a node child and waits for the `listening on http://…` line on its stdout. */
function spawnListening(args, label, env = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    if (process.env.BENCH_SERVER_LOG) process.stderr.write(chunk);
    stderr += chunk;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  return new Promise((resolvePromise, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label} did not start within 60 s\n${stderr}`));
    }, 60_000);
    const onData = (chunk) => {
      stdout += chunk;
      const match = /listening on (http:\/\/[^\s]+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      // Keep draining so the child never blocks on a full pipe.
      if (process.env.BENCH_SERVER_LOG) child.stdout.pipe(process.stderr);
      else child.stdout.resume();
      const url = match[1];
      resolvePromise({
        url,
        pid: child.pid,
        child,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          const timeout = setTimeout(() => child.kill("SIGKILL"), 20_000);
          await exited;
          clearTimeout(timeout);
        },
      });
    };
    child.stdout.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited early (code ${code}, signal ${signal})\n${stderr}`));
    });
  });
}

/**
 * Starts the `hranad` bin in a child process on 127.0.0.1, port 0, with `config` (a plain object) written as a
 * configuration file (JSON is valid YAML). `cpuProfDir` adds `--cpu-prof` to the child.
 */
export async function startHranad({ dataDir, configDir, config = {}, cpuProfDir }) {
  const file = join(configDir, "hranad.yaml");
  // BENCH_SERVER_LOG=error shows the server's own log on this process's stderr (for diagnosing a failed run).
  const logLevel = process.env.BENCH_SERVER_LOG ?? "silent";
  writeFileSync(file, JSON.stringify({ logLevel, ...config }, null, 2));
  const nodeArgs = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const server = await spawnListening(
    [...nodeArgs, HRANAD_BIN, "--config", file, "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--log-level", logLevel],
    "hranad",
  );
  return server;
}

/** Starts the baseline: a bare fastify route (JSON body in, small JSON out) in its own child process. */
export function startBareFastify() {
  return spawnListening([BARE_FASTIFY], "bare fastify");
}

/** Resident set size of a process in bytes (VmRSS), or undefined when it is gone. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Memory mappings of a process (bounded by vm.max_map_count; every V8 isolate adds hundreds). */
export function mapCount(pid) {
  try {
    return readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").length - 1;
  } catch {
    return undefined;
  }
}

/** Threads of a process (worker threads show up here). */
export function threadCount(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /Threads:\s+(\d+)/.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

function ticksOf(statPath) {
  // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
  const stat = readFileSync(statPath, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU time a process has used so far, in milliseconds: its main thread and all its other threads (worker
 * threads, libuv and V8 helpers). Threads that exited are counted in the total only. Undefined when it is gone.
 */
export function cpuTimeMs(pid) {
  try {
    const main = ticksOf(`/proc/${pid}/task/${pid}/stat`);
    const total = Math.max(main, ticksOf(`/proc/${pid}/stat`));
    const toMs = (ticks) => (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
    return { total: toMs(total), main: toMs(main), other: toMs(total - main) };
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped; keeps the peak. */
export function sampleRss(pid, intervalMs = 50) {
  let peak = rssBytes(pid) ?? 0;
  let samples = 0;
  const timer = setInterval(() => {
    const rss = rssBytes(pid);
    if (rss !== undefined) {
      samples++;
      if (rss > peak) peak = rss;
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const rss = rssBytes(pid);
      if (rss !== undefined && rss > peak) peak = rss;
      return { peak, samples };
    },
  };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Runs `rounds` rounds; in each round every contender runs once, the order reversed every other round so that
 * neither always goes first on a machine whose load drifts. Returns contender name → list of results.
 */
export async function interleave(rounds, contenders, run) {
  const results = new Map(contenders.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) results.get(contender).push(await run(contender, round));
  }
  return results;
}

export function formatNumber(value, digits = 0) {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatMiB(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Prints rows (arrays of strings) as a Markdown table, so the output can be pasted into RESULTS.md. */
export function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

/** Load average and core count, printed with every run so a reader can judge the noise. */
export function machineLine() {
  let load = "?";
  try {
    load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    // not Linux
  }
  return `node ${process.version}, ${require("node:os").cpus().length} cores, load average ${load}`;
}

/** A Hrana HTTP pipeline body: one `execute`, then `close` unless `keepOpen`. */
export function pipelineBody(sql, args = [], { baton = null, keepOpen = false } = {}) {
  const requests = [{ type: "execute", stmt: { sql, args } }];
  if (!keepOpen) requests.push({ type: "close" });
  return JSON.stringify({ baton, requests });
}

export function integer(value) {
  return { type: "integer", value: String(value) };
}

export function text(value) {
  return { type: "text", value };
}

/**
 * A minimal keep-alive JSON client over `node:http` (one socket per client object), used where the benchmark
 * must read every response body (errors inside a 200, batons). `localAddress` picks the address it connects from
 * (any 127.x.x.x on Linux), so that the server sees another client.
 */
export class JsonClient {
  #agent;
  #url;
  #localAddress;

  constructor(url, { localAddress } = {}) {
    this.#url = new URL(url);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.#localAddress = localAddress;
  }

  post(path, body) {
    return new Promise((resolvePromise, reject) => {
      const request = http.request(
        {
          host: this.#url.hostname,
          port: this.#url.port,
          path,
          method: "POST",
          agent: this.#agent,
          ...(this.#localAddress ? { localAddress: this.#localAddress } : {}),
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          const chunks = [];
          response.on("data", (c) => chunks.push(c));
          response.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            let json;
            try {
              json = JSON.parse(raw);
            } catch {
              json = undefined;
            }
            resolvePromise({ status: response.statusCode, json, raw });
          });
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  close() {
    this.#agent.destroy();
  }
}

/** Checks a `/v2/pipeline` response and returns its first result's rows, or throws with the server's code. */
export function firstResult(response) {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.raw.slice(0, 200)}`);
  const result = response.json.results[0];
  if (result.type !== "ok") throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.response.result;
}

/** The status and code of a failed pipeline response (HTTP error or an error result), or null when it succeeded. */
export function pipelineErrorCode(response) {
  if (response.status !== 200) return `HTTP ${response.status} ${response.json?.code ?? ""}`.trim();
  for (const result of response.json?.results ?? [{ type: "error", error: { code: "UNPARSABLE_BODY" } }]) {
    if (result.type !== "ok") return result.error?.code ?? "UNKNOWN";
  }
  return null;
}
