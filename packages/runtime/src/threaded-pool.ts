import { DriverError } from "@hranad/driver";
import type { EngineOpenOptions } from "@hranad/driver/engine";
import type {
  CheckpointMode,
  CheckpointResult,
  Connection,
  InlineLease,
  OpenMode,
  Pool,
  PoolStats,
} from "@hranad/driver";
import { InlineConnection, InlineShare } from "./inline.js";
import { PooledConnection } from "./pooled-connection.js";
import { WorkerConnection } from "./worker-connection.js";
import type { WorkerPool } from "./worker-pool.js";

interface Waiter {
  resolve(connection: WorkerConnection): void;
  reject(error: Error): void;
  /** Stops the waiter's timer and abort listener. */
  settle(): void;
}

export interface ThreadedPoolSettings {
  readonly engine: string;
  readonly workerPool: WorkerPool;
  readonly open: EngineOpenOptions;
  readonly path: string;
  readonly maxConnections: number;
  readonly acquireTimeoutMs: number;
  /** How long `close()` waits for connections in use before closing them by force. */
  readonly closeTimeoutMs: number;
  /** Idle connections beyond the first are closed after this long unused (their workers go back). Default 30 000. */
  readonly idleConnectionTimeoutMs?: number;
  /** Deadline of an inline statement (the main-thread connection); 0: no inline work. */
  readonly inlineBudgetMs?: number;
}

const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS = 30_000;
/** About SQLite's automatic checkpoint (1000 pages) for small writes. */
const INLINE_COMMITS_PER_CHECKPOINT = 200;
/** A main-thread connection that could not open is tried again after this long. */
const INLINE_RETRY_MS = 1000;

/**
 * A bounded pool of worker-hosted connections to one database. Connections open lazily; callers wait in FIFO
 * order; a released connection is rolled back and switched back to its base read-only state before reuse.
 */
export class ThreadedPool implements Pool {
  readonly path: string;
  readonly mode: OpenMode;
  readonly #settings: ThreadedPoolSettings;
  readonly #idle: WorkerConnection[] = [];
  /** Connections leased to users or being reset after a release. */
  readonly #busy = new Set<WorkerConnection>();
  readonly #leases = new Set<PooledConnection>();
  readonly #waiters: Waiter[] = [];
  #opening = 0;
  /** When each idle connection was last given back; `#idle` is a stack, so its front holds the longest idle. */
  readonly #idleSince = new WeakMap<WorkerConnection, number>();
  #sweeper: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  /** The main-thread connection for short work: opened on first demand, replaced when a user left state on it. */
  #inline: InlineConnection | undefined;
  #inlineOpening: Promise<void> | undefined;
  #inlineCommits = 0;

  private constructor(settings: ThreadedPoolSettings) {
    this.#settings = settings;
    this.path = settings.path;
    this.mode = settings.open.mode;
  }

  /** Opens the pool and its first connection, so that a database that cannot be opened fails here. */
  static async open(settings: ThreadedPoolSettings): Promise<ThreadedPool> {
    const pool = new ThreadedPool(settings);
    const first = await WorkerConnection.open(settings.workerPool, settings.engine, settings.open);
    pool.#park(first);
    // The main-thread connection too, so that the first requests already run there.
    if ((settings.inlineBudgetMs ?? 0) > 0) await pool.#openInline(settings.inlineBudgetMs!);
    return pool;
  }

  acquire(signal?: AbortSignal, timeoutMs?: number): Promise<Connection> {
    return this.#acquirePhysical(signal, timeoutMs).then((physical) => {
      const lease: PooledConnection = new PooledConnection(physical, (p): Promise<void> => this.#giveBack(p, lease));
      this.#leases.add(lease);
      return lease;
    });
  }

  async inline(): Promise<InlineLease | undefined> {
    const budget = this.#settings.inlineBudgetMs ?? 0;
    if (budget <= 0 || this.#closing) return undefined;
    if (this.#inline?.dirty === true && !this.#inline.leased) {
      this.#inline.close();
      this.#inline = undefined;
    }
    if (this.#inline === undefined) {
      void this.#openInline(budget);
      return undefined;
    }
    return this.#inline.lease();
  }

  #openInline(budget: number): Promise<void> {
    if (this.#inlineOpening !== undefined) return this.#inlineOpening;
    const settings = {
      statementBudgetMs: budget,
      unitBudgetMs: budget * 3,
      share: InlineShare.shared,
      // The main-thread connection never checkpoints (a checkpoint syncs files): a worker does it every so many commits.
      onCommitted: () => {
        if (++this.#inlineCommits % INLINE_COMMITS_PER_CHECKPOINT !== 0 || this.#closing) return;
        void this.checkpoint("passive").catch(() => undefined);
      },
    };
    this.#inlineOpening = InlineConnection.open(this.#settings.engine, this.#settings.open, settings).then(
      (connection) => {
        this.#inlineOpening = undefined;
        if (this.#closing) connection.close();
        else this.#inline = connection;
      },
      () => {
        // It could not open now (a lock held by another connection while it set itself up, with busy timeout 0):
        // work stays on workers, and a later request tries again after a pause.
        setTimeout(() => (this.#inlineOpening = undefined), INLINE_RETRY_MS).unref();
      },
    );
    return this.#inlineOpening;
  }

  async checkpoint(mode: CheckpointMode = "passive"): Promise<CheckpointResult> {
    const physical = await this.#acquirePhysical(undefined, undefined);
    try {
      return (await physical.request({ op: "checkpoint", mode })) as CheckpointResult;
    } finally {
      await this.#giveBack(physical, undefined);
    }
  }

  stats(): PoolStats {
    return {
      open: this.#idle.length + this.#busy.size,
      idle: this.#idle.length,
      inUse: this.#busy.size,
      waiting: this.#waiters.length,
      max: this.#settings.maxConnections,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await this.#inlineOpening;
    this.#inline?.close();
    this.#inline = undefined;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.settle();
      waiter.reject(new DriverError("POOL_CLOSED", "The pool was closed"));
    }
    if (this.#busy.size > 0 || this.#opening > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#drained = resolve;
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#settings.closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      this.#drained = undefined;
    }
    // Whatever is still in use after the grace period is taken away from its user.
    for (const lease of this.#leases) lease.invalidate();
    this.#leases.clear();
    for (const physical of this.#busy) physical.destroy();
    this.#busy.clear();
    await Promise.all(this.#idle.splice(0).map((physical) => physical.close()));
  }

  #total(): number {
    return this.#idle.length + this.#busy.size + this.#opening;
  }

  #acquirePhysical(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<WorkerConnection> {
    if (this.#closing) return Promise.reject(new DriverError("POOL_CLOSED", "The pool is closed"));
    if (signal?.aborted) return Promise.reject(new DriverError("ABORTED", "The acquire was aborted"));
    return new Promise<WorkerConnection>((resolve, reject) => {
      const timeout = timeoutMs ?? this.#settings.acquireTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (remove()) reject(new DriverError("ABORTED", "The acquire was aborted"));
      };
      const waiter: Waiter = {
        resolve,
        reject,
        settle: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      const remove = (): boolean => {
        const index = this.#waiters.indexOf(waiter);
        if (index < 0) return false;
        this.#waiters.splice(index, 1);
        waiter.settle();
        return true;
      };
      this.#waiters.push(waiter);
      if (Number.isFinite(timeout)) {
        timer = setTimeout(() => {
          if (remove()) {
            reject(
              new DriverError(
                "POOL_TIMEOUT",
                `No connection became free within ${timeout} ms (${this.#settings.maxConnections} in use)`,
              ),
            );
          }
        }, timeout);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#dispatch();
    });
  }

  /** Hands idle connections to waiters in order, and opens new connections while below the bound. */
  #dispatch(): void {
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      if (!idle.usable) {
        // Its worker died while idle: drop it; the loop below opens a replacement if someone waits.
        idle.destroy();
        continue;
      }
      const waiter = this.#waiters.shift();
      if (!waiter) {
        this.#idle.push(idle);
        break;
      }
      waiter.settle();
      this.#busy.add(idle);
      waiter.resolve(idle);
    }
    // Connections being opened will serve the oldest waiters; open more only for waiters nobody serves yet.
    while (this.#waiters.length > this.#opening && this.#total() < this.#settings.maxConnections) this.#openOne();
  }

  #openOne(): void {
    this.#opening += 1;
    const { workerPool, engine, open } = this.#settings;
    void WorkerConnection.open(workerPool, engine, open).then(
      (physical) => {
        this.#opening -= 1;
        if (this.#closing) {
          void physical.close().then(() => this.#checkDrained());
          return;
        }
        this.#park(physical);
        this.#dispatch();
      },
      (error: unknown) => {
        this.#opening -= 1;
        // The database cannot be opened (any more): the oldest waiter learns it instead of timing out.
        const waiter = this.#waiters.shift();
        if (waiter) {
          waiter.settle();
          waiter.reject(error instanceof Error ? error : new Error(String(error)));
        }
        this.#checkDrained();
        if (!this.#closing) this.#dispatch();
      },
    );
  }

  async #giveBack(physical: WorkerConnection, lease: PooledConnection | undefined): Promise<void> {
    if (lease) this.#leases.delete(lease);
    if (!this.#busy.has(physical)) return;
    if (
      !this.#closing &&
      physical.usable &&
      physical.autocommit &&
      !physical.cursorOpen &&
      physical.readOnly === (this.mode === "readonly")
    ) {
      // Nothing to roll back and no mode to restore: the rest of the reset (checking what the user left behind)
      // travels with the connection's next request instead of costing a round trip now.
      physical.deferReset();
      this.#busy.delete(physical);
      this.#park(physical);
      this.#checkDrained();
      this.#dispatch();
      return;
    }
    let reusable = physical.usable;
    let clean = false;
    if (reusable) {
      try {
        clean = (await physical.request({ op: "reset" })) === true;
        reusable = physical.usable && physical.autocommit;
      } catch {
        reusable = false;
      }
    }
    if (!this.#busy.delete(physical)) return; // closed by force meanwhile
    if (!reusable) {
      physical.destroy();
    } else if (this.#closing || !clean) {
      // A connection its user changed (a setting, a temp table…) is closed, never handed on; its worker is reused.
      await physical.close();
    } else {
      this.#park(physical);
    }
    this.#checkDrained();
    if (!this.#closing) this.#dispatch();
  }

  /** Puts a connection back on the idle stack and makes sure long-idle ones get closed. */
  #park(physical: WorkerConnection): void {
    this.#idleSince.set(physical, performance.now());
    this.#idle.push(physical);
    if (this.#sweeper === undefined && !this.#closing) {
      const timeout = this.#settings.idleConnectionTimeoutMs ?? DEFAULT_IDLE_CONNECTION_TIMEOUT_MS;
      this.#sweeper = setInterval(() => this.#sweep(timeout), Math.max(100, timeout / 2));
      this.#sweeper.unref();
    }
  }

  /**
   * Closes connections idle longer than `timeout`, keeping the most recently used one: a burst's extra connections
   * (each a worker of several MiB) do not outlive the burst.
   */
  #sweep(timeout: number): void {
    const cutoff = performance.now() - timeout;
    while (this.#idle.length > 1 && (this.#idleSince.get(this.#idle[0]!) ?? 0) < cutoff) {
      void this.#idle.shift()!.close();
    }
    if (this.#idle.length <= 1 && this.#busy.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #checkDrained(): void {
    if (this.#drained && this.#busy.size === 0 && this.#opening === 0) this.#drained();
  }
}
