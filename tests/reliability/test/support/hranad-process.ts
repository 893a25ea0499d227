import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";

const require = createRequire(import.meta.url);
/** The real `hranad` bin of the workspace's `@hranad/server` (its `dist` must be built). */
export const HRANAD_BIN = join(dirname(require.resolve("@hranad/server")), "..", "bin", "hranad.js");

export interface HranadConfig {
  readonly databases?: readonly { name: string; driver?: string; mode?: string }[];
  readonly limits?: Readonly<Record<string, number | string>>;
  readonly logLevel?: string;
  /** The `replication:` section, as written in the file. */
  readonly replication?: Readonly<Record<string, unknown>>;
}

/** The configuration file `HranadProcess.start` writes (JSON, which is YAML). */
export function configText(config: HranadConfig, dataDir: string): string {
  return JSON.stringify({
    host: "127.0.0.1",
    dataDir,
    logLevel: config.logLevel ?? "warn",
    databases: config.databases ?? [{ name: "default", mode: "create" }, { name: "other", mode: "create" }],
    ...(config.limits !== undefined ? { limits: config.limits } : {}),
    ...(config.replication !== undefined ? { replication: config.replication } : {}),
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hranad-reliability-${prefix}-`));
}

/** A `hranad` child process: its URL, its pid, and the means to stop or kill it. */
export class HranadProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly dataDir: string;
  url = "";
  #stdout = "";
  #stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcessByStdio<null, Readable, Readable>, dataDir: string) {
    this.child = child;
    this.dataDir = dataDir;
    child.stdout.on("data", (chunk: Buffer) => (this.#stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts `hranad --config FILE --port 0` on `dataDir` (a new temp dir if absent) and resolves once it prints
   * `listening on URL`. The config file is written into the data dir.
   */
  static async start(config: HranadConfig = {}, dataDir = tempDir("data"), env: NodeJS.ProcessEnv = {}): Promise<HranadProcess> {
    const file = join(dataDir, "hranad.json");
    // JSON is YAML: no YAML writer needed.
    writeFileSync(file, configText(config, dataDir));
    // HRANAD_NODE_ARGS: extra node flags for a debugging run (e.g. --cpu-prof).
    const nodeArgs = (process.env.HRANAD_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0);
    const child = spawn(process.execPath, [...nodeArgs, HRANAD_BIN, "--config", file, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "", ...env },
    });
    const server = new HranadProcess(child, dataDir);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hranad did not start within 20 s: ${server.output()}`)), 20_000);
      const onData = () => {
        const match = /listening on (http:\/\/[^\s]+)/.exec(server.#stdout);
        if (match) {
          clearTimeout(timer);
          child.stdout.off("data", onData);
          server.url = match[1]!;
          resolve();
        }
      };
      child.stdout.on("data", onData);
      void server.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`hranad exited (code ${code}, signal ${signal}) before listening: ${server.output()}`));
      });
    });
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size in bytes, from /proc (Linux). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    if (!match) throw new Error("no VmRSS in /proc/PID/status");
    return Number(match[1]) * 1024;
  }

  output(): string {
    return `stdout: ${this.#stdout.slice(-4000)}\nstderr: ${this.#stderr.slice(-4000)}`;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and wait for the exit (the caller bounds the wait). */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill("SIGTERM");
    return this.exited;
  }

  /** Stops the process if it still runs (SIGKILL after 15 s) and removes its data dir. */
  async dispose(removeData = true): Promise<void> {
    if (this.alive) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (removeData) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
