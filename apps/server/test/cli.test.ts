import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "bin", "hranad.js");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hranad-cli-"));
  dirs.push(dir);
  return dir;
}

/** Runs the real `hranad` binary and collects its output until it exits or `until` matches. */
function run(args: string[], cwd: string, until?: RegExp, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let onMatch: (match: RegExpMatchArray) => void = () => undefined;
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    const match = until ? stdout.match(until) : null;
    if (match) onMatch(match);
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const matched = new Promise<RegExpMatchArray>((resolve, reject) => {
    onMatch = resolve;
    child.on("exit", () => reject(new Error(`exited before matching; stdout: ${stdout}; stderr: ${stderr}`)));
  });
  matched.catch(() => undefined); // only awaited when `until` is given
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, matched, exited, output: () => ({ stdout, stderr }) };
}

describe("the hranad command", () => {
  it("serves ./data/default.db in open mode with no configuration, and stops cleanly on SIGTERM", async () => {
    const cwd = tempDir();
    const server = run(["--port", "0"], cwd, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const [, url] = await server.matched;
    expect(server.output().stdout).toMatch(/open mode/i);
    const client = createClient({ url: url! });
    await client.execute("CREATE TABLE t (x)");
    await client.execute("INSERT INTO t VALUES (42)");
    const ws = createClient({ url: url!.replace("http", "ws") });
    const rs = await ws.execute("SELECT x FROM t");
    expect(rs.rows[0]!.x).toBe(42);
    client.close();
    ws.close();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(join(cwd, "data", "default.db"))).toBe(true);
  });

  it("refuses unknown flags and invalid configuration with a message that says what is wrong", async () => {
    const cwd = tempDir();
    const unknown = run(["--bogus"], cwd);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output().stderr).toMatch(/unknown option "--bogus"/);
    writeFileSync(join(cwd, "bad.yaml"), "databases:\n  - name: 'bad name!'\n");
    const bad = run(["--config", "bad.yaml"], cwd);
    expect(await bad.exited).toBe(2);
    expect(bad.output().stderr).toMatch(/databases\[0\]\.name/);
    const port = run(["--port", "99999"], cwd);
    expect(await port.exited).toBe(2);
    expect(port.output().stderr).toMatch(/port/);
  });

  it("reads databases from a YAML file and the port from PORT", async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, "hranad.yaml"),
      "dataDir: dbs\ndatabases:\n  - name: app\n    mode: create\n  - name: logs\n    driver: libsql\n    mode: create\nlimits:\n  idleTimeoutMs: 5s\n",
    );
    const server = run(["--config", "hranad.yaml"], cwd, /listening on (http:\/\/[^\s]+)/, { PORT: "0" });
    const [, url] = await server.matched;
    const app = createClient({ url: `${url}/app/` });
    const logs = createClient({ url: `${url}/logs/` });
    await app.execute("CREATE TABLE a (x)");
    await logs.execute("CREATE TABLE l (x)");
    const missing = createClient({ url: url! });
    await expect(missing.execute("SELECT 1")).rejects.toThrow();
    app.close();
    logs.close();
    missing.close();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(join(cwd, "dbs", "app.db"))).toBe(true);
    expect(existsSync(join(cwd, "dbs", "logs.db"))).toBe(true);
  });
});
