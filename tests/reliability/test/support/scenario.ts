import { createClient, type Client } from "@libsql/client";
import { HranadProcess, type HranadConfig } from "./hranad-process.js";
import { mib, MiB, RssSampler } from "./rss.js";
import { sleep, within } from "./soak.js";

/**
 * The "other client" of the memory-bound suites: `@libsql/client` over HTTP and over WebSocket, sending point
 * SELECTs to a small table (`kv` on database `other` unless told otherwise) while a scenario abuses the server,
 * and once more after it. What it saw is part of each scenario's verdict.
 */
export class OtherClient {
  readonly #clients: { client: Client; transport: "http" | "ws" }[];
  readonly #database: string;
  ok = 0;
  readonly errors = new Map<string, number>();
  #stop = false;
  #loop: Promise<void> | undefined;

  constructor(server: HranadProcess, database = "other") {
    this.#database = database;
    const path = database === "default" ? "" : `/${database}`;
    this.#clients = [
      { client: createClient({ url: `${server.url}${path}/` }), transport: "http" },
      { client: createClient({ url: `${server.wsUrl}${path}` }), transport: "ws" },
    ];
  }

  /** Creates `kv` with 100 rows (idempotent). */
  async prepare(): Promise<void> {
    await this.#clients[0]!.client.batch(
      ["CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v TEXT)", "INSERT OR IGNORE INTO kv WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT x, 'v' || x FROM c"],
      "write",
    );
    for (const { client } of this.#clients) await this.select(client, 1);
  }

  /** One point SELECT on each transport; throws what went wrong. */
  async selectBoth(timeoutMs = 15_000): Promise<void> {
    for (const [i, { client, transport }] of this.#clients.entries()) {
      await within(this.select(client, 1 + i), timeoutMs, `a point SELECT on ${this.#database} over ${transport}`);
    }
  }

  async select(client: Client, k: number): Promise<void> {
    const rs = await client.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: [k] });
    if (rs.rows[0]?.[0] !== `v${k}`) throw new Error(`kv ${k} read back ${JSON.stringify(rs.rows[0])}`);
  }

  /** Starts point SELECTs (alternating transports, one at a time, every `intervalMs`) until `stop()`. */
  start(intervalMs = 100, timeoutMs = 15_000): void {
    this.#stop = false;
    this.ok = 0;
    this.errors.clear();
    this.#loop = (async () => {
      for (let i = 0; !this.#stop; i++) {
        const { client, transport } = this.#clients[i % 2]!;
        try {
          await within(this.select(client, 1 + (i % 100)), timeoutMs, `point SELECT over ${transport}`);
          this.ok++;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          const name = typeof code === "string" ? code : (error as Error).message.slice(0, 80);
          this.errors.set(`${transport} ${name}`, (this.errors.get(`${transport} ${name}`) ?? 0) + 1);
        }
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<{ ok: number; errors: Map<string, number> }> {
    this.#stop = true;
    await this.#loop;
    return { ok: this.ok, errors: new Map(this.errors) };
  }

  close(): void {
    for (const { client } of this.#clients) client.close();
  }
}

export interface ScenarioRow {
  readonly scenario: string;
  readonly baselineRss: number;
  readonly peakRss: number;
  readonly boundRss: number;
  readonly received: string;
  readonly other: string;
  readonly passed: boolean;
}

/** The per-scenario table (peak RSS of the server, what the offending client received, what the other client saw). */
export class ScenarioReport {
  readonly rows: ScenarioRow[] = [];
  constructor(readonly suite: string) {}

  add(row: ScenarioRow): void {
    this.rows.push(row);
  }

  print(): void {
    if (this.rows.length === 0) return;
    const lines = [
      `[${this.suite}] per-scenario peak RSS of the server (VmRSS sampled every 50 ms):`,
      "| scenario | RSS before | peak RSS | bound | the offending client received | other client | verdict |",
      "|---|---|---|---|---|---|---|",
      ...this.rows.map((r) => `| ${r.scenario} | ${mib(r.baselineRss)} | ${mib(r.peakRss)} | ${mib(r.boundRss)} | ${r.received} | ${r.other} | ${r.passed ? "pass" : "FAIL"} |`),
    ];
    console.log(lines.join("\n"));
  }
}

export interface ScenarioContext {
  readonly server: HranadProcess;
  readonly report: ScenarioReport;
  readonly other: OtherClient;
}

export interface ScenarioOutcome {
  /** What the offending client received, in a few words (for the table). */
  readonly received: string;
}

/**
 * Runs one scenario against `context.server`: samples the server's RSS every 50 ms and runs the other client's
 * point SELECTs while `body` runs, then checks (and records in the report whatever happens) that the process is
 * alive, `/health` answers 200, the other client was served during the scenario (at least once, and never refused
 * except with `allowOtherCodes`) and after it, and the peak RSS stayed within `baseline + allowanceBytes`. The
 * assertions of the scenario itself are `body`'s.
 */
export async function runScenario(
  context: ScenarioContext,
  name: string,
  options: { allowanceBytes: number; allowOtherCodes?: readonly string[] },
  body: () => Promise<ScenarioOutcome>,
): Promise<void> {
  const { server, report, other } = context;
  const baseline = server.rssBytes();
  const sampler = new RssSampler(server.pid);
  other.start();
  let received = "(did not finish)";
  let otherSummary = "";
  let passed = false;
  let peak = baseline;
  let during = { ok: 0, errors: new Map<string, number>() };
  try {
    try {
      received = (await body()).received;
    } catch (error) {
      received = `FAILED: ${(error as Error).message.split("\n")[0]!.slice(0, 200)}`;
      throw error;
    } finally {
      during = await other.stop();
      peak = await sampler.stop();
      otherSummary = `${during.ok} ok${[...during.errors].map(([c, n]) => `, ${c}×${n}`).join("")}`;
    }
    // The process is alive and serves: /health, then the other client once more on each transport.
    if (!server.alive) throw new Error(`hranad died: ${server.output()}`);
    const health = await within(fetch(`${server.url}/health`), 10_000, "GET /health");
    if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`);
    await other.selectBoth();
    otherSummary += "; after: ok";
    if (during.ok < 1) throw new Error(`the other client was not served once during the scenario (${otherSummary})`);
    const refused = [...during.errors.keys()].filter((key) => !(options.allowOtherCodes ?? []).some((code) => key.endsWith(` ${code}`)));
    if (refused.length > 0) throw new Error(`the other client was refused during the scenario: ${otherSummary}`);
    if (peak > baseline + options.allowanceBytes) {
      throw new Error(`the server's peak RSS ${mib(peak)} exceeds ${mib(baseline)} + ${mib(options.allowanceBytes)}`);
    }
    passed = true;
  } finally {
    report.add({ scenario: name, baselineRss: baseline, peakRss: peak, boundRss: baseline + options.allowanceBytes, received, other: otherSummary, passed });
  }
}

export interface Harness extends ScenarioContext {
  dispose(): Promise<void>;
}

/** Starts `hranad` with `config`, and the other client with its `kv` table on database `other`. */
export async function startHarness(report: ScenarioReport, config: HranadConfig): Promise<Harness> {
  const server = await HranadProcess.start(config);
  const other = new OtherClient(server);
  const harness: Harness = {
    server,
    other,
    report,
    dispose: async () => {
      other.close();
      await server.dispose();
    },
  };
  try {
    await other.prepare();
  } catch (error) {
    await harness.dispose();
    throw error;
  }
  return harness;
}

/**
 * Runs `fn` with a fresh `hranad` for one scenario (so that its RSS baseline is not what earlier scenarios left
 * behind) and disposes it afterwards.
 */
export async function withServer(report: ScenarioReport, config: HranadConfig, fn: (h: Harness) => Promise<void>): Promise<void> {
  const harness = await startHarness(report, config);
  try {
    await fn(harness);
  } finally {
    await harness.dispose();
  }
}

export { MiB };
