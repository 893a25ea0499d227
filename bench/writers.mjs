// Single-row INSERTs in autocommit over Hrana HTTP (`[execute, close]` on keep-alive sockets) with 8 concurrent
// writers on one database (and 1 writer, to show what concurrency costs), against better-sqlite3 inserting in
// process with the same settings (WAL, synchronous NORMAL). Every response body is read: a write that failed,
// even inside a 200, is counted by its code, and the final row count must equal the acknowledged writes.
//   node bench/writers.mjs [--quick] [--cpu-prof] [--rounds N] [--seconds S]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  JsonClient,
  commandLine,
  firstResult,
  formatNumber,
  integer,
  interleave,
  machineLine,
  makeTempDir,
  median,
  parseArgs,
  percentile,
  pipelineBody,
  pipelineErrorCode,
  printTable,
  startHranad,
  text,
} from "./lib/common.mjs";
import { loopFor, openLikeServer } from "./lib/fixtures.mjs";

const WRITERS = 8;
const INSERT = "INSERT INTO w (writer, v) VALUES (?, ?)";
const SCHEMA = "CREATE TABLE w (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, v TEXT NOT NULL)";

const options = parseArgs();
const rounds = options.rounds ?? (options.quick ? 2 : 3);
const seconds = options.seconds ?? (options.quick ? 1 : 4);

async function writeOver(clients, ms) {
  const deadline = performance.now() + ms;
  const errors = new Map();
  const latencies = [];
  let ok = 0;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client, writer) => {
      let i = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        let code;
        try {
          code = pipelineErrorCode(await client.post("/v2/pipeline", pipelineBody(INSERT, [integer(writer), text(`w${writer}-${i++}`)])));
        } catch (error) {
          code = error?.code ?? "CLIENT_ERROR";
        }
        if (code === null) {
          ok++;
          latencies.push(performance.now() - t0);
        } else errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    }),
  );
  return { rate: ok / ((performance.now() - start) / 1000), ok, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main() {
  console.log(`writers: ${machineLine()}; ${rounds} rounds × ${seconds} s per contender${options.quick ? " (quick)" : ""}`);
  const temp = makeTempDir("writers");
  const dataDir = join(temp.dir, "data");
  mkdirSync(dataDir);
  const serverDb = openLikeServer(join(dataDir, "default.db"));
  serverDb.exec(SCHEMA);
  serverDb.close();
  const local = openLikeServer(join(temp.dir, "in-process.db"));
  local.exec(SCHEMA);
  const insert = local.prepare(INSERT);
  let hranad;
  const clients = Array.from({ length: WRITERS }, () => undefined);
  try {
    hranad = await startHranad({ dataDir, configDir: temp.dir, cpuProfDir: options.cpuProf ? join(process.cwd(), "cpu-profiles") : undefined });
    for (let i = 0; i < WRITERS; i++) clients[i] = new JsonClient(hranad.url);

    let inProcessRows = 0;
    const inProcess = () =>
      loopFor(Math.max(250, seconds * 250), (i) => {
        insert.run(0, `in-process-${i}`);
        inProcessRows++;
      });
    const warmUp = await writeOver(clients, 500); // its rows count in the final check too
    inProcess();

    const contenders = [`hranad/${WRITERS}`, "hranad/1", "in-process"];
    let acknowledged = warmUp.ok;
    const results = await interleave(rounds, contenders, async (contender) => {
      if (contender === "in-process") return { rate: inProcess(), ok: 0, errors: new Map(), p50: NaN, p99: NaN };
      const n = Number(contender.split("/")[1]);
      const result = await writeOver(clients.slice(0, n), seconds * 1000);
      acknowledged += result.ok;
      return result;
    });

    // Every acknowledged write (and the warm-up's) must be there.
    const check = new JsonClient(hranad.url);
    const stored = Number(firstResult(await check.post("/v2/pipeline", pipelineBody("SELECT count(*) FROM w"))).rows[0][0].value);
    check.close();

    const errors = new Map(warmUp.errors);
    for (const list of results.values()) for (const r of list) for (const [code, n] of r.errors) errors.set(code, (errors.get(code) ?? 0) + n);
    const med = (c, key = "rate") => median(results.get(c).map((r) => r[key]));
    printTable(
      ["contender", "writers", "median rows/s", "range", "p50/p99 ms", "failed"],
      contenders.map((c) => {
        const list = results.get(c);
        const failed = list.reduce((n, r) => n + [...r.errors.values()].reduce((a, b) => a + b, 0), 0);
        return [
          c === "in-process" ? "better-sqlite3 in process" : "hranad /v2/pipeline",
          c === "in-process" ? "1 (sync loop)" : c.split("/")[1],
          formatNumber(med(c)),
          `${formatNumber(Math.min(...list.map((r) => r.rate)))}–${formatNumber(Math.max(...list.map((r) => r.rate)))}`,
          c === "in-process" ? "" : `${med(c, "p50").toFixed(1)} / ${med(c, "p99").toFixed(1)}`,
          String(failed),
        ];
      }),
    );
    const ratio = med(`hranad/${WRITERS}`) / med("in-process");
    const ratioOne = med("hranad/1") / med("in-process");
    const concurrency = med(`hranad/${WRITERS}`) / med("hranad/1");
    console.log("");
    printTable(
      ["hranad 8 writers ÷ in process", "hranad 1 writer ÷ in process", "8 writers ÷ 1 writer"],
      [[ratio.toFixed(4), ratioOne.toFixed(4), concurrency.toFixed(3)]],
    );
    if (errors.size > 0) console.log(`errors by code: ${[...errors].map(([code, n]) => `${code}: ${n}`).join(", ")}`);
    const countOk = stored === acknowledged;
    const pass = errors.size === 0 && countOk;
    console.log(
      `\nSUMMARY writers: ${pass ? "PASS" : "FAIL"} — ${WRITERS} writers ${formatNumber(med(`hranad/${WRITERS}`))} rows/s = ${ratio.toFixed(4)} × better-sqlite3 in process ` +
        `(${formatNumber(med("in-process"))} rows/s); 1 writer ${formatNumber(med("hranad/1"))} rows/s; failed writes ${[...errors.values()].reduce((a, b) => a + b, 0)}; ` +
        `rows stored ${stored}, acknowledged ${acknowledged}${countOk ? "" : " — MISMATCH"}`,
    );
    console.log(`in-process rows written: ${inProcessRows}`);
    console.log(`command: ${commandLine()}`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    for (const client of clients) client?.close();
    local.close();
    await hranad?.stop();
    temp.remove();
  }
}

await main();
