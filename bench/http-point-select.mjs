// Point SELECT by primary key over Hrana HTTP (`POST /v2/pipeline` with [execute, close], keep-alive), with 1 and
// 32 concurrent clients (autocannon), against a bare fastify JSON route and better-sqlite3 called in process.
// Target: hranad ≥ 0.5 × the bare route's throughput at 32 clients.
//   node bench/http-point-select.mjs [--quick] [--cpu-prof] [--rounds N] [--seconds S]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import {
  JsonClient,
  commandLine,
  cpuTimeMs,
  firstResult,
  formatNumber,
  integer,
  interleave,
  machineLine,
  makeTempDir,
  median,
  parseArgs,
  pipelineBody,
  printTable,
  startBareFastify,
  startHranad,
} from "./lib/common.mjs";
import { KV_ROWS, POINT_SELECT, createKv, loopFor, openLikeServer } from "./lib/fixtures.mjs";

const TARGET = 0.5;
const CLIENTS = [1, 32];

const options = parseArgs();
const rounds = options.rounds ?? (options.quick ? 2 : 3);
const seconds = options.seconds ?? (options.quick ? 1 : 4);

function load(url, path, body, connections, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: url + path,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        pipelining: 1,
        duration,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

function summarize(result, cpuBefore, cpuAfter) {
  const failed = result.errors + result.timeouts + result.non2xx;
  const served = Math.max(1, result.requests.total);
  return {
    rps: (result.requests.total - result.non2xx) / result.duration,
    // Server CPU per request, all threads and main thread only: less sensitive to a noisy machine than req/s.
    cpuUs: ((cpuAfter.total - cpuBefore.total) * 1000) / served,
    mainUs: ((cpuAfter.main - cpuBefore.main) * 1000) / served,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed,
  };
}

async function main() {
  console.log(`http-point-select: ${machineLine()}; ${rounds} rounds × ${seconds} s per contender${options.quick ? " (quick)" : ""}`);
  const temp = makeTempDir("http-point");
  const dataDir = join(temp.dir, "data");
  const inProcessDir = makeTempDir("http-point-inproc");
  createKv(join(inProcessDir.dir, "kv.db"));
  let hranad;
  let bare;
  try {
    mkdirSync(dataDir);
    createKv(join(dataDir, "default.db"));
    [hranad, bare] = await Promise.all([
      // The 32 connections share one address: let that one client have as many streams as the database.
      startHranad({
        dataDir,
        configDir: temp.dir,
        config: { limits: { maxSessionsPerClient: 128 } },
        cpuProfDir: options.cpuProf ? join(process.cwd(), "cpu-profiles") : undefined,
      }),
      startBareFastify(),
    ]);
    const id = 4242;
    const body = pipelineBody(POINT_SELECT, [integer(id)]);

    // The answer must be the row, not an error that autocannon would count as a 200.
    const check = new JsonClient(hranad.url);
    const rows = firstResult(await check.post("/v2/pipeline", body)).rows;
    check.close();
    if (rows.length !== 1 || rows[0][1].value !== `value-${String(id).padStart(6, "0")}`) {
      throw new Error(`unexpected answer ${JSON.stringify(rows)}`);
    }

    const db = openLikeServer(join(inProcessDir.dir, "kv.db"));
    const statement = db.prepare(POINT_SELECT);
    const inProcess = () => loopFor(Math.max(250, seconds * 250), (i) => statement.get((i % KV_ROWS) + 1));

    // Warm up both servers (JIT, pool connections) before anything is recorded.
    await load(hranad.url, "/v2/pipeline", body, 32, 1);
    await load(bare.url, "/echo", body, 32, 1);
    inProcess();

    const contenders = [];
    for (const clients of CLIENTS) contenders.push(`hranad/${clients}`, `bare/${clients}`);
    contenders.push("in-process");
    const results = await interleave(rounds, contenders, async (contender) => {
      if (contender === "in-process") return { rps: inProcess(), p50: NaN, p99: NaN, failed: 0, cpuUs: NaN, mainUs: NaN };
      const [name, clients] = contender.split("/");
      const server = name === "hranad" ? hranad : bare;
      const before = cpuTimeMs(server.pid);
      const result = await load(server.url, name === "hranad" ? "/v2/pipeline" : "/echo", body, Number(clients), seconds);
      return summarize(result, before, cpuTimeMs(server.pid));
    });
    db.close();

    const med = (contender, key) => median(results.get(contender).map((r) => r[key]));
    const rowsOut = contenders.map((contender) => {
      const list = results.get(contender);
      const [name, clients] = contender === "in-process" ? ["better-sqlite3 in process", "1 (sync loop)"] : contender.split("/");
      return [
        name === "hranad" ? "hranad /v2/pipeline" : name === "bare" ? "bare fastify route" : name,
        clients,
        formatNumber(med(contender, "rps")),
        `${formatNumber(Math.min(...list.map((r) => r.rps)))}–${formatNumber(Math.max(...list.map((r) => r.rps)))}`,
        Number.isNaN(med(contender, "p50")) ? "" : `${med(contender, "p50")} / ${med(contender, "p99")}`,
        Number.isNaN(med(contender, "cpuUs")) ? "" : `${formatNumber(med(contender, "cpuUs"))} (${formatNumber(med(contender, "mainUs"))})`,
        String(list.reduce((n, r) => n + r.failed, 0)),
      ];
    });
    printTable(["contender", "clients", "median req/s", "range", "p50/p99 ms", "server CPU µs/req (main thread)", "failed"], rowsOut);

    const inProc = med("in-process", "rps");
    const ratios = CLIENTS.map((clients) => ({
      clients,
      bare: med(`hranad/${clients}`, "rps") / med(`bare/${clients}`, "rps"),
      cpu: med(`hranad/${clients}`, "cpuUs") / med(`bare/${clients}`, "cpuUs"),
      inProcess: med(`hranad/${clients}`, "rps") / inProc,
      perRound: results.get(`hranad/${clients}`).map((r, i) => r.rps / results.get(`bare/${clients}`)[i].rps),
    }));
    console.log("");
    printTable(
      ["clients", "hranad ÷ bare route", "per-round ratios", "server CPU per request hranad ÷ bare", "hranad ÷ in-process driver"],
      ratios.map((r) => [
        String(r.clients),
        r.bare.toFixed(3),
        r.perRound.map((x) => x.toFixed(2)).join(", "),
        r.cpu.toFixed(1),
        r.inProcess.toFixed(4),
      ]),
    );
    const at32 = ratios.find((r) => r.clients === 32);
    const failed = [...results.values()].flat().reduce((n, r) => n + r.failed, 0);
    const pass = at32.bare >= TARGET && failed === 0;
    console.log(
      `\nSUMMARY http-point-select: ${pass ? "PASS" : "FAIL"} — hranad at 32 clients = ${at32.bare.toFixed(3)} × bare fastify route (target ≥ ${TARGET}); ` +
        `at 1 client ${ratios[0].bare.toFixed(3)}; vs better-sqlite3 in process ${at32.inProcess.toFixed(4)} (32) / ${ratios[0].inProcess.toFixed(4)} (1); failed requests ${failed}`,
    );
    console.log(`command: ${commandLine()}`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    await Promise.all([hranad?.stop(), bare?.stop()]);
    temp.remove();
    inProcessDir.remove();
  }
}

await main();
