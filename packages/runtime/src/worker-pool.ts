import { Worker } from "node:worker_threads";
import { builtModuleUrl } from "./built-module.js";
import { DriverError } from "@hranad/driver";
import type { HostEvent, HostReply, HostRequest, WorkerMessage } from "./messages.js";

/** A request without its id (the worker assigns nothing; `HostWorker.call` numbers requests). */
export type HostCall = HostRequest extends infer R ? (R extends HostRequest ? Omit<R, "id"> : never) : never;

interface Pending {
  resolve(reply: HostReply): void;
  reject(error: Error): void;
}

let nextWorkerId = 1;

/**
 * One worker thread and its request/reply channel. The thread is unref'd while no request is in flight, so an
 * idle worker never keeps the process alive; a worker that dies fails every in-flight request with
 * `WORKER_FAILED`.
 */
export class HostWorker {
  readonly id = nextWorkerId++;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #deathListeners = new Set<(error: DriverError) => void>();
  readonly #eventListeners = new Set<(event: HostEvent) => void>();
  #nextRequestId = 1;
  #failure: DriverError | undefined;
  #terminating = false;

  constructor(scriptUrl: string) {
    // No inherited flags: the worker runs plain built JavaScript, and flags such as --input-type break it.
    this.#worker = new Worker(new URL(scriptUrl), { execArgv: [] });
    this.#worker.unref();
    this.#worker.on("message", (message: WorkerMessage) => {
      if ("event" in message) for (const listener of this.#eventListeners) listener(message);
      else this.#onReply(message);
    });
    this.#worker.on("error", (error: Error) => this.#die(`The connection's worker failed: ${error.message}`));
    this.#worker.on("exit", (code: number) => this.#die(`The connection's worker exited (code ${code})`));
  }

  get alive(): boolean {
    return this.#failure === undefined;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Posts a request; resolves with its reply (success or error), rejects only when the worker dies. */
  call(request: HostCall): Promise<HostReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextRequestId++;
    return new Promise<HostReply>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ ...request, id });
      } catch (error) {
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#worker.unref();
        reject(new DriverError("ARGS_INVALID", `Cannot send the request to the worker: ${(error as Error).message}`));
      }
    });
  }

  /** Registers a callback for the worker's death (not called after `terminate`). */
  onDeath(listener: (error: DriverError) => void): () => void {
    this.#deathListeners.add(listener);
    return () => this.#deathListeners.delete(listener);
  }

  /** Registers a callback for the worker's unasked messages (the interrupt key of the connection it opened). */
  onEvent(listener: (event: HostEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Stops the thread. Does not wait: a thread stuck in native code may never acknowledge. */
  terminate(): void {
    if (this.#terminating) return;
    this.#terminating = true;
    this.#die("The connection's worker was stopped");
    void this.#worker.terminate().catch(() => undefined);
  }

  #onReply(reply: HostReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    pending.resolve(reply);
  }

  #die(message: string): void {
    if (this.#failure) return;
    this.#failure = new DriverError("WORKER_FAILED", message);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker.unref();
    for (const p of pending) p.reject(this.#failure);
    if (!this.#terminating) for (const listener of this.#deathListeners) listener(this.#failure);
    this.#deathListeners.clear();
  }
}

export interface WorkerPoolOptions {
  /** Idle workers kept warm for the next connection. Default 8. */
  readonly maxIdle?: number;
  /** The worker script (defaults to this package's built `worker.js`). */
  readonly scriptUrl?: string | URL;
}

export interface WorkerPoolStats {
  readonly idle: number;
  readonly busy: number;
  /** Workers started since the pool was created. */
  readonly spawned: number;
  /** Workers that died while hosting or waiting. */
  readonly failed: number;
}

/**
 * Worker threads shared by every connection of the process. A connection takes a worker, opens its engine in it
 * and hands the worker back on close; starting a worker costs 75–90 ms, so up to `maxIdle` of them stay warm.
 */
export class WorkerPool {
  static #shared: WorkerPool | undefined;

  /** The process-wide pool used by `createThreadedDriver` unless told otherwise. */
  static shared(): WorkerPool {
    WorkerPool.#shared ??= new WorkerPool();
    return WorkerPool.#shared;
  }

  readonly #scriptUrl: string;
  #maxIdle: number;
  readonly #idle: HostWorker[] = [];
  readonly #busy = new Set<HostWorker>();
  #spawned = 0;
  #failed = 0;

  constructor(options: WorkerPoolOptions = {}) {
    this.#maxIdle = Math.max(0, options.maxIdle ?? 8);
    this.#scriptUrl = builtModuleUrl(options.scriptUrl ?? new URL("./worker.js", import.meta.url));
  }

  get maxIdle(): number {
    return this.#maxIdle;
  }

  /** Changes how many idle workers stay warm; extra idle workers are stopped at once. */
  setMaxIdle(maxIdle: number): void {
    this.#maxIdle = Math.max(0, maxIdle);
    while (this.#idle.length > this.#maxIdle) this.#idle.pop()?.terminate();
  }

  /** Takes a warm worker, or starts one. */
  acquire(): HostWorker {
    let worker = this.#idle.pop();
    while (worker && !worker.alive) worker = this.#idle.pop();
    worker ??= this.#spawn();
    this.#busy.add(worker);
    return worker;
  }

  /** Gives a worker back (its connection closed): kept warm, or stopped when enough are idle or it is broken. */
  release(worker: HostWorker): void {
    this.#busy.delete(worker);
    if (worker.alive && worker.inFlight === 0 && this.#idle.length < this.#maxIdle) this.#idle.push(worker);
    else worker.terminate();
  }

  /** Starts workers until `count` are idle (capped by `maxIdle`), and waits until each has started. */
  async prewarm(count: number): Promise<void> {
    const target = Math.min(count, this.#maxIdle);
    const started: HostWorker[] = [];
    while (this.#idle.length + started.length < target) started.push(this.#spawn());
    await Promise.all(started.map((w) => w.call({ op: "autocommit" }).catch(() => undefined)));
    for (const worker of started) if (worker.alive) this.#idle.push(worker);
  }

  stats(): WorkerPoolStats {
    return { idle: this.#idle.length, busy: this.#busy.size, spawned: this.#spawned, failed: this.#failed };
  }

  /** Stops every idle worker (busy ones stop when their connection closes). */
  close(): void {
    for (const worker of this.#idle.splice(0)) worker.terminate();
  }

  #spawn(): HostWorker {
    const worker = new HostWorker(this.#scriptUrl);
    this.#spawned += 1;
    worker.onDeath(() => {
      this.#failed += 1;
      this.#busy.delete(worker);
      const index = this.#idle.indexOf(worker);
      if (index >= 0) this.#idle.splice(index, 1);
    });
    return worker;
  }
}
