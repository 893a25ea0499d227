/**
 * Losing a machine: hranad replicates with Litestream to a file replica and to an S3-compatible server (s3rver) on
 * loopback while clients write through Hrana; the server and its Litestream are killed with SIGKILL at the same
 * moment (nothing gets to flush); `hranad restore` rebuilds a fresh data directory; a second hranad serves it. Every
 * write acknowledged longer ago than the bound (sync interval + margin) is there, and the database is sound.
 *
 * Also: a Litestream killed under load is restarted by the server and nothing is lost; a graceful stop ships every
 * write (the final sync comes before the closing checkpoint); a backup taken while writers run is a sound database.
 *
 * The numbers measured here (the recovery point and time) are the ones the README's "Losing a machine" runbook gives.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { configText, HRANAD_BIN, HranadProcess, tempDir, type HranadConfig } from "./support/hranad-process.js";

const require = createRequire(import.meta.url);
interface SqliteDatabase {
  prepare(source: string): { all(): Record<string, unknown>[]; get(): Record<string, unknown> | undefined };
  close(): void;
}
const Database = require("better-sqlite3") as new (path: string, options?: object) => SqliteDatabase;
interface S3Server {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = require("s3rver") as new (options: object) => S3Server;

/** The documented recovery point: Litestream ships every `syncInterval`; the margin covers its 1 s WAL scan and a slow machine. */
const SYNC_INTERVAL_MS = 1000;
const MARGIN_MS = 6000;
const BOUND_MS = SYNC_INTERVAL_MS + MARGIN_MS;
const WRITE_MS = 10_000;

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Admin {
  replication: { state: string; pid: number | null; restarts: number; lastExit: string | null; databases: { name: string; lagMs: number }[] } | null;
  version: string;
  databases: string[];
}

async function adminInfo(server: HranadProcess): Promise<Admin> {
  const response = await fetch(`${server.url}/admin/info`);
  expect(response.status).toBe(200);
  return (await response.json()) as Admin;
}

/** Writers inserting numbered rows; each id's acknowledgement time is recorded when the server answers. */
class Writers {
  readonly acked = new Map<number, number>();
  #next = 0;
  #stop = false;
  readonly #runs: Promise<void>[] = [];
  readonly #clients: Client[] = [];

  constructor(url: string, count: number) {
    for (let i = 0; i < count; i++) {
      const client = createClient({ url });
      this.#clients.push(client);
      this.#runs.push(this.#run(client));
    }
  }

  async #run(client: Client): Promise<void> {
    while (!this.#stop) {
      const id = this.#next++;
      try {
        await client.execute({ sql: "INSERT INTO writes (id, payload) VALUES (?, randomblob(200))", args: [id] });
        this.acked.set(id, Date.now());
      } catch {
        if (!this.#stop) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#runs);
    for (const client of this.#clients) client.close();
  }
}

async function createTable(server: HranadProcess): Promise<void> {
  const client = createClient({ url: server.url });
  await client.execute("CREATE TABLE writes (id INTEGER PRIMARY KEY, payload BLOB)");
  const other = createClient({ url: `${server.url}/other/` });
  await other.execute("CREATE TABLE notes (v TEXT)");
  await other.execute("INSERT INTO notes VALUES ('kept')");
  other.close();
  client.close();
}

/** `hranad restore …`: resolves with its exit code and output. */
function restore(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HRANAD_BIN, "restore", ...args], { env: { ...process.env, NODE_OPTIONS: "", ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

async function presentIds(server: HranadProcess): Promise<Set<number>> {
  const client = createClient({ url: server.url });
  try {
    expect((await client.execute("PRAGMA integrity_check")).rows[0]![0]).toBe("ok");
    const rows = (await client.execute("SELECT id FROM writes")).rows;
    return new Set(rows.map((row) => Number(row[0])));
  } finally {
    client.close();
  }
}

/** A file replica, or a bucket on an s3rver on loopback with its environment. */
async function target(kind: "file" | "s3", root: string): Promise<{ url: string; env: NodeJS.ProcessEnv; close(): Promise<void> }> {
  if (kind === "file") return { url: `file://${root}/replica`, env: {}, close: async () => undefined };
  mkdirSync(join(root, "s3"));
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(root, "s3"), configureBuckets: [{ name: "backups" }] });
  const { port } = await s3.run();
  return {
    url: "s3://backups/hranad",
    env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
    close: () => s3.close(),
  };
}

describe("losing a machine", () => {
  it.each(["file", "s3"] as const)(
    "%s replica: after kill -9 of server and Litestream, restore + a second server keep every write older than the bound",
    async (kind) => {
      const root = tempDir(`replication-${kind}`);
      roots.push(root);
      const replica = await target(kind, root);
      const config: HranadConfig = { replication: { url: replica.url, syncInterval: `${SYNC_INTERVAL_MS}ms`, databases: ["*"] } };
      const first = join(root, "first");
      const second = join(root, "second");
      mkdirSync(first);
      // The configuration survives the machine (it lives with the deployment, not on the lost disk).
      const configFile = join(root, "hranad.json");
      writeFileSync(configFile, configText(config, second));
      let server = await HranadProcess.start(config, first, replica.env);
      try {
        await createTable(server);
        const writers = new Writers(server.url, 2);
        await new Promise((resolve) => setTimeout(resolve, WRITE_MS));
        const info = await adminInfo(server);
        expect(info.replication).toMatchObject({ state: "running", restarts: 0 });
        expect(info.replication!.databases.map((d) => d.name)).toEqual(["default", "other"]);
        const litestream = info.replication!.pid!;
        // The machine is gone: nothing gets to flush.
        const lostAt = Date.now();
        process.kill(litestream, "SIGKILL");
        await server.kill9();
        await writers.stop();

        const restoreStarted = Date.now();
        const restored = await restore(["--config", configFile], replica.env);
        const restoreMs = Date.now() - restoreStarted;
        expect(restored.output).toContain('restored "default"');
        expect(restored.code).toBe(0);
        const again = await restore(["--config", configFile, "--database", "default"], replica.env);
        expect(again.code).toBe(1);
        expect(again.output).toMatch(/already exists; restore never overwrites a database/);
        expect(again.output).not.toMatch(/\n\s+at /);

        server = await HranadProcess.start(config, second, replica.env);
        const servingMs = Date.now() - restoreStarted;
        const present = await presentIds(server);
        const other = createClient({ url: `${server.url}/other/` });
        expect((await other.execute("SELECT v FROM notes")).rows.map((r) => r[0])).toEqual(["kept"]);
        other.close();

        const missingOld = [...writers.acked].filter(([id, at]) => at < lostAt - BOUND_MS && !present.has(id));
        const lost = [...writers.acked].filter(([id]) => !present.has(id));
        const window = lost.length === 0 ? 0 : lostAt - Math.min(...lost.map(([, at]) => at));
        console.log(
          `[replication] ${kind}: ${writers.acked.size} writes acknowledged; ${lost.length} lost, all acknowledged within ${window} ms of the loss ` +
            `(bound ${BOUND_MS} ms); restore ${restoreMs} ms; serving again ${servingMs} ms after the restore began`,
        );
        expect(missingOld).toEqual([]);
        expect(writers.acked.size).toBeGreaterThan(100);
        expect(present.size).toBeGreaterThan(0);
      } finally {
        await server.dispose(false);
        await replica.close();
      }
    },
    90_000,
  );
});

describe("Litestream under the server", () => {
  it("is restarted after a kill -9 under load, ships everything at a graceful stop, and backups are sound meanwhile", async () => {
    const root = tempDir("replication-restart");
    roots.push(root);
    const config: HranadConfig = { replication: { url: `file://${root}/replica`, syncInterval: "500ms" } };
    const first = join(root, "first");
    mkdirSync(first);
    const server = await HranadProcess.start(config, first);
    try {
      await createTable(server);
      const writers = new Writers(server.url, 2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const before = await adminInfo(server);
      process.kill(before.replication!.pid!, "SIGKILL");
      // The server starts it again after a short back-off; writers never stop.
      let after = await adminInfo(server);
      for (let i = 0; i < 100 && !(after.replication!.restarts === 1 && after.replication!.state === "running" && after.replication!.pid !== null); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await adminInfo(server);
      }
      expect(after.replication).toMatchObject({ state: "running", restarts: 1, lastExit: "killed by SIGKILL" });

      // A backup while the writers run.
      const backup = await fetch(`${server.url}/admin/databases/default/backup`);
      expect(backup.status).toBe(200);
      expect(backup.headers.get("content-type")).toBe("application/vnd.sqlite3");
      const copy = join(root, "backup.db");
      writeFileSync(copy, Buffer.from(await backup.arrayBuffer()));
      const snapshot = new Database(copy, { readonly: true });
      expect(snapshot.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      expect(Number(snapshot.prepare("SELECT count(*) AS n FROM writes").get()!.n)).toBeGreaterThan(0);
      snapshot.close();
      expect((await fetch(`${server.url}/admin/databases/nope/backup`)).status).toBe(404);

      await new Promise((resolve) => setTimeout(resolve, 1000));
      await writers.stop();
      const { code } = await server.terminate();
      expect(code).toBe(0);

      const configFile = join(root, "restore.json");
      writeFileSync(configFile, configText(config, join(root, "second")));
      const restored = await restore(["--config", configFile], {});
      expect(restored.code).toBe(0);
      const check = new Database(join(root, "second", "default.db"), { readonly: true });
      const ids = new Set(check.prepare("SELECT id FROM writes").all().map((row) => Number(row.id)));
      check.close();
      expect([...writers.acked.keys()].filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await server.dispose(false);
    }
  }, 90_000);
});
