/**
 * The server's side of replication: the `replication:` key, the replicated databases' checkpoints handed to
 * Litestream, `/admin/info`, the backup route, the stop at shutdown, and `hranad restore`'s errors.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/index.js";
import { startTestServer } from "./support.js";

const BIN = join(import.meta.dirname, "..", "bin", "hranad.js");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hranad-server-replication-"));
  dirs.push(dir);
  return dir;
}

describe("the replication: key", () => {
  it("is off by default and parsed when present", () => {
    expect(parseConfig({}).replication).toBeNull();
    expect(parseConfig({ replication: { url: "file:///backups", syncInterval: "2s", databases: ["default"] } }).replication).toEqual({
      url: "file:///backups",
      target: { kind: "file", path: "/backups" },
      syncIntervalMs: 2000,
      databases: ["default"],
    });
  });

  it("reports errors with their key path", () => {
    expect(() => parseConfig({ replication: { url: "ftp://x" } })).toThrow(ConfigError);
    expect(() => parseConfig({ replication: { url: "ftp://x" } })).toThrow(/^replication\.url: /);
    expect(() => parseConfig({ replication: { url: "file:///b", databases: ["nope"] } })).toThrow(
      /^replication\.databases\[0\]: "nope" is not one of the server's databases/,
    );
  });
});

describe("a server that replicates", () => {
  it("hands checkpoints to Litestream, reports lag, serves backups, and stops Litestream when it closes", async () => {
    const replica = tempDir();
    const test = await startTestServer({ replication: { url: `file://${replica}`, syncInterval: "200ms", databases: ["default"] } });
    let stopped = false;
    try {
      const client = createClient({ url: test.url });
      // Replicated: the worker connections never checkpoint on their own. Not replicated: SQLite's default. (WebSocket
      // streams run on worker connections; the main-thread connection of one-shot HTTP work never autocheckpoints.)
      const ws = createClient({ url: test.wsUrl });
      expect((await ws.execute("PRAGMA wal_autocheckpoint")).rows[0]![0]).toBe(0);
      ws.close();
      const other = createClient({ url: `${test.wsUrl}/other` });
      expect((await other.execute("PRAGMA wal_autocheckpoint")).rows[0]![0]).toBe(1000);
      other.close();
      await client.execute("CREATE TABLE t (v)");
      await client.execute("INSERT INTO t VALUES (1), (2)");

      const info = (await (await fetch(`${test.url}/admin/info`)).json()) as {
        version: string;
        uptimeSeconds: number;
        databases: string[];
        replication: { url: string; state: string; pid: number; databases: { name: string; lagMs: number }[] };
      };
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(info.databases).toEqual(["default", "other"]);
      expect(info.replication).toMatchObject({ url: `file://${replica}`, state: "running", databases: [{ name: "default" }] });
      expect(typeof info.replication.databases[0]!.lagMs).toBe("number");
      const litestream = info.replication.pid;
      const metrics = await (await fetch(`${test.url}/metrics`)).text();
      expect(metrics).toMatch(/^hranad_replication_lag_seconds\{database="default"\} \d+(\.\d+)?$/m);
      expect(metrics).toContain("hranad_replication_up 1\n");
      expect(metrics).not.toContain('database="other"');

      const backup = await fetch(`${test.url}/admin/databases/default/backup`);
      expect(backup.status).toBe(200);
      expect(backup.headers.get("content-disposition")).toBe('attachment; filename="default.db"');
      const bytes = Buffer.from(await backup.arrayBuffer());
      expect(bytes.subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
      // Litestream owns the checkpoints of a replicated database; the others still take the admin's.
      const refused = await fetch(`${test.url}/admin/databases/default/checkpoint`, { method: "POST" });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { code: string }).code).toBe("CHECKPOINT_REPLICATED");
      expect((await fetch(`${test.url}/admin/databases/other/checkpoint`, { method: "POST" })).status).toBe(200);
      client.close();

      await test.close();
      stopped = true;
      expect(test.server.replication!.status().state).toBe("stopped");
      expect(() => process.kill(litestream, 0)).toThrow();
    } finally {
      if (!stopped) await test.close();
    }
  }, 60_000);

  it("answers /admin/info with replication null when it is not configured", async () => {
    const test = await startTestServer();
    try {
      const info = (await (await fetch(`${test.url}/admin/info`)).json()) as { replication: unknown };
      expect(info.replication).toBeNull();
    } finally {
      await test.close();
    }
  }, 30_000);
});

describe("hranad restore", () => {
  const restore = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "restore", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  it("explains its usage and refuses configurations it cannot restore from, without stack traces", async () => {
    const dir = tempDir();
    expect((await restore(["--help"])).stdout).toMatch(/^Usage: hranad restore --config FILE/);
    expect(await restore([])).toMatchObject({ code: 2, stderr: "hranad restore: --config FILE is required (try hranad restore --help)\n" });
    const plain = join(dir, "plain.yaml");
    writeFileSync(plain, "dataDir: ./data\n");
    expect((await restore(["--config", plain])).stderr).toMatch(/has no replication: section/);
    const replicated = join(dir, "replicated.yaml");
    writeFileSync(replicated, `dataDir: ./data\nreplication:\n  url: file://${dir}/replica\n`);
    expect(await restore(["--config", replicated, "--timestamp", "yesterday"])).toMatchObject({ code: 2 });
    expect((await restore(["--config", replicated, "--database", "nope"])).stderr).toMatch(/database "nope" is not replicated/);
    const nothing = await restore(["--config", replicated]);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toMatch(/no replica of "default"/);
    for (const result of [nothing]) expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
