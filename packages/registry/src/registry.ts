import { resolve } from "node:path";
import type { CheckpointMode, CheckpointResult, Driver, OpenMode, OpenOptions, Pool, PoolStats } from "@hranad/driver";
import {
  freezeConfig,
  resolveDatabasePath,
  resolveMode,
  validateName,
  validateOpenOptions,
  type DatabaseConfig,
  type DatabaseOpenOptions,
} from "./config.js";
import { confineDatabaseFile } from "./confine-path.js";
import { RegistryError } from "./registry-error.js";

export interface RegistryOptions {
  /** The directory every database file must live in (resolved against the working directory). */
  readonly dataDir: string;
  /** The drivers databases may name, by `Driver.name` (unique). */
  readonly drivers: readonly Driver[];
  /** Driver for databases that name none. Default: the first of `drivers`. */
  readonly defaultDriver?: string;
  readonly databases: readonly DatabaseConfig[];
  /** Driver options for every database, under each database's own `open`. */
  readonly defaults?: DatabaseOpenOptions;
  /** How long `detach` and `closeAll` wait for handles by default. Default 5000 ms. */
  readonly detachTimeoutMs?: number;
}

/** An open database. Valid while its handle is held. */
export interface Database {
  readonly name: string;
  readonly pool: Pool;
  readonly driver: Driver;
  readonly config: Readonly<DatabaseConfig>;
  /** The effective open mode (`create` when the database may be created). */
  readonly mode: OpenMode;
  readonly readOnly: boolean;
}

/** A counted claim on an open database: while any is held, the database is not closed. */
export interface DatabaseHandle {
  readonly database: Database;
  /** Gives the claim back. Idempotent: a second call does nothing. */
  release(): void;
  /** Whether `release` has been called. */
  readonly released: boolean;
}

/** `closed`: not opened yet (or closed again); `detaching`: refusing new handles while old ones drain. */
export type DatabaseState = "closed" | "opening" | "open" | "detaching";

export interface DatabaseStats {
  readonly name: string;
  readonly state: DatabaseState;
  readonly driver: string;
  readonly mode: OpenMode;
  /** Handles out, counting `get` calls still waiting for the open. */
  readonly handles: number;
  /** The pool's statistics, or null while the database is not open. */
  readonly pool: PoolStats | null;
}

export interface RegistryStats {
  readonly closed: boolean;
  readonly databases: readonly DatabaseStats[];
}

export interface DetachOptions {
  /** How long to wait for handles before refusing with `DATABASE_BUSY`. Default: the registry's `detachTimeoutMs`. */
  readonly timeoutMs?: number;
}

const DEFAULT_DETACH_TIMEOUT_MS = 5000;

/** The registry's bookkeeping for one attached database. */
interface Entry {
  readonly name: string;
  readonly config: Readonly<DatabaseConfig>;
  readonly driver: Driver;
  readonly mode: OpenMode;
  readonly file: string;
  holds: number;
  database: Database | undefined;
  opening: Promise<Database> | undefined;
  detaching: Promise<void> | undefined;
  /** Called each time `holds` drops to zero. */
  readonly drainWaiters: Set<() => void>;
}

/**
 * Named databases, opened lazily into connection pools through the configured drivers. Handles are refcounted:
 * a database with handles out is never closed under them, and detach/closeAll wait (bounded) for them.
 */
export class Registry {
  readonly #dataDir: string;
  readonly #drivers = new Map<string, Driver>();
  readonly #defaultDriver: Driver | undefined;
  readonly #defaults: DatabaseOpenOptions;
  readonly #detachTimeoutMs: number;
  readonly #entries = new Map<string, Entry>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Validates every name, path, mode and driver; throws `RegistryError` on a bad configuration. */
  constructor(options: RegistryOptions) {
    if (typeof options?.dataDir !== "string" || options.dataDir.length === 0 || options.dataDir.includes("\0")) {
      throw new RegistryError("CONFIG_INVALID", "dataDir must be a non-empty path");
    }
    this.#dataDir = resolve(options.dataDir);
    for (const driver of options.drivers ?? []) {
      if (this.#drivers.has(driver.name)) throw new RegistryError("CONFIG_INVALID", `driver "${driver.name}" is given twice`);
      this.#drivers.set(driver.name, driver);
    }
    if (options.defaultDriver !== undefined) {
      this.#defaultDriver = this.#drivers.get(options.defaultDriver);
      if (this.#defaultDriver === undefined) {
        throw new RegistryError("DRIVER_NOT_FOUND", `default driver "${options.defaultDriver}" is not available`);
      }
    } else {
      this.#defaultDriver = options.drivers?.[0];
    }
    validateOpenOptions(options.defaults, "defaults");
    this.#defaults = Object.freeze({ ...options.defaults });
    const timeout = options.detachTimeoutMs ?? DEFAULT_DETACH_TIMEOUT_MS;
    validateTimeout(timeout, "detachTimeoutMs");
    this.#detachTimeoutMs = timeout;
    for (const config of options.databases ?? []) this.#add(config);
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Names of the attached databases, in the order they were attached. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * A handle on the named database, opening it on first use (concurrent first gets share one open). Rejects with
   * `DATABASE_NOT_FOUND`, `DATABASE_BUSY` (being detached), `REGISTRY_CLOSED`, `DATABASE_OPEN_FAILED`,
   * `DATABASE_PATH_INVALID`, or `ABORTED` when `signal` aborts before the open finishes (the shared open goes on).
   */
  async get(name: string, signal?: AbortSignal): Promise<DatabaseHandle> {
    const entry = this.#admit(name);
    if (signal?.aborted) throw aborted(name, signal);
    entry.holds++;
    let handedOut = false;
    try {
      const database = entry.database ?? (await raceAbort(this.#open(entry), signal, name));
      handedOut = true;
      return new Handle(database, () => this.#drop(entry));
    } finally {
      if (!handedOut) this.#drop(entry);
    }
  }

  /**
   * Runs a WAL checkpoint (default `truncate`: the `-wal` file is left empty) while holding a handle, so the
   * database cannot be detached meanwhile. Opens the database if needed. Driver errors pass through.
   */
  async checkpoint(name: string, mode: CheckpointMode = "truncate"): Promise<CheckpointResult> {
    const handle = await this.get(name);
    try {
      return await handle.database.pool.checkpoint(mode);
    } finally {
      handle.release();
    }
  }

  /**
   * Removes a database: refuses new handles, waits up to `timeoutMs` for the handles out, checkpoints (TRUNCATE)
   * and closes its pool. On timeout it rejects with `DATABASE_BUSY` and the database stays attached and usable.
   * A second call while one is running returns the same promise.
   */
  detach(name: string, options: DetachOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const entry = this.#entries.get(name);
    if (entry === undefined) return Promise.reject(notFound(name));
    if (entry.detaching !== undefined) return entry.detaching;
    const timeoutMs = options.timeoutMs ?? this.#detachTimeoutMs;
    validateTimeout(timeoutMs, "timeoutMs");
    const detaching = (async () => {
      if (!(await waitDrained(entry, timeoutMs))) {
        entry.detaching = undefined;
        throw new RegistryError("DATABASE_BUSY", `database "${name}" still has handles in use`);
      }
      try {
        await closeEntry(entry);
      } finally {
        this.#entries.delete(name);
      }
    })();
    entry.detaching = detaching;
    return detaching;
  }

  /** Adds a database at run time. Throws `RegistryError` on a bad configuration or a name already attached. */
  attach(config: DatabaseConfig): void {
    if (this.#closed) throw closedError();
    this.#add(config);
  }

  /** The databases that are open now, not being detached (this call opens nothing). */
  openDatabases(): Database[] {
    const open: Database[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.database !== undefined && entry.detaching === undefined) open.push(entry.database);
    }
    return open;
  }

  stats(): RegistryStats {
    const databases = [...this.#entries.values()].map(
      (entry): DatabaseStats => ({
        name: entry.name,
        state: stateOf(entry),
        driver: entry.driver.name,
        mode: entry.mode,
        handles: entry.holds,
        pool: entry.database?.pool.stats() ?? null,
      }),
    );
    return { closed: this.#closed, databases };
  }

  /**
   * Shuts the registry: from the first call on, `get`, `attach` and `detach` refuse with `REGISTRY_CLOSED`. Waits
   * up to `timeoutMs` (default `detachTimeoutMs`) for every handle, then checkpoints (TRUNCATE) and closes each
   * pool. Databases whose handles are still out at the deadline stay open and the promise rejects with
   * `DATABASE_BUSY` naming them; call `closeAll` again once they are released. Concurrent calls share one run.
   */
  closeAll(options: DetachOptions = {}): Promise<void> {
    this.#closed = true;
    if (this.#closing !== undefined) return this.#closing;
    const timeoutMs = options.timeoutMs ?? this.#detachTimeoutMs;
    validateTimeout(timeoutMs, "timeoutMs");
    const closing = (async () => {
      const busy: string[] = [];
      const failures: unknown[] = [];
      await Promise.all(
        [...this.#entries.values()].map(async (entry) => {
          // A detach that was already running finishes first; it may remove the entry itself.
          await entry.detaching?.catch(() => undefined);
          if (!this.#entries.has(entry.name)) return;
          if (!(await waitDrained(entry, timeoutMs))) {
            busy.push(entry.name);
            return;
          }
          await closeEntry(entry).catch((error: unknown) => failures.push(error));
        }),
      );
      if (busy.length > 0) {
        throw new RegistryError("DATABASE_BUSY", `databases still in use: ${busy.sort().map((n) => `"${n}"`).join(", ")}`);
      }
      if (failures.length > 0) throw failures[0];
    })().finally(() => {
      this.#closing = undefined;
    });
    this.#closing = closing;
    return closing;
  }

  #add(config: DatabaseConfig): void {
    if (typeof config !== "object" || config === null) throw new RegistryError("CONFIG_INVALID", "a database config must be an object");
    validateName(config.name);
    const name = config.name;
    if (this.#entries.has(name)) throw new RegistryError("DATABASE_EXISTS", `database "${name}" is already attached`);
    const mode = resolveMode(config);
    const file = resolveDatabasePath(this.#dataDir, name, config.path);
    for (const other of this.#entries.values()) {
      if (other.file === file) {
        throw new RegistryError("DATABASE_EXISTS", `database "${name}" uses the same file as database "${other.name}"`);
      }
    }
    const driver = config.driver === undefined ? this.#defaultDriver : this.#drivers.get(config.driver);
    if (driver === undefined) {
      const which = config.driver === undefined ? "no driver is configured" : `driver "${config.driver}" is not available`;
      throw new RegistryError("DRIVER_NOT_FOUND", `database "${name}": ${which}`);
    }
    validateOpenOptions(config.open, `database "${name}"`);
    if (config.externalCheckpoints !== undefined && typeof config.externalCheckpoints !== "boolean") {
      throw new RegistryError("CONFIG_INVALID", `database "${name}": externalCheckpoints must be a boolean`);
    }
    this.#entries.set(name, {
      name,
      config: freezeConfig(config),
      driver,
      mode,
      file,
      holds: 0,
      database: undefined,
      opening: undefined,
      detaching: undefined,
      drainWaiters: new Set(),
    });
  }

  /** The entry a new handle may be taken on, or the reason why not. */
  #admit(name: string): Entry {
    if (this.#closed) throw closedError();
    const entry = this.#entries.get(name);
    if (entry === undefined) throw notFound(name);
    if (entry.detaching !== undefined) throw new RegistryError("DATABASE_BUSY", `database "${name}" is being detached`);
    return entry;
  }

  #open(entry: Entry): Promise<Database> {
    if (entry.opening !== undefined) return entry.opening;
    const opening = (async (): Promise<Database> => {
      const path = await confineDatabaseFile(this.#dataDir, entry.file, entry.name, entry.mode);
      const options: OpenOptions = {
        ...this.#defaults,
        ...entry.config.open,
        path,
        mode: entry.mode,
        // The replicator checkpoints: a connection's own automatic checkpoint could race it.
        ...(entry.config.externalCheckpoints === true ? { walAutocheckpointPages: 0 } : {}),
      };
      let pool: Pool;
      try {
        pool = await entry.driver.open(options);
      } catch (error) {
        throw openFailed(entry.name, error);
      }
      const database: Database = Object.freeze({
        name: entry.name,
        pool,
        driver: entry.driver,
        config: entry.config,
        mode: entry.mode,
        readOnly: entry.mode === "readonly",
      });
      entry.database = database;
      return database;
    })();
    entry.opening = opening;
    // A failed open is forgotten so that the next get tries again (the file may have been fixed meanwhile).
    opening.catch(() => {
      if (entry.opening === opening) entry.opening = undefined;
    });
    return opening;
  }

  #drop(entry: Entry): void {
    entry.holds--;
    if (entry.holds === 0) for (const waiter of [...entry.drainWaiters]) waiter();
  }
}

class Handle implements DatabaseHandle {
  readonly database: Database;
  #onRelease: (() => void) | undefined;

  constructor(database: Database, onRelease: () => void) {
    this.database = database;
    this.#onRelease = onRelease;
  }

  get released(): boolean {
    return this.#onRelease === undefined;
  }

  release(): void {
    const onRelease = this.#onRelease;
    this.#onRelease = undefined;
    onRelease?.();
  }
}

function stateOf(entry: Entry): DatabaseState {
  if (entry.detaching !== undefined) return "detaching";
  if (entry.database !== undefined) return "open";
  if (entry.opening !== undefined) return "opening";
  return "closed";
}

/** Resolves true once the entry has no holds, false after `timeoutMs`. */
function waitDrained(entry: Entry, timeoutMs: number): Promise<boolean> {
  if (entry.holds === 0) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const finish = (drained: boolean): void => {
      clearTimeout(timer);
      entry.drainWaiters.delete(onDrained);
      resolvePromise(drained);
    };
    const onDrained = (): void => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    entry.drainWaiters.add(onDrained);
  });
}

/** Closes the entry's pool (after a TRUNCATE checkpoint on writable databases) and forgets it. */
async function closeEntry(entry: Entry): Promise<void> {
  // An open nobody waits for any more (its gets were aborted) still has to finish before its pool can be closed.
  const database = entry.database ?? (await entry.opening?.catch(() => undefined));
  entry.database = undefined;
  entry.opening = undefined;
  if (database === undefined) return;
  if (!database.readOnly) {
    // Best effort: leaves an empty -wal behind; a failure here must not keep the pool open.
    await database.pool.checkpoint("truncate").catch(() => undefined);
  }
  await database.pool.close();
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, name: string): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(aborted(name, signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function validateTimeout(value: unknown, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RegistryError("CONFIG_INVALID", `${what} must be a non-negative number of milliseconds`);
  }
}

function aborted(name: string, signal: AbortSignal): RegistryError {
  return new RegistryError("ABORTED", `opening database "${name}" was aborted`, { cause: signal.reason });
}

function notFound(name: string): RegistryError {
  return new RegistryError("DATABASE_NOT_FOUND", `database "${name}" does not exist`);
}

function closedError(): RegistryError {
  return new RegistryError("REGISTRY_CLOSED", "the registry is closed");
}

/** Wraps a driver failure without its message, which may carry the file path; the code is enough for a client. */
function openFailed(name: string, error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? ` (${code})` : "";
  return new RegistryError("DATABASE_OPEN_FAILED", `database "${name}" could not be opened${detail}`, { cause: error });
}
