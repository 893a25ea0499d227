import { resolve } from "node:path";
import { builtModuleUrl } from "./built-module.js";
import type { EngineOpenOptions } from "@hranad/driver/engine";
import type { Driver, DriverCapabilities, OpenOptions, Pool } from "@hranad/driver";
import { ThreadedPool } from "./threaded-pool.js";
import { WorkerPool } from "./worker-pool.js";

export interface ThreadedDriverOptions {
  /** Stable name used in configuration, e.g. `"better-sqlite3"`. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** URL of the engine module (its built JavaScript) that each worker imports; it must export `open`. */
  readonly engineModule: string | URL;
  /** Defaults to the process-wide `WorkerPool.shared()`. */
  readonly workerPool?: WorkerPool;
  /** Prepared statements cached per connection (keyed by SQL text). Default 100. */
  readonly statementCacheSize?: number;
  /** How long `Pool.close()` waits for connections still in use. Default 10000 ms. */
  readonly closeTimeoutMs?: number;
}

const MODES = new Set(["create", "readwrite", "readonly"]);

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}

function journalSizeLimit(value: number | undefined): number {
  if (value === undefined) return 64 * 1024 * 1024;
  if (!Number.isSafeInteger(value) || value < -1) throw new TypeError("journalSizeLimitBytes must be an integer ≥ -1");
  return value;
}

function walAutocheckpoint(value: number | undefined): number {
  if (value === undefined) return 1000;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError("walAutocheckpointPages must be an integer ≥ 0");
  return value;
}

/**
 * A `Driver` whose connections each live in a worker thread (taken from a shared `WorkerPool`) and run a
 * synchronous engine there, so a long statement on one database never stalls the main event loop.
 */
export function createThreadedDriver(options: ThreadedDriverOptions): Driver {
  const engine = builtModuleUrl(options.engineModule);
  const statementCacheSize = options.statementCacheSize ?? 100;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  return {
    name: options.name,
    capabilities: options.capabilities,
    async open(open: OpenOptions): Promise<Pool> {
      if (!open || typeof open.path !== "string" || open.path === "") throw new TypeError("path must be a non-empty string");
      if (!MODES.has(open.mode)) throw new TypeError(`mode must be one of ${[...MODES].join(", ")}`);
      const maxConnections = open.maxConnections ?? 8;
      if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new TypeError("maxConnections must be an integer ≥ 1");
      const path = open.path === ":memory:" ? open.path : resolve(open.path);
      const engineOptions: EngineOpenOptions = {
        path,
        mode: open.mode,
        busyTimeoutMs: nonNegative(open.busyTimeoutMs, 5000, "busyTimeoutMs"),
        journalMode: open.journalMode ?? "wal",
        synchronous: open.synchronous ?? "normal",
        statementTimeoutMs: nonNegative(open.statementTimeoutMs, 30_000, "statementTimeoutMs"),
        statementCacheSize,
        maxResultBytes: nonNegative(open.maxResultBytes, 10 * 1024 * 1024, "maxResultBytes"),
        journalSizeLimitBytes: journalSizeLimit(open.journalSizeLimitBytes),
        walAutocheckpointPages: walAutocheckpoint(open.walAutocheckpointPages),
      };
      return ThreadedPool.open({
        engine,
        workerPool: options.workerPool ?? WorkerPool.shared(),
        open: engineOptions,
        path: open.path,
        maxConnections,
        acquireTimeoutMs: nonNegative(open.acquireTimeoutMs, 5000, "acquireTimeoutMs"),
        closeTimeoutMs,
        idleConnectionTimeoutMs: nonNegative(open.idleConnectionTimeoutMs, 30_000, "idleConnectionTimeoutMs"),
        // Inline work needs the guard's deadline; a database opened without one keeps all work on workers.
        inlineBudgetMs:
          options.capabilities.inline === true && engineOptions.statementTimeoutMs > 0 && path !== ":memory:"
            ? nonNegative(open.inlineBudgetMs, 2, "inlineBudgetMs")
            : 0,
      });
    },
  };
}
