/**
 * Backpressure for one WebSocket: the bytes of its queued requests and unsent replies are bounded. Past the bound
 * the socket is not read, and queued requests wait before producing more replies; a client that reads nothing for
 * `sendTimeoutMs` while replies wait is reported as stalled.
 */
import type { ByteBudget } from "./budget.js";
import type { WsTransport } from "./ws-host.js";

/** While a socket is paused, how often it is looked at to read again. */
const PRESSURE_POLL_MS = 50;
/** What a socket may hold and still be read while the server's pool is exhausted. */
const SMALL_SHARE_BYTES = 1024 * 1024;

export interface FlowLimits {
  readonly maxSocketBufferedBytes: number;
  readonly sendTimeoutMs: number;
}

export class SocketFlow {
  readonly #socket: WsTransport;
  readonly #pool: ByteBudget;
  readonly #limits: FlowLimits;
  readonly #onStall: (unsentBytes: number) => void;
  /** Bytes of requests received and not finished yet (also held in the server's pool). */
  #queuedBytes = 0;
  /** Reading is paused: the socket's unsent replies and queued requests are over the bound. */
  #paused = false;
  #pressurePoll: ReturnType<typeof setInterval> | undefined;
  /** Requests waiting for the unsent replies to drain before they run. */
  #drainWaiters: (() => void)[] = [];
  /** Reports a socket whose replies do not drain (its client stopped reading). */
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;

  constructor(socket: WsTransport, pool: ByteBudget, limits: FlowLimits, onStall: (unsentBytes: number) => void) {
    this.#socket = socket;
    this.#pool = pool;
    this.#limits = limits;
    this.#onStall = onStall;
  }


  queued(size: number): void {
    this.#queuedBytes += size;
    this.#pool.take(size);
  }

  dequeued(size: number): void {
    this.#queuedBytes -= size;
    this.#pool.give(size);
    this.checkPressure();
  }

  /** Bytes of replies handed to the socket and not yet written to the network. */
  #unsent(): number {
    return this.#socket.bufferedAmount;
  }

  /**
   * Over its own bound, or — while the server's pool is exhausted — holding more than a small share: a socket with
   * little in flight keeps being read (its statements then meet the pool's bound like everyone's), so a few heavy
   * clients cannot stall every other WebSocket.
   */
  #overBound(): boolean {
    const held = this.#queuedBytes + this.#unsent();
    if (held > this.#limits.maxSocketBufferedBytes) return true;
    return this.#pool.available <= 0 && held > SMALL_SHARE_BYTES;
  }

  /**
   * Stops reading the socket while its queued requests and unsent replies exceed `maxSocketBufferedBytes` (or the
   * server's pool is exhausted), and reads again once they are down to half of it.
   */
  checkPressure(): void {
    if (this.#disposed) return;
    if (this.#drainWaiters.length > 0 && this.#unsent() <= this.#limits.maxSocketBufferedBytes) this.#wake();
    if (!this.#paused) {
      if (this.#overBound()) {
        this.#paused = true;
        this.#socket.pause();
      }
    } else {
      const low = this.#limits.maxSocketBufferedBytes / 2;
      if (this.#queuedBytes + this.#unsent() <= low && !this.#overBound()) {
        this.#paused = false;
        this.#socket.resume();
      }
    }
    this.#poll();
  }

  /** Keeps looking while the socket is paused or requests wait for room (not every drain sends a signal). */
  #poll(): void {
    const needed = this.#paused || this.#drainWaiters.length > 0;
    if (needed && this.#pressurePoll === undefined) {
      this.#pressurePoll = setInterval(() => this.checkPressure(), PRESSURE_POLL_MS);
      unref(this.#pressurePoll);
    } else if (!needed && this.#pressurePoll !== undefined) {
      clearInterval(this.#pressurePoll);
      this.#pressurePoll = undefined;
    }
  }

  #wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once the unsent replies are within the socket's bound (at once when they are). */
  writable(): Promise<void> {
    if (this.#disposed || this.#unsent() <= this.#limits.maxSocketBufferedBytes) return Promise.resolve();
    this.#armStall();
    const wait = new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    this.#poll();
    return wait;
  }

  /** Called whenever a reply has been written out: wakes requests waiting for room, re-arms the stall timer. */
  flushed(): void {
    if (this.#stallTimer !== undefined) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
    }
    if (this.#disposed) return;
    if (this.#unsent() <= this.#limits.maxSocketBufferedBytes) {
      this.#wake();
    } else {
      this.#armStall();
    }
    this.checkPressure();
  }

  /** A client that reads nothing for `sendTimeoutMs` while replies wait for it is cut off. */
  #armStall(): void {
    if (this.#stallTimer !== undefined || this.#disposed) return;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      // Within the bound again (the client read some): not stalled.
      if (this.#disposed || this.#unsent() <= this.#limits.maxSocketBufferedBytes) return;
      this.#onStall(this.#unsent());
    }, this.#limits.sendTimeoutMs);
    unref(this.#stallTimer);
  }

  /** Stops every timer and wakes every waiter (the socket is gone). */
  dispose(): void {
    this.#disposed = true;
    if (this.#pressurePoll !== undefined) clearInterval(this.#pressurePoll);
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
