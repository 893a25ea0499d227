import { stat } from "node:fs/promises";
import type { Registry } from "./registry.js";

/** How often the size of each open database's WAL file is looked at. */
const CHECK_INTERVAL_MS = 2000;

/** Where the guard reports what it did (a pino logger fits). */
export interface WalGuardLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
  debug(object: object, message: string): void;
}

/**
 * Keeps every open database's `-wal` file bounded. A reader that holds an old snapshot (a cursor nobody reads, a
 * long read transaction) stops SQLite's automatic checkpoints from reaching the end of the WAL, so a busy writer
 * grows the file without limit — and SQLite never shrinks it by itself. Once the file is past `limitBytes`, the
 * guard runs a PASSIVE checkpoint (it never blocks anyone) and, when that has copied every frame back (the pinning
 * reader is gone), a TRUNCATE checkpoint that empties the file. Databases with `externalCheckpoints` are skipped:
 * their replicator bounds the WAL with its own checkpoints.
 */
export class WalGuard {
  readonly #registry: Registry;
  readonly #limitBytes: number;
  readonly #log: WalGuardLogger;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(registry: Registry, limitBytes: number, log: WalGuardLogger) {
    this.#registry = registry;
    this.#limitBytes = limitBytes;
    this.#log = log;
  }

  start(): void {
    if (this.#timer !== undefined || this.#limitBytes <= 0) return;
    this.#timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass over the open databases. Never rejects. */
  async check(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (const database of this.#registry.openDatabases()) {
        if (database.readOnly || database.pool.path === ":memory:") continue;
        // Another process (the replicator) owns this database's checkpoints.
        if (database.config.externalCheckpoints === true) continue;
        const size = await walSize(database.pool.path);
        if (size <= this.#limitBytes) continue;
        try {
          const passive = await this.#registry.checkpoint(database.name, "passive");
          if (passive.busy !== 0 || passive.checkpointed < passive.log) {
            this.#log.debug({ database: database.name, walBytes: size }, "WAL over its bound, still pinned by a reader");
            continue;
          }
          const truncated = await this.#registry.checkpoint(database.name, "truncate");
          if (truncated.busy === 0) {
            this.#log.info({ database: database.name, walBytes: size }, "WAL over its bound: checkpointed and truncated");
          }
        } catch (error) {
          this.#log.debug({ database: database.name, err: error }, "WAL checkpoint failed; will retry");
        }
      }
    } catch (error) {
      this.#log.warn({ err: error }, "WAL check failed");
    } finally {
      this.#running = false;
    }
  }
}

async function walSize(path: string): Promise<number> {
  try {
    return (await stat(`${path}-wal`)).size;
  } catch {
    return 0;
  }
}
