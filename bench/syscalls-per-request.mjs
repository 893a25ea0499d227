// Diagnostic (needs `strace`): system calls per request of hranad's `POST /v2/pipeline` point SELECT and of the bare
// fastify route, counted over all threads of each server child. Unlike req/s this hardly depends on how loaded the
// machine is, and it shows the cost of every worker-thread round trip (an eventfd write, an epoll wake, a read).
//   node bench/syscalls-per-request.mjs [--requests N] [--clients N]
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import { commandLine, integer, machineLine, makeTempDir, pipelineBody, printTable, startBareFastify, startHranad } from "./lib/common.mjs";
import { POINT_SELECT, createKv } from "./lib/fixtures.mjs";

const argv = process.argv.slice(2);
const option = (flag, fallback) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const REQUESTS = option("--requests", 2000);
const CLIENTS = option("--clients", 1);

function load(url, path, body, amount) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, method: "POST", body, connections: CLIENTS, amount }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Parses `strace -c` output: syscall name → calls. */
function parseCounts(text) {
  const counts = new Map();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 5 && /^\d/.test(fields[0]) && fields[fields.length - 1] !== "total") {
      counts.set(fields[fields.length - 1], Number(fields[3]));
    }
  }
  return counts;
}

async function count(server, path, body, outFile) {
  await load(server.url, path, body, 1000); // warm-up
  const tracer = spawn("strace", ["-c", "-f", "-p", String(server.pid), "-o", outFile], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1500)); // strace attaches to every thread
  const result = await load(server.url, path, body, REQUESTS);
  tracer.kill("SIGINT");
  await new Promise((r) => tracer.once("exit", r));
  return { requests: result.requests.total, counts: parseCounts(readFileSync(outFile, "utf8")) };
}

const temp = makeTempDir("syscalls");
const dataDir = join(temp.dir, "data");
mkdirSync(dataDir);
createKv(join(dataDir, "default.db"));
const hranad = await startHranad({ dataDir, configDir: temp.dir });
const bare = await startBareFastify();
try {
  console.log(`syscalls-per-request: ${machineLine()}; ${REQUESTS} requests, ${CLIENTS} client(s)`);
  const body = pipelineBody(POINT_SELECT, [integer(4242)]);
  const h = await count(hranad, "/v2/pipeline", body, join(temp.dir, "hranad.strace"));
  const b = await count(bare, "/echo", body, join(temp.dir, "bare.strace"));
  const names = [...new Set([...h.counts.keys(), ...b.counts.keys()])]
    .map((name) => ({ name, h: (h.counts.get(name) ?? 0) / h.requests, b: (b.counts.get(name) ?? 0) / b.requests }))
    .filter((r) => r.h >= 0.05 || r.b >= 0.05)
    .sort((x, y) => y.h - x.h);
  const total = (c, n) => [...c.values()].reduce((a, v) => a + v, 0) / n;
  printTable(
    ["syscall", "hranad per request", "bare route per request"],
    [...names.map((r) => [r.name, r.h.toFixed(2), r.b.toFixed(2)]), ["total", total(h.counts, h.requests).toFixed(1), total(b.counts, b.requests).toFixed(1)]],
  );
  console.log(
    `\nSUMMARY syscalls-per-request: hranad ${total(h.counts, h.requests).toFixed(1)} system calls per point-SELECT request, bare route ${total(b.counts, b.requests).toFixed(1)}`,
  );
  console.log(`command: ${commandLine()}`);
} finally {
  await Promise.all([hranad.stop(), bare.stop()]);
  temp.remove();
}
