import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReplicationConfig } from "./config.js";
import { LagTracker, parsePositions, type DatabaseLag } from "./lag.js";
import { litestreamBinary, litestreamConfig, ReplicationError, type ReplicatedDatabase } from "./litestream.js";

/** Where the replicator reports (a pino logger fits). */
export interface ReplicationLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export interface ReplicatorOptions {
  readonly config: ReplicationConfig;
  /** The databases to replicate (their files may not exist yet: Litestream picks them up once created). */
  readonly databases: readonly ReplicatedDatabase[];
  /** Default: the binary of the `@flydotio/litestream` package (see `litestreamBinary`). */
  readonly binary?: string;
  /** Environment of the Litestream process (S3 endpoint, region, credentials). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: ReplicationLogger;
  /** First delay before restarting a Litestream that exited on its own; doubles up to `maxRestartDelayMs`. Default 500. */
  readonly restartDelayMs?: number;
  /** Default 30 000. */
  readonly maxRestartDelayMs?: number;
  /** How long `stop` waits for Litestream's final sync before killing it. Default 30 000. */
  readonly stopTimeoutMs?: number;
  /** How often lag is observed. Default 250 ms. */
  readonly pollIntervalMs?: number;
}

export type ReplicatorState = "stopped" | "running" | "restarting" | "stopping";

/** What `/admin/info` (and, later, `/metrics`) report about replication. */
export interface ReplicationStatus {
  readonly url: string;
  readonly syncIntervalMs: number;
  readonly state: ReplicatorState;
  /** Litestream's process id while it runs. */
  readonly pid: number | null;
  /** Times Litestream was started again after it exited on its own. */
  readonly restarts: number;
  /** How the last unexpected exit happened, or null. */
  readonly lastExit: string | null;
  readonly databases: readonly DatabaseLag[];
}

const NOOP_LOG: ReplicationLogger = { warn() {}, info() {}, debug() {} };
/** A Litestream that ran this long before exiting restarts after the first delay again. */
const STABLE_AFTER_MS = 10_000;

/**
 * Supervises one Litestream process that replicates every given database: starts it, restarts it with back-off when
 * it exits on its own, restarts it with a new configuration when the set of databases changes, and stops it with
 * a final sync. Reads Litestream's metrics (on a loopback port) for the replication lag of each database.
 *
 * Litestream holds a read transaction on each database and runs the checkpoints itself; the databases' own
 * connections must not checkpoint (the registry's `externalCheckpoints`), and the server checkpoints at shutdown only
 * after `stop()` has returned (Litestream's final sync).
 */
export class Replicator {
  readonly #config: ReplicationConfig;
  readonly #binary: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: ReplicationLogger;
  readonly #restartDelayMs: number;
  readonly #maxRestartDelayMs: number;
  readonly #stopTimeoutMs: number;
  readonly #pollIntervalMs: number;
  #workDir: string | undefined;
  readonly #lag = new LagTracker();
  #databases: readonly ReplicatedDatabase[];
  #child: ChildProcess | undefined;
  #pid: number | null = null;
  #exited: Promise<void> | undefined;
  #metricsUrl: string | undefined;
  #state: ReplicatorState = "stopped";
  #restarts = 0;
  #failures = 0;
  #lastExit: string | null = null;
  #restartTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling = false;
  #logFile = "";
  #logOffset = 0;
  #lastLine = "";
  /** Serializes start, reconfigure and stop. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ReplicatorOptions) {
    this.#config = options.config;
    this.#env = options.env ?? process.env;
    this.#binary = options.binary ?? litestreamBinary(this.#env);
    this.#log = options.log ?? NOOP_LOG;
    this.#restartDelayMs = options.restartDelayMs ?? 500;
    this.#maxRestartDelayMs = options.maxRestartDelayMs ?? 30_000;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#databases = [...options.databases];
    this.#lag.setDatabases(this.#databases);
  }

  get state(): ReplicatorState {
    return this.#state;
  }

  /** Litestream's process id while it runs (tests use it to kill it). */
  get pid(): number | null {
    return this.#child === undefined ? null : this.#pid;
  }

  databases(): readonly ReplicatedDatabase[] {
    return this.#databases;
  }

  /** Starts Litestream; resolves once it serves its metrics (it is then watching every database). */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state !== "stopped") return;
      this.#state = "running";
      try {
        await this.#spawn();
      } catch (error) {
        clearTimeout(this.#restartTimer);
        this.#state = "stopping";
        await this.#terminate();
        this.#state = "stopped";
        throw error;
      }
      this.#pollTimer = setInterval(() => void this.#poll(), this.#pollIntervalMs);
      this.#pollTimer.unref();
    });
  }

  /**
   * Replaces the set of databases (one created at run time, one removed): Litestream is stopped with a final sync
   * and started again on the new configuration. Nothing is lost meanwhile: the databases do not checkpoint on their
   * own, so the WAL keeps every frame until the new process has shipped it.
   */
  setDatabases(databases: readonly ReplicatedDatabase[]): Promise<void> {
    return this.#serial(async () => {
      this.#databases = [...databases];
      this.#lag.setDatabases(this.#databases);
      if (this.#state === "stopped" || this.#state === "stopping") return;
      await this.#respawn();
    });
  }

  /** Stops Litestream gracefully (it ships what is left, then exits) and starts it again. */
  restart(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === "stopped" || this.#state === "stopping") return;
      await this.#respawn();
    });
  }

  /**
   * Stops replication: Litestream makes a final sync of every database to the replica and exits (killed after
   * `stopTimeoutMs`). Idempotent. Only after this may the databases be checkpointed and closed.
   */
  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === "stopped") return this.#removeWorkDir();
      this.#state = "stopping";
      clearTimeout(this.#restartTimer);
      clearInterval(this.#pollTimer);
      try {
        await this.#terminate();
      } finally {
        this.#readLog();
        this.#state = "stopped";
        this.#removeWorkDir();
      }
    });
  }

  /** Lag per replicated database (see `DatabaseLag`). */
  lag(): DatabaseLag[] {
    return this.#lag.lag();
  }

  status(): ReplicationStatus {
    return {
      url: this.#config.url,
      syncIntervalMs: this.#config.syncIntervalMs,
      state: this.#state,
      pid: this.pid,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      databases: this.lag(),
    };
  }

  /** Reads Litestream's metrics now and updates the lag (the timer does it every `pollIntervalMs`). */
  async poll(): Promise<void> {
    await this.#poll();
  }

  /** Stops the running Litestream (final sync) and starts a new one; a pending back-off restart is dropped. */
  async #respawn(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#state = "running";
    await this.#terminate();
    await this.#spawn();
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #spawn(): Promise<void> {
    // The generated configuration and Litestream's log; left behind only when this process dies (for a post-mortem).
    if (this.#workDir === undefined) {
      this.#workDir = mkdtempSync(join(tmpdir(), "hranad-litestream-"));
      this.#logFile = join(this.#workDir, "litestream.log");
      this.#logOffset = 0;
    }
    const port = await freePort();
    this.#metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const configFile = join(this.#workDir, "litestream.yml");
    writeFileSync(
      configFile,
      litestreamConfig(this.#config, this.#databases, { metricsAddress: `127.0.0.1:${port}`, env: this.#env }),
      { mode: 0o600 },
    );
    // Litestream runs under a small shell that stops it (SIGTERM: final sync, then exit) when its standard input
    // closes — when `stop()` closes it, and when this process dies without stopping it (kill -9, a crash), so that
    // no Litestream outlives the server and races the next one.
    const child = spawn("/bin/sh", ["-c", WATCHDOG, "hranad-litestream", this.#logFile, this.#binary, "replicate", "-config", configFile], {
      env: this.#env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin?.on("error", () => undefined);
    this.#child = child;
    const started = Date.now();
    child.stderr?.on("data", (chunk: Buffer) => {
      const pid = /^litestream-pid (\d+)$/m.exec(chunk.toString("utf8"));
      if (pid !== null && this.#child === child) this.#pid = Number(pid[1]);
    });
    child.stdout?.resume();
    this.#exited = new Promise<void>((resolve) => {
      child.once("error", (error) => {
        this.#lastExit = `could not start: ${error.message}`;
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
      child.once("exit", (code, signal) => {
        resolve();
        if (this.#child !== child) return;
        this.#child = undefined;
        this.#pid = null;
        if (this.#state !== "running") return;
        // An exit nobody asked for: start it again after a back-off.
        this.#lastExit = describeExit(code, signal);
        this.#readLog();
        this.#log.warn({ exit: this.#lastExit, output: this.#lastLine }, "litestream exited; restarting it");
        if (Date.now() - started >= STABLE_AFTER_MS) this.#failures = 0;
        const delay = Math.min(this.#maxRestartDelayMs, this.#restartDelayMs * 2 ** this.#failures);
        this.#failures++;
        this.#state = "restarting";
        this.#restartTimer = setTimeout(() => {
          void this.#serial(async () => {
            if (this.#state !== "restarting") return;
            this.#state = "running";
            this.#restarts++;
            await this.#spawn().catch((error: unknown) => {
              this.#log.warn({ err: error }, "litestream could not be restarted");
            });
          });
        }, delay);
        this.#restartTimer.unref();
      });
    });
    await this.#waitReady(child);
  }

  /** Waits until the metrics answer (Litestream has opened its configuration) or the process is gone. */
  async #waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || this.#child !== child) {
        throw new ReplicationError(`litestream stopped at start: ${this.#lastExit ?? "see the log"}`);
      }
      if ((await this.#fetchMetrics()) !== null) {
        await this.#awaitInitialized(15_000);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new ReplicationError("litestream did not start within 15 s");
  }

  /**
   * Waits (at most `timeoutMs`) until Litestream has made its first pass over every database whose file exists.
   * Litestream's final sync at SIGTERM covers only databases it has passed over: stopping it before would leave their
   * latest writes for the next run.
   */
  async #awaitInitialized(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.#child !== undefined) {
      const metrics = await this.#fetchMetrics();
      if (metrics !== null) {
        const positions = parsePositions(metrics);
        const pending = this.#databases.filter((db) => existsSync(db.path) && (positions.get(db.path)?.syncCount ?? 0) < 1);
        if (pending.length === 0) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #terminate(): Promise<void> {
    if (this.#child !== undefined) await this.#awaitInitialized(Math.min(this.#stopTimeoutMs, 5000));
    const child = this.#child;
    const exited = this.#exited;
    const pid = this.#pid;
    this.#child = undefined;
    this.#pid = null;
    if (child === undefined || exited === undefined) return;
    // Closing its input makes the shell stop Litestream with SIGTERM: a final sync, then exit.
    child.stdin?.end();
    const timer = setTimeout(() => {
      this.#log.warn({ timeoutMs: this.#stopTimeoutMs }, "litestream did not finish its final sync in time; killing it");
      if (pid !== null) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      child.kill("SIGKILL");
    }, this.#stopTimeoutMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async #fetchMetrics(): Promise<string | null> {
    const url = this.#metricsUrl;
    if (url === undefined || this.#child === undefined) return null;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (!response.ok) return null;
      return await response.text();
    } catch {
      return null;
    }
  }

  #removeWorkDir(): void {
    if (this.#workDir !== undefined) rmSync(this.#workDir, { recursive: true, force: true });
    this.#workDir = undefined;
  }

  /** Forwards Litestream's new log lines: warnings and errors as warnings, the rest at debug level. */
  #readLog(): void {
    let text: string;
    if (this.#logFile === "") return;
    try {
      const size = statSync(this.#logFile).size;
      if (size <= this.#logOffset) return;
      const buffer = Buffer.alloc(Math.min(size - this.#logOffset, 1 << 20));
      const fd = openSync(this.#logFile, "r");
      try {
        readSync(fd, buffer, 0, buffer.length, this.#logOffset);
      } finally {
        closeSync(fd);
      }
      const end = buffer.lastIndexOf(10) + 1;
      if (end === 0) return;
      this.#logOffset += end;
      text = buffer.subarray(0, end).toString("utf8");
    } catch {
      return;
    }
    for (const line of text.split("\n")) {
      const trimmed = line.trim();
      if (trimmed === "") continue;
      this.#lastLine = trimmed;
      if (/\b(ERROR|WARN)\b/.test(trimmed)) this.#log.warn({ litestream: trimmed }, "litestream");
      else this.#log.debug({ litestream: trimmed }, "litestream");
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    this.#readLog();
    try {
      const metrics = await this.#fetchMetrics();
      await this.#lag.observe(metrics === null ? null : parsePositions(metrics));
    } catch (error) {
      this.#log.debug({ err: error }, "replication lag could not be observed");
    } finally {
      this.#polling = false;
    }
  }
}

/**
 * Runs `"$@"` (Litestream) in the background with its output appended to the file `$1` (not to a pipe: a Go program
 * writing to a pipe whose reader died is killed by SIGPIPE before its final sync), reports its pid on stderr, and sends it SIGTERM once standard input
 * reaches its end; exits with Litestream's status when Litestream exits (on its own or after the SIGTERM).
 * Standard input is kept on fd 3 because the shell gives background jobs /dev/null as their standard input.
 */
const WATCHDOG = `log=$1
shift
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- &
pid=$!
echo "litestream-pid $pid" >&2
( read -r _ <&3; kill -TERM "$pid" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$pid"
code=$?
kill "$watcher" 2>/dev/null
exit "$code"`;

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `killed by ${signal}`;
  // The shell reports a Litestream killed by a signal as 128 + its number.
  if (code !== null && code > 128) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name !== undefined) return `killed by ${name}`;
  }
  return `exited with code ${code}`;
}

/** A free loopback port for Litestream's metrics. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
