import { BatonError, BatonSigner, newSessionId, sessionIdToText } from "@hranad/baton";
import type { Connection, Pool } from "@hranad/driver";
import { systemClock, type Clock } from "./clock.js";
import { BadBatonError, PrincipalMismatchError, TooManyClientSessionsError, TooManySessionsError } from "./errors.js";
import { Reaper } from "./reaper.js";
import { Session, stateOf } from "./session.js";
import { SessionState, type ReleaseFunction } from "./session-state.js";
import { formatSeconds, tombstoneError, Tombstones, type EndReason, type Tombstone } from "./tombstones.js";

/** Defaults, used when an option is absent, zero, negative or not finite. */
export const STORE_DEFAULTS = Object.freeze({
  /** sqld's stream expiry. */
  idleTimeoutMs: 10_000,
  maxLifetimeMs: 60 * 60_000,
  maxSessionsPerDatabase: 64,
  rollbackTimeoutMs: 5_000,
  /** sqld keeps an expired stream's handle this long to say STREAM_EXPIRED. */
  tombstoneTtlMs: 300_000,
  maxTombstones: 10_000,
  reaperIntervalMs: 1_000,
});

export interface StoreOptions {
  /** A session idle (no request in flight) this long is closed. Default 10 s. */
  readonly idleTimeoutMs?: number;
  /** A session older than this is closed when next idle. Default 1 h. */
  readonly maxLifetimeMs?: number;
  /** Concurrent sessions per database. Default 64. */
  readonly maxSessionsPerDatabase?: number;
  /**
   * Concurrent sessions one client (see `OpenSessionOptions.client`) may have on one database, so that one client
   * cannot take all of a database's slots. Default: a quarter of `maxSessionsPerDatabase`, at least 1; never more
   * than `maxSessionsPerDatabase`.
   */
  readonly maxSessionsPerClient?: number;
  /**
   * An idle session whose transaction has been open longer than this is rolled back by the store and poisoned
   * with `TRANSACTION_TIMEOUT`. Default 0: off.
   */
  readonly transactionTimeoutMs?: number;
  /** Bound on each teardown step (capture close, rollback, mode restore, release). Default 5 s. */
  readonly rollbackTimeoutMs?: number;
  /** How long an ended session is remembered to give a late baton a precise reason. Default 300 s. */
  readonly tombstoneTtlMs?: number;
  /** At most this many ended sessions are remembered. Default 10 000. */
  readonly maxTombstones?: number;
  /** The baton HMAC key (≥ 32 bytes). Default: random, so batons die with the process. */
  readonly signingKey?: Uint8Array;
  /** A ready signer (overrides `signingKey`), e.g. to share one between stores or to fix its epoch. */
  readonly signer?: BatonSigner;
  /** Time source; default `systemClock`. Tests pass a `ManualClock`. */
  readonly clock?: Clock;
  /** Receives errors of background teardown steps (they never reject a caller). */
  readonly onError?: (error: unknown, context: TeardownErrorContext) => void;
}

export interface TeardownErrorContext {
  readonly sessionId: string;
  readonly database: string;
  readonly step: "capture" | "rollback" | "restore-mode" | "release-connection" | "release-database" | "transaction-timeout";
}

/** What `open` needs of a database: its name and its pool (the registry's `Database` fits). */
export interface SessionDatabase {
  readonly name: string;
  readonly pool: Pool;
}

/** The registry handle a session owns: a function, or an object with `release()` (a `DatabaseHandle`). */
export type DatabaseRelease = ReleaseFunction | { release(): void | Promise<void> };

export interface OpenSessionOptions {
  /**
   * Default true. False for sessions that live as long as their transport (a WebSocket stream): no idle or
   * lifetime expiry; transaction timeout, kill and closeAll still apply.
   */
  readonly expires?: boolean;
  /**
   * Who opens the session, for the per-client cap (`maxSessionsPerClient`): the remote address when there are no
   * principals, otherwise the principal's name. Absent: the session counts against the per-database cap only.
   */
  readonly client?: string;
}

export type KillResult = "not-found" | "killed";

/** Why the server ends a session under its client (see `terminate`). */
export type TerminateReason = "killed" | "stalled" | "expired" | "closed";

/** A snapshot of one live session (the admin listing). */
export interface SessionInfo {
  readonly id: string;
  readonly database: string;
  readonly principal: string | null;
  /** The client key it was opened with (`OpenSessionOptions.client`), or null. */
  readonly client: string | null;
  readonly readOnly: boolean;
  readonly busy: boolean;
  /** Milliseconds since the session was opened. */
  readonly ageMs: number;
  /** Milliseconds since its last request finished; 0 while busy. */
  readonly idleForMs: number;
  readonly inTransaction: boolean;
  /** Whether it holds a pool connection now (an idle stream in autocommit without state holds none). */
  readonly holdsConnection: boolean;
  /** `TRANSACTION_ABORTED` / `TRANSACTION_TIMEOUT` when poisoned. */
  readonly poisoned: string | null;
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * Owns every live session: opens them on a pinned pool connection, mints and checks their batons, reaps idle and
 * over-age ones, caps them per database, lists and kills them, and tears them down (rollback, mode restore,
 * connection back to the pool, registry handle dropped — in that order).
 *
 * A session is idle, busy (one request in flight) or gone; a gone session leaves a tombstone so that a late baton
 * learns why. All state changes that decide who may use a session are synchronous, so they are atomic.
 */
export class SessionStore {
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly maxSessionsPerDatabase: number;
  readonly maxSessionsPerClient: number;
  readonly transactionTimeoutMs: number;
  readonly rollbackTimeoutMs: number;

  readonly #signer: BatonSigner;
  readonly #clock: Clock;
  readonly #onError: StoreOptions["onError"];
  readonly #sessions = new Map<string, SessionState>();
  readonly #facades = new Map<string, Session>();
  /** Slots per database: sessions being opened, live, or being torn down. */
  readonly #slots = new Map<string, number>();
  /** Slots per (database, client), counted exactly as `#slots`: keyed `database/client` (names have no "/"). */
  readonly #clientSlots = new Map<string, number>();
  readonly #tombstones: Tombstones;
  /** Teardowns and store-run rollbacks in progress. */
  readonly #pending = new Set<Promise<void>>();
  #reaper: Reaper | undefined;

  constructor(options: StoreOptions = {}) {
    this.idleTimeoutMs = positiveOr(options.idleTimeoutMs, STORE_DEFAULTS.idleTimeoutMs);
    this.maxLifetimeMs = positiveOr(options.maxLifetimeMs, STORE_DEFAULTS.maxLifetimeMs);
    this.maxSessionsPerDatabase = Math.floor(positiveOr(options.maxSessionsPerDatabase, STORE_DEFAULTS.maxSessionsPerDatabase));
    const perClient = Math.max(1, Math.floor(this.maxSessionsPerDatabase / 4));
    this.maxSessionsPerClient = Math.min(this.maxSessionsPerDatabase, Math.floor(positiveOr(options.maxSessionsPerClient, perClient)));
    this.transactionTimeoutMs = positiveOr(options.transactionTimeoutMs, 0);
    this.rollbackTimeoutMs = positiveOr(options.rollbackTimeoutMs, STORE_DEFAULTS.rollbackTimeoutMs);
    this.#tombstones = new Tombstones(
      positiveOr(options.tombstoneTtlMs, STORE_DEFAULTS.tombstoneTtlMs),
      Math.floor(positiveOr(options.maxTombstones, STORE_DEFAULTS.maxTombstones)),
    );
    this.#signer = options.signer ?? new BatonSigner(options.signingKey ? { key: options.signingKey } : {});
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError;
  }

  /**
   * Opens a session on `db`: reserves a slot under the per-client cap (`options.client`) and the per-database cap
   * first (so the caps, not the pool, are the first limits to bite), then pins a pool connection, switches the
   * engine's read-only guard on when asked, and takes ownership of `release`. The new session is busy: hand out its
   * first baton with `baton()`. On any failure the slots and `release` are released before the error propagates;
   * otherwise they are released when the session's teardown ends (close, expiry, kill, terminate, closeAll).
   */
  async open(
    db: SessionDatabase,
    release: DatabaseRelease,
    principal: string | null,
    readOnly: boolean,
    signal?: AbortSignal,
    options: OpenSessionOptions = {},
  ): Promise<Session> {
    const releaseHandle: ReleaseFunction = typeof release === "function" ? release : () => release.release();
    const client = options.client ?? null;
    const clientKey = client === null ? undefined : `${db.name}/${client}`;
    const clientUsed = clientKey === undefined ? 0 : (this.#clientSlots.get(clientKey) ?? 0);
    const used = this.#slots.get(db.name) ?? 0;
    if (clientUsed >= this.maxSessionsPerClient || used >= this.maxSessionsPerDatabase) {
      await this.#safely(releaseHandle, undefined, db.name, "release-database");
      if (used >= this.maxSessionsPerDatabase && clientUsed < this.maxSessionsPerClient) {
        throw new TooManySessionsError(db.name, this.maxSessionsPerDatabase);
      }
      throw new TooManyClientSessionsError(db.name, this.maxSessionsPerClient);
    }
    this.#slots.set(db.name, used + 1);
    if (clientKey !== undefined) this.#clientSlots.set(clientKey, clientUsed + 1);

    let connection;
    try {
      connection = await db.pool.acquire(signal);
    } catch (error) {
      this.#freeSlot(db.name, client);
      await this.#safely(releaseHandle, undefined, db.name, "release-database");
      throw error;
    }
    try {
      if (readOnly) await connection.setReadOnly(true);
    } catch (error) {
      await this.#safely(() => connection.release(), undefined, db.name, "release-connection");
      this.#freeSlot(db.name, client);
      await this.#safely(releaseHandle, undefined, db.name, "release-database");
      throw error;
    }

    const idBytes = newSessionId();
    const id = sessionIdToText(idBytes);
    const state = new SessionState(
      idBytes,
      id,
      db.name,
      principal,
      client,
      readOnly,
      this.#clock.now(),
      connection,
      db.pool,
      options.expires ?? true,
      releaseHandle,
      this.#clock,
    );
    const session = new Session(state);
    this.#sessions.set(id, state);
    this.#facades.set(id, session);
    return session;
  }

  /**
   * Verifies `baton` and consumes it: bumps the session's generation, so a replay or a concurrent second request
   * is refused, and marks the session busy. The database and principal bindings are checked first, and a
   * mismatch leaves the baton unconsumed (a request elsewhere cannot burn the owner's live baton).
   * Throws `BadBatonError` (with the precise reason when known) or `PrincipalMismatchError`.
   */
  resume(baton: string, database: string, principal: string | null): Session {
    let claims;
    try {
      claims = this.#signer.verify(baton);
    } catch (error) {
      if (error instanceof BatonError) throw new BadBatonError("BATON_INVALID", "Received an invalid baton");
      throw error;
    }
    if (!claims.currentEpoch) {
      throw new BadBatonError("SERVER_RESTARTED", "The stream was lost when the server restarted");
    }
    const state = this.#sessions.get(claims.sessionIdText);
    if (state === undefined) {
      const tombstone = this.#tombstones.get(claims.sessionIdText, this.#clock.now());
      if (tombstone === undefined) throw new BadBatonError("STREAM_NOT_FOUND", "No stream is known for this baton");
      if (tombstone.database !== database) throw wrongDatabase();
      if (tombstone.principal !== principal) throw new PrincipalMismatchError();
      throw tombstoneError(tombstone);
    }
    if (state.database !== database) throw wrongDatabase();
    if (state.principal !== principal) throw new PrincipalMismatchError();
    if (claims.generation < state.generation) {
      throw new BadBatonError("BATON_REUSED", "Received a baton that has already been used");
    }
    if (claims.generation > state.generation) {
      // Authentic but from the future: only possible if the key leaked. Reveal nothing.
      throw new BadBatonError("BATON_INVALID", "Received an invalid baton");
    }
    if (state.busy) {
      throw new BadBatonError("STREAM_BUSY", "The previous request on this stream has not finished yet");
    }
    state.generation += 1n;
    state.busy = true;
    return this.#facade(state);
  }

  /**
   * Ends the current request: clears busy, refreshes the idle clock and returns the baton of the next request.
   * A session that `closeAll` skipped because it was busy is torn down now (its baton will not resume).
   */
  baton(session: Session): string {
    const state = stateOf(session);
    const ended = this.#endError(state);
    if (ended !== undefined) throw ended;
    this.#markIdle(state);
    const baton = this.#signer.mint(state.idBytes, state.generation);
    if (state.closeWhenIdle) void this.#end(state, "shutdown");
    return baton;
  }

  /**
   * The current baton WITHOUT clearing busy (the cursor endpoint's first line). `resume` refuses the session
   * until `baton()` is called at the end of the request, which then keeps this same baton current.
   */
  peekBaton(session: Session): string {
    const state = stateOf(session);
    const ended = this.#endError(state);
    if (ended !== undefined) throw ended;
    return this.#signer.mint(state.idBytes, state.generation);
  }

  /**
   * Why the session ended, as the error its baton now gets (`STREAM_KILLED`, `STREAM_STALLED`, …), or undefined
   * while it lives: for a request that was running when its session was ended under it.
   */
  endError(session: Session): BadBatonError | undefined {
    return this.#endError(stateOf(session));
  }

  #endError(state: SessionState): BadBatonError | undefined {
    if (state.endReason === undefined) return undefined;
    return tombstoneError(state.tombstone ?? this.#tombstoneOf(state));
  }

  /** Marks a session busy without a baton (a WebSocket stream's request starts). Throws if already busy or ended. */
  markBusy(session: Session): void {
    const state = stateOf(session);
    const ended = this.#endError(state);
    if (ended !== undefined) throw ended;
    if (state.busy) throw new BadBatonError("STREAM_BUSY", "The previous request on this stream has not finished yet");
    state.busy = true;
  }

  /** Clears busy without minting a baton (a WebSocket stream's request finished). */
  markIdle(session: Session): void {
    const state = stateOf(session);
    if (state.endReason !== undefined) return;
    this.#markIdle(state);
    if (state.closeWhenIdle) void this.#end(state, "shutdown");
  }

  /**
   * Closes a session: rolls back any open transaction (bounded in time), restores the connection's mode, returns
   * it to the pool, then drops the registry handle. Idempotent; resolves when all of that is done.
   */
  close(session: Session): Promise<void> {
    const state = stateOf(session);
    if (state.endReason !== undefined) return state.teardown ?? Promise.resolve();
    return this.#end(state, "closed");
  }

  /**
   * Tears down every idle session and waits until their connections are rolled back and returned (and any
   * teardown already running). A busy session is skipped — rolling back under its request would race it — and is
   * torn down as soon as that request finishes (`baton`/`markIdle`/`close`).
   */
  async closeAll(): Promise<void> {
    for (const state of [...this.#sessions.values()]) {
      if (state.busy) state.closeWhenIdle = true;
      else void this.#end(state, "shutdown");
    }
    await this.settled();
  }

  /**
   * The admin kill of the session with this id: ends it at once, busy or not (see `terminate`), and makes its
   * baton unresumable (`STREAM_KILLED`). Resolves when its connection is rolled back and returned.
   */
  async kill(id: string): Promise<KillResult> {
    const state = this.#sessions.get(id);
    if (state === undefined) return "not-found";
    await this.#terminate(state, "killed");
    return "killed";
  }

  /**
   * Ends a session now, even while a request is in flight on it: the statement its connection is running is
   * interrupted inside SQLite, `session.signal` aborts with `reason` (so whoever holds the request stops: a cursor
   * body ends, a WebSocket stream fails), every later call on the session's connection is refused, and the
   * teardown (rollback, release) runs as soon as the interrupted call returns. A late baton learns why
   * (`STREAM_KILLED`, `STREAM_STALLED`, `STREAM_EXPIRED`, `STREAM_CLOSED` — e.g. its client went away mid-request).
   * Idempotent; resolves when the teardown is done.
   */
  terminate(session: Session, reason: TerminateReason): Promise<void> {
    const state = stateOf(session);
    if (state.endReason !== undefined) return state.teardown ?? Promise.resolve();
    return this.#terminate(state, reason);
  }

  #terminate(state: SessionState, reason: TerminateReason): Promise<void> {
    const busy = state.busy;
    const ending = this.#end(state, reason);
    // After #end: the session already refuses new calls, so the interrupt can only hit the call in flight.
    if (busy && state.inner !== undefined) interruptConnection(state.inner);
    return ending;
  }

  /** The live session with this id, if any. */
  get(id: string): Session | undefined {
    const state = this.#sessions.get(id);
    return state === undefined ? undefined : this.#facade(state);
  }

  /** Snapshots of live sessions whose database passes `filter` (the caller's authorization view). */
  list(filter?: (database: string) => boolean): SessionInfo[] {
    const now = this.#clock.now();
    const out: SessionInfo[] = [];
    for (const state of this.#sessions.values()) {
      if (filter !== undefined && !filter(state.database)) continue;
      out.push({
        id: state.id,
        database: state.database,
        principal: state.principal,
        client: state.client,
        readOnly: state.readOnly,
        busy: state.busy,
        ageMs: now - state.createdAt,
        idleForMs: state.busy ? 0 : now - state.lastActiveAt,
        inTransaction: state.poison !== undefined || !state.autocommit,
        holdsConnection: state.inner !== undefined,
        poisoned: state.poison?.code ?? null,
      });
    }
    return out;
  }

  /**
   * Slots in use (on one database, or in total; of one client on that database): live sessions plus those being
   * opened or torn down. This is what the caps count; once `settled()`, it equals the number of live sessions.
   */
  count(database?: string, client?: string): number {
    if (database !== undefined && client !== undefined) return this.#clientSlots.get(`${database}/${client}`) ?? 0;
    if (database !== undefined) return this.#slots.get(database) ?? 0;
    let total = 0;
    for (const used of this.#slots.values()) total += used;
    return total;
  }

  /** Resolves when every teardown and store-run rollback started so far has finished. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /**
   * Expires idle and over-age sessions (and, with `transactionTimeoutMs`, rolls back transactions held too long)
   * that are not busy, until `signal` aborts; then closes all. Deadlines sit in a min-heap and one timer is armed
   * for the earliest, rounded up to `intervalMs` (default 1 s) so that close deadlines share a wake-up: a session
   * expires within `intervalMs` of its deadline, and the cost does not grow with the number of live sessions.
   * Resolves once stopped and closed.
   */
  startReaper(intervalMs: number, signal: AbortSignal): Promise<void> {
    if (this.#reaper !== undefined) throw new Error("the reaper is already running");
    const reaper = new Reaper(positiveOr(intervalMs, STORE_DEFAULTS.reaperIntervalMs), this.#clock, this, {
      end: (state, reason) => void this.#end(state, reason),
      timeOutTransaction: (state) => this.#timeOutTransaction(state),
    });
    this.#reaper = reaper;
    for (const state of this.#sessions.values()) reaper.schedule(state);
    return new Promise<void>((resolve) => {
      const stop = () => {
        reaper.stop(this.#sessions.values());
        this.#reaper = undefined;
        this.closeAll().then(resolve, resolve);
      };
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
  }

  // --- internals ---

  #facade(state: SessionState): Session {
    return this.#facades.get(state.id)!;
  }

  #markIdle(state: SessionState): void {
    state.busy = false;
    state.lastActiveAt = this.#clock.now();
    this.#reaper?.schedule(state);
    this.#unpin(state);
  }

  /**
   * Gives an idle session's connection back to its pool when nothing ties the session to it: autocommit, no
   * cursor, no read-only transaction, no changeset capture, no call in flight, and no per-connection state (TEMP
   * objects, changed settings, attachments — the driver reports them). Its next call takes a connection again.
   * So an abandoned stream holds a session slot until it expires, but no connection.
   */
  #unpin(state: SessionState): void {
    const inner = state.inner;
    if (
      inner === undefined ||
      state.busy ||
      state.endReason !== undefined ||
      state.closeWhenIdle ||
      !inner.autocommit ||
      state.poison !== undefined ||
      state.readOnlyTransaction ||
      state.capture !== undefined ||
      state.cursors.size > 0 ||
      state.inflight.size > 0 ||
      state.acquiring !== undefined ||
      inner.holdsState
    ) {
      return;
    }
    state.inner = undefined;
    this.#track(this.#safely(() => inner.release(), state, state.database, "release-connection"));
  }

  #freeSlot(database: string, client: string | null): void {
    decrement(this.#slots, database);
    if (client !== null) decrement(this.#clientSlots, `${database}/${client}`);
  }

  #tombstoneOf(state: SessionState): Tombstone {
    const now = this.#clock.now();
    return {
      reason: state.endReason ?? "closed",
      database: state.database,
      principal: state.principal,
      endedAt: now,
      idleForMs: state.busy ? 0 : now - state.lastActiveAt,
      ageMs: now - state.createdAt,
    };
  }

  /** Ends a session synchronously (nobody can resume it from here on), then tears it down in the background. */
  #end(state: SessionState, reason: EndReason): Promise<void> {
    if (state.teardown !== undefined) return state.teardown;
    state.endReason = reason;
    const tombstone = this.#tombstoneOf(state);
    state.tombstone = tombstone;
    state.busy = false;
    this.#sessions.delete(state.id);
    this.#facades.delete(state.id);
    this.#tombstones.add(state.id, tombstone);
    state.ended.abort(reason);
    const teardown = this.#teardown(state);
    state.teardown = teardown;
    this.#track(teardown);
    return teardown;
  }

  async #teardown(state: SessionState): Promise<void> {
    const capture = state.capture;
    state.capture = undefined;
    if (capture !== undefined) await this.#safely(() => capture.close(), state, state.database, "capture");
    if (state.maintenance !== undefined) await this.#bounded(state.maintenance).catch(() => undefined);
    // A session ended under its request (terminate) still has that call running on the connection: rolling back or
    // returning the connection before it finishes would leave whatever it does next (a BEGIN that got its lock, an
    // open statement) on a pooled connection. The interrupt makes the wait short; the driver's deadlines bound it.
    await state.quiesce();
    const inner = state.inner;
    state.inner = undefined;
    // A session that held no connection (an idle stream gave its own back) has nothing to roll back or return.
    if (inner !== undefined) {
      await this.#safely(() => closeCursors(state), state, state.database, "rollback");
      await this.#safely(() => rollbackIfOpen(inner), state, state.database, "rollback");
      if (inner.readOnly) await this.#safely(() => inner.setReadOnly(false), state, state.database, "restore-mode");
      await this.#safely(() => inner.release(), state, state.database, "release-connection");
    }
    await this.#safely(state.releaseHandle, state, state.database, "release-database");
    this.#freeSlot(state.database, state.client);
  }

  /** Runs one teardown step, bounded by `rollbackTimeoutMs`; reports and swallows its failure. */
  async #safely(
    step: () => unknown,
    state: SessionState | undefined,
    database: string,
    name: TeardownErrorContext["step"],
  ): Promise<void> {
    try {
      await this.#bounded(Promise.resolve().then(step));
    } catch (error) {
      this.#onError?.(error, { sessionId: state?.id ?? "", database, step: name });
    }
  }

  /** Bounds a step in real time (not the injected clock): it guards against I/O that hangs. */
  #bounded<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = systemClock.setTimeout(
        () => reject(new Error(`teardown step timed out after ${this.rollbackTimeoutMs} ms`)),
        this.rollbackTimeoutMs,
      );
      promise.then(
        (value) => {
          systemClock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          systemClock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  // --- expiry (the reaper decides; the store acts) ---

  /** Poisons first (so no request can slip in), then rolls back on the idle connection. */
  #timeOutTransaction(state: SessionState): void {
    const seconds = formatSeconds(this.transactionTimeoutMs);
    state.poison = {
      code: "TRANSACTION_TIMEOUT",
      message: `The transaction was open longer than ${seconds} s and was rolled back; every later request on the stream fails`,
    };
    state.transactionOpenedAt = undefined;
    const inner = state.inner;
    const rollback = this.#safely(
      () => (inner === undefined ? undefined : rollbackIfOpen(inner)),
      state,
      state.database,
      "transaction-timeout",
    ).finally(() => {
      if (state.maintenance === rollback) state.maintenance = undefined;
    });
    state.maintenance = rollback;
    this.#track(rollback);
  }
}

/** One slot fewer under `key`; a count that reaches 0 is removed. */
function decrement(slots: Map<string, number>, key: string): void {
  const used = (slots.get(key) ?? 1) - 1;
  if (used > 0) slots.set(key, used);
  else slots.delete(key);
}

/** Rolls back the connection's transaction, if one is open. */
async function rollbackIfOpen(connection: Connection): Promise<void> {
  // The driver reads the autocommit state back after every call (failed ones too): no round trip needed.
  if (!connection.autocommit) await connection.execute({ sql: "ROLLBACK" });
}

/** Interrupts the statement a connection is running (best effort). */
function interruptConnection(connection: Connection): void {
  try {
    connection.interrupt();
  } catch {
    // best effort: the statement deadline still bounds the call
  }
}

/** Cursors left open would keep statements pending across the rollback: close them first. */
async function closeCursors(state: SessionState): Promise<void> {
  const cursors = [...state.cursors];
  state.cursors.clear();
  await Promise.allSettled(cursors.map((cursor) => cursor.close()));
}

function wrongDatabase(): BadBatonError {
  return new BadBatonError("BATON_DATABASE_MISMATCH", "The baton belongs to a stream of another database");
}

