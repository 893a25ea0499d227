// Point SELECT over WebSocket and HTTP with @libsql/client (1 and 32 concurrent clients, each its own client
// object and socket), and an interactive transaction (BEGIN, 5 point SELECTs, COMMIT via `transaction()`) over
// both. Prints statements/s, transactions/s, and the ratios WebSocket ÷ HTTP and transaction ÷ single statement.
//   node bench/ws-point-select.mjs [--quick] [--cpu-prof] [--rounds N] [--seconds S]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import {
  commandLine,
  formatNumber,
  interleave,
  machineLine,
  makeTempDir,
  median,
  parseArgs,
  percentile,
  printTable,
  startHranad,
} from "./lib/common.mjs";
import { KV_ROWS, POINT_SELECT, createKv } from "./lib/fixtures.mjs";

const CLIENTS = [1, 32];
const TX_STATEMENTS = 5;

const options = parseArgs();
const rounds = options.rounds ?? (options.quick ? 2 : 3);
const seconds = options.seconds ?? (options.quick ? 0.6 : 2.5);

/** Runs `clients.length` loops of `work` for `ms`; returns completed units per second, latencies and errors. */
async function drive(clients, ms, work) {
  const deadline = performance.now() + ms;
  const latencies = [];
  const errors = new Map();
  let done = 0;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      let i = c * 997;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await work(client, (i++ % KV_ROWS) + 1);
          done++;
          latencies.push(performance.now() - t0);
        } catch (error) {
          const code = error?.code ?? error?.name ?? "UNKNOWN";
          errors.set(code, (errors.get(code) ?? 0) + 1);
          if (errors.size > 0 && [...errors.values()].reduce((a, b) => a + b) > 100) throw error;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { rate: done / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

async function single(client, id) {
  const rs = await client.execute({ sql: POINT_SELECT, args: [id] });
  if (rs.rows.length !== 1) throw Object.assign(new Error("wrong row count"), { code: "WRONG_ANSWER" });
}

async function transaction(client, id) {
  const tx = await client.transaction("deferred");
  try {
    for (let k = 0; k < TX_STATEMENTS; k++) {
      const rs = await tx.execute({ sql: POINT_SELECT, args: [((id + k * 131) % KV_ROWS) + 1] });
      if (rs.rows.length !== 1) throw Object.assign(new Error("wrong row count"), { code: "WRONG_ANSWER" });
    }
    await tx.commit();
  } finally {
    tx.close();
  }
}

async function main() {
  console.log(`ws-point-select: ${machineLine()}; ${rounds} rounds × ${seconds} s per contender${options.quick ? " (quick)" : ""}`);
  const temp = makeTempDir("ws-point");
  const dataDir = join(temp.dir, "data");
  mkdirSync(dataDir);
  createKv(join(dataDir, "default.db"));
  let hranad;
  const allClients = [];
  try {
    hranad = await startHranad({
      dataDir,
      configDir: temp.dir,
      // 32 transactions at once each pin a connection: give the pool room for all of them. The 32 clients share one
      // address: let that one client have as many streams as the database.
      config: { limits: { maxConnections: 40, maxSessionsPerClient: 128 } },
      cpuProfDir: options.cpuProf ? join(process.cwd(), "cpu-profiles") : undefined,
    });
    const port = new URL(hranad.url).port;
    const clientsFor = (transport, count) => {
      const list = Array.from({ length: count }, () => createClient({ url: `${transport}://127.0.0.1:${port}` }));
      allClients.push(...list);
      return list;
    };
    const pools = new Map();
    for (const transport of ["ws", "http"]) for (const n of CLIENTS) pools.set(`${transport}/${n}`, clientsFor(transport, n));

    // Warm-up: open sockets, JIT, pool connections.
    for (const [, clients] of pools) {
      await drive(clients, 300, single);
      await drive(clients, 300, transaction);
    }

    const contenders = [];
    for (const n of CLIENTS) for (const kind of ["stmt", "tx"]) for (const transport of ["ws", "http"]) contenders.push(`${transport}/${kind}/${n}`);
    const results = await interleave(rounds, contenders, (contender) => {
      const [transport, kind, n] = contender.split("/");
      return drive(pools.get(`${transport}/${n}`), seconds * 1000, kind === "tx" ? transaction : single);
    });

    const med = (c, key = "rate") => median(results.get(c).map((r) => r[key]));
    const errorsOf = (c) => {
      const merged = new Map();
      for (const r of results.get(c)) for (const [code, n] of r.errors) merged.set(code, (merged.get(code) ?? 0) + n);
      return merged;
    };
    printTable(
      ["transport", "work", "clients", "median /s", "stmt/s", "p50/p99 ms", "errors"],
      contenders.map((c) => {
        const [transport, kind, n] = c.split("/");
        const errors = errorsOf(c);
        return [
          transport === "ws" ? "WebSocket" : "HTTP",
          kind === "tx" ? `tx (BEGIN, ${TX_STATEMENTS} SELECT, COMMIT)` : "point SELECT",
          n,
          formatNumber(med(c)),
          formatNumber(med(c) * (kind === "tx" ? TX_STATEMENTS : 1)),
          `${med(c, "p50").toFixed(1)} / ${med(c, "p99").toFixed(1)}`,
          errors.size === 0 ? "0" : [...errors].map(([code, k]) => `${code}×${k}`).join(" "),
        ];
      }),
    );
    console.log("");
    const ratioRows = [];
    for (const n of CLIENTS) {
      ratioRows.push([
        String(n),
        (med(`ws/stmt/${n}`) / med(`http/stmt/${n}`)).toFixed(3),
        (med(`ws/tx/${n}`) / med(`http/tx/${n}`)).toFixed(3),
        (med(`ws/tx/${n}`) / med(`ws/stmt/${n}`)).toFixed(3),
        (med(`http/tx/${n}`) / med(`http/stmt/${n}`)).toFixed(3),
      ]);
    }
    printTable(["clients", "WS ÷ HTTP (stmt)", "WS ÷ HTTP (tx)", "WS tx/s ÷ stmt/s", "HTTP tx/s ÷ stmt/s"], ratioRows);
    const failed = contenders.reduce((n, c) => n + [...errorsOf(c).values()].reduce((a, b) => a + b, 0), 0);
    const last = ratioRows[ratioRows.length - 1];
    console.log(
      `\nSUMMARY ws-point-select: ${failed === 0 ? "OK" : "ERRORS"} — at 32 clients WS ${formatNumber(med("ws/stmt/32"))} stmt/s, ` +
        `${formatNumber(med("ws/tx/32"))} tx/s (tx ÷ stmt ${last[3]}); HTTP ${formatNumber(med("http/stmt/32"))} stmt/s, ` +
        `${formatNumber(med("http/tx/32"))} tx/s (tx ÷ stmt ${last[4]}); WS ÷ HTTP ${last[1]} (stmt), ${last[2]} (tx); failed ${failed}`,
    );
    console.log(`command: ${commandLine()}`);
    process.exitCode = failed === 0 ? 0 : 1;
  } finally {
    for (const client of allClients) client.close();
    await hranad?.stop();
    temp.remove();
  }
}

await main();
