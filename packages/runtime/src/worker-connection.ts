import { interruptConnection } from "@hranad/sqlite-guard";
import { DriverError } from "@hranad/driver";
import type { EngineOpenOptions } from "@hranad/driver/engine";
import { fromWireError, type HostReply } from "./messages.js";
import type { HostCall, HostWorker, WorkerPool } from "./worker-pool.js";

let nextConnectionId = 1;

/**
 * One open SQLite connection living in a worker (the physical connection; users get leases of it). Keeps the
 * autocommit and read-only state of the last reply, so both are fresh without an extra round trip.
 */
export class WorkerConnection {
  readonly id = nextConnectionId++;
  readonly #worker: HostWorker;
  readonly #workerPool: WorkerPool;
  #autocommit = true;
  #readOnly = false;
  #holdsState = false;
  #failure: DriverError | undefined;
  #closed = false;
  #cursorOpen = false;
  /** The last user released it without a reset round trip: the next request carries the reset. */
  #resetPending = false;
  /** The engine guard's interrupt key of the connection now open in the worker (it changes when it reopens). */
  #interruptKey: string | null = null;
  readonly #unsubscribe: (() => void)[];

  private constructor(worker: HostWorker, workerPool: WorkerPool) {
    this.#worker = worker;
    this.#workerPool = workerPool;
    this.#unsubscribe = [
      worker.onDeath((error) => {
        this.#failure = error;
      }),
      worker.onEvent((event) => {
        this.#interruptKey = event.key;
      }),
    ];
  }

  /** Takes a worker from the pool and opens the engine in it; the worker goes back to the pool on failure. */
  static async open(workerPool: WorkerPool, engine: string, options: EngineOpenOptions): Promise<WorkerConnection> {
    const worker = workerPool.acquire();
    const connection = new WorkerConnection(worker, workerPool);
    let reply: HostReply;
    try {
      reply = await worker.call({ op: "open", engine, options });
    } catch (error) {
      connection.#detach();
      workerPool.release(worker);
      throw error;
    }
    if (!reply.ok) {
      connection.#detach();
      workerPool.release(worker);
      throw fromWireError(reply.error);
    }
    connection.#autocommit = reply.autocommit;
    connection.#readOnly = reply.readOnly;
    connection.#holdsState = reply.holdsState;
    return connection;
  }

  get autocommit(): boolean {
    return this.#autocommit;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** As of the last reply (a deferred reset clears it in the worker before the next request runs). */
  get holdsState(): boolean {
    return this.#holdsState;
  }

  /** False once the worker died or the connection was closed. */
  get usable(): boolean {
    return !this.#closed && this.#failure === undefined && this.#worker.alive;
  }

  /** Whether a cursor's statement is still open in the worker. */
  get cursorOpen(): boolean {
    return this.#cursorOpen;
  }

  /**
   * Interrupts, inside SQLite, the request the worker runs now for this connection (through the engine guard's
   * interrupt key and this thread's control connection). Best effort: nothing happens when no request is in flight
   * (an idle connection, or one whose only activity is a paused cursor), or when the engine has no key.
   */
  interrupt(): void {
    const key = this.#interruptKey;
    if (key === null || !this.usable || this.#worker.inFlight === 0) return;
    try {
      interruptConnection(key);
    } catch {
      // best effort: the statement then runs until its deadline
    }
  }

  /** Defers the reset of a release to the next request (which then carries it), saving a round trip. */
  deferReset(): void {
    this.#resetPending = true;
    // The reset that the next request carries clears whatever state the last user left: the next lease starts clean.
    this.#holdsState = false;
  }

  /** Runs one request in the worker; throws the rebuilt `SqliteError`/`DriverError` after updating the state. */
  async request(call: HostCall): Promise<unknown> {
    if (this.#closed) throw new DriverError("CONNECTION_CLOSED", "The connection is closed");
    if (this.#failure) throw this.#failure;
    const reset = this.#resetPending;
    this.#resetPending = false;
    const reply = await this.#worker.call(reset ? { ...call, reset: true } : call);
    this.#autocommit = reply.autocommit;
    this.#readOnly = reply.readOnly;
    this.#holdsState = reply.holdsState;
    if (reset || call.op === "cursor-close" || call.op === "reset" || call.op === "close") this.#cursorOpen = false;
    if (call.op === "cursor-open" && reply.ok) this.#cursorOpen = true;
    if (call.op === "cursor-next" && (!reply.ok || (reply.value as { done?: boolean } | undefined)?.done === true)) {
      this.#cursorOpen = false;
    }
    if (!reply.ok) throw fromWireError(reply.error);
    return reply.value;
  }

  /** Closes the engine connection and gives the worker back (or stops it when the close fails). */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.usable) await this.request({ op: "close" });
      this.#closed = true;
      this.#detach();
      this.#workerPool.release(this.#worker);
    } catch {
      this.destroy();
    }
  }

  /** Stops the worker without waiting for it (a statement stuck in native code cannot be waited for). */
  destroy(): void {
    this.#closed = true;
    this.#detach();
    this.#worker.terminate();
    this.#workerPool.release(this.#worker);
  }

  /** Stops listening to the worker, which goes on to host other connections. */
  #detach(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#interruptKey = null;
  }
}
