/**
 * Short work on the main thread: one engine connection per database, opened in this thread, that runs one-shot
 * requests without a round trip to a worker. It never waits and never runs long: its busy timeout is 0 and its
 * statement deadline is a few milliseconds (the guard's), and the process caps the main thread's share of
 * statement time. Work that meets a lock or outlives its budget is handed back to the caller to be re-run on a
 * worker connection — but only when that is provably safe (see `InlineLease`).
 */
import { DriverError, InlineRedirect, leadingWords, SqliteError, statementKind } from "@hranad/driver";
import { LruCache, type EngineConnection, type EngineModule, type EngineOpenOptions } from "@hranad/driver/engine";
import type { DescribeResult, InlineLease, InlineStats, RowCursor, Statement, StatementResult } from "@hranad/driver";

/**
 * The main thread's share of statement time, process-wide: at most `share` of each `windowMs` is spent running
 * statements inline; past it, inline leases are refused (and running units redirected) until the next window.
 */
export class InlineShare {
  static readonly shared = new InlineShare(0.25, 1000);
  #windowStart = 0;
  #used = 0;
  #statements = 0;
  #redirects = 0;

  constructor(
    readonly share: number,
    readonly windowMs: number,
  ) {}

  #roll(now: number): void {
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
  }

  /** Whether inline work may start now. */
  available(now = performance.now()): boolean {
    this.#roll(now);
    return this.#used < this.share * this.windowMs;
  }

  charge(ms: number, now = performance.now()): void {
    this.#roll(now);
    this.#used += ms;
    this.#statements += 1;
  }

  redirected(): void {
    this.#redirects += 1;
  }

  stats(): InlineStats {
    return { statements: this.#statements, redirects: this.#redirects, usedMsThisWindow: this.#used };
  }
}

export interface InlineSettings {
  /** Deadline of one inline statement, in ms (the guard interrupts it). */
  readonly statementBudgetMs: number;
  /** Statement time one unit of work may spend inline before the rest of it is redirected. */
  readonly unitBudgetMs: number;
  readonly share: InlineShare;
  /** Called when a lease that committed writes is given back (the pool checkpoints on a worker now and then). */
  readonly onCommitted?: () => void;
}

/** Requests that may wait in line for the main-thread connection; more go to workers at once. */
const MAX_WAITING = 64;
/** How long a unit found slow goes straight to a worker. */
const SLOW_MEMORY_MS = 10_000;
/** The first time a unit is found slow it goes to a worker this long; each time again in a row, twice as long. */
const FIRST_SLOW_MS = 50;

/** What the connection remembers of a unit found slow: until when it goes to a worker, and how often in a row. */
interface SlowMark {
  readonly until: number;
  readonly strikes: number;
}

/**
 * The main-thread connection of one database. At most one lease at a time: the connection is synchronous, but its
 * user awaits between statements, and another request must never run inside that user's transaction.
 */
export class InlineConnection {
  readonly #engine: EngineConnection;
  readonly #settings: InlineSettings;
  readonly #slow = new LruCache<string, SlowMark>(1024);
  #lease: Lease | undefined;
  #closed = false;
  #dirty = false;
  readonly #waiting: ((lease: InlineLease | undefined) => void)[] = [];

  private constructor(engine: EngineConnection, settings: InlineSettings) {
    this.#engine = engine;
    this.#settings = settings;
  }

  /** Opens the engine in this thread with busy timeout 0 and the inline deadline. */
  static async open(engineUrl: string, options: EngineOpenOptions, settings: InlineSettings): Promise<InlineConnection> {
    const engine = (await import(engineUrl)) as EngineModule;
    // No deadline outside users' statements: the deadline is wall time, and the set-up, the reset between users and
    // the roll-back of a redirected unit must not fail because the thread was descheduled for a moment.
    const connection = engine.open({ ...options, busyTimeoutMs: 0, statementTimeoutMs: 0, walAutocheckpointPages: 0 });
    // The first statement of a connection reads the schema: do that now rather than in a user's request.
    connection.execute({ sql: "SELECT count(*) FROM sqlite_schema" });
    connection.reset();
    return new InlineConnection(connection, settings);
  }

  get leased(): boolean {
    return this.#lease !== undefined;
  }

  /**
   * A lease for one request. While another request holds it, waits in line (a holder keeps it only for its own
   * inline statements, within one turn of the event loop): at most `MAX_WAITING` wait, the others get undefined at
   * once, as every waiter does when the connection is closed, must be replaced, or the main thread's share is spent.
   */
  lease(): Promise<InlineLease | undefined> {
    if (this.#closed || this.#dirty || !this.#settings.share.available()) return Promise.resolve(undefined);
    if (this.#lease === undefined) return Promise.resolve(this.#lend());
    if (this.#waiting.length >= MAX_WAITING) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #lend(): Lease {
    const lease = new Lease(this.#engine, this.#settings, this.#slow, (committed) => this.#giveBack(lease, committed));
    this.#lease = lease;
    return lease;
  }

  /** Whether the connection must be replaced (a user left state the reset could not clear). */
  get dirty(): boolean {
    return this.#dirty;
  }

  #giveBack(lease: Lease, committed: boolean): void {
    if (this.#lease !== lease) return;
    this.#lease = undefined;
    try {
      if (!this.#engine.reset()) this.#dirty = true;
    } catch {
      this.#dirty = true;
    }
    if (committed) this.#settings.onCommitted?.();
    const next = this.#waiting.shift();
    if (next === undefined) return;
    if (this.#closed || this.#dirty || !this.#settings.share.available()) {
      next(undefined);
      for (const waiter of this.#waiting.splice(0)) waiter(undefined);
      return;
    }
    next(this.#lend());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    this.#lease?.invalidate();
    this.#lease = undefined;
    try {
      this.#engine.close();
    } catch {
      // closing anyway
    }
  }
}

let nextInlineId = -1;

class Lease implements InlineLease {
  readonly id = nextInlineId--;
  readonly #engine: EngineConnection;
  readonly #settings: InlineSettings;
  readonly #slow: LruCache<string, SlowMark>;
  readonly #onRelease: (committed: boolean) => void;
  #released = false;
  /** Whether anything was committed through this lease. */
  #committed = false;
  /** The current unit: whether it may still be redirected, and what it has spent. */
  #unitKey: string | undefined;
  #unitRedirectable = false;
  #unitSpentMs = 0;

  constructor(
    engine: EngineConnection,
    settings: InlineSettings,
    slow: LruCache<string, SlowMark>,
    onRelease: (committed: boolean) => void,
  ) {
    this.#engine = engine;
    this.#settings = settings;
    this.#slow = slow;
    this.#onRelease = onRelease;
  }

  get autocommit(): boolean {
    return !this.#engine.inTransaction;
  }

  get readOnly(): boolean {
    return this.#engine.readOnly;
  }

  get holdsState(): boolean {
    return this.#engine.holdsState;
  }

  knownSlow(key: string): boolean {
    const mark = this.#slow.get(key);
    return mark !== undefined && mark.until > performance.now();
  }

  /**
   * Sends units of this key to a worker for a while: 50 ms the first time, twice as long each time it is found slow
   * again, up to 10 s. Not at once for long, nor for ever: a deadline measured in wall time also fires when the
   * thread was merely descheduled on a busy machine, and a statement's cost changes with its data. A unit that runs
   * inline within its budget again is forgiven.
   */
  #markSlow(): void {
    if (this.#unitKey === undefined) return;
    const strikes = (this.#slow.get(this.#unitKey)?.strikes ?? 0) + 1;
    const ms = Math.min(SLOW_MEMORY_MS, FIRST_SLOW_MS * 2 ** Math.min(strikes - 1, 20));
    this.#slow.set(this.#unitKey, { until: performance.now() + ms, strikes });
  }

  /** The unit ran inline within its budget: it starts afresh the next time it is slow. */
  endUnit(): void {
    if (this.#unitKey !== undefined && this.#slow.get(this.#unitKey) !== undefined) this.#slow.delete(this.#unitKey);
    this.#unitKey = undefined;
  }

  beginUnit(key: string): void {
    this.#live();
    this.#unitKey = key;
    // A unit may be re-run elsewhere only if it starts outside a transaction on a connection that carries nothing a
    // worker connection would lack: then undoing it leaves exactly the state it started from.
    this.#unitRedirectable = !this.#engine.inTransaction && !this.#engine.holdsState;
    this.#unitSpentMs = 0;
  }

  async execute(statement: Statement): Promise<StatementResult> {
    return this.#run(statement.sql, () => this.#engine.execute(statement));
  }

  async executeScript(sql: string): Promise<void> {
    this.#run(sql, () => this.#engine.executeScript(sql));
    // A script may commit in the middle: nothing of its unit can be re-run any more.
    this.#unitRedirectable = false;
    this.#committed = true;
  }

  async describe(sql: string): Promise<DescribeResult> {
    return this.#run(sql, () => this.#engine.describe(sql));
  }

  async openCursor(_statement: Statement): Promise<RowCursor> {
    throw new DriverError("NOT_SUPPORTED", "Cursors do not run on the inline connection");
  }

  async isAutocommit(): Promise<boolean> {
    this.#live();
    return !this.#engine.inTransaction;
  }

  async setReadOnly(on: boolean): Promise<void> {
    this.#live();
    this.#engine.setReadOnly(on);
  }

  interrupt(): void {
    // Inline statements run synchronously on this thread: nothing can run while one does.
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(this.#committed);
  }

  invalidate(): void {
    this.#released = true;
  }

  #live(): void {
    if (this.#released) throw new DriverError("CONNECTION_CLOSED", "The connection was released");
  }

  #run<T>(sql: string, call: () => T): T {
    this.#live();
    if (this.#unitRedirectable) {
      if (leadingWords(sql, 1)[0] === "EXPLAIN") this.#redirect("explain", "EXPLAIN runs on a worker connection");
      if (this.#unitSpentMs >= this.#settings.unitBudgetMs) {
        // A unit that outgrows its budget goes straight to a worker next time.
        this.#markSlow();
        this.#redirect("slow", "The request outgrew the inline budget");
      }
      if (!this.#settings.share.available()) this.#redirect("share", "The main thread's share of statement time is spent");
    }
    const wasInTransaction = this.#engine.inTransaction;
    const started = performance.now();
    try {
      this.#engine.setDeadline(this.#settings.statementBudgetMs);
      let result: T;
      try {
        result = call();
      } finally {
        this.#disarm();
      }
      if (!this.#engine.inTransaction && (wasInTransaction || statementKind(sql) !== "select")) {
        // A COMMIT (or a ROLLBACK), or a write in autocommit: from here the unit has effects a re-run would repeat.
        this.#unitRedirectable = false;
        this.#committed = true;
      }
      return result;
    } catch (error) {
      const reason = redirectReason(error);
      if (reason !== undefined && this.#unitRedirectable) {
        if (reason === "slow") this.#markSlow();
        this.#redirect(reason, error instanceof Error ? error.message : String(error));
      }
      throw error;
    } finally {
      const spent = performance.now() - started;
      this.#unitSpentMs += spent;
      this.#settings.share.charge(spent);
    }
  }

  /** Switches the deadline off; that call itself runs under the deadline, so a descheduled thread may need another. */
  #disarm(): void {
    for (let attempt = 1; ; attempt++) {
      try {
        this.#engine.setDeadline(0);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** Undoes the unit (it started in autocommit and committed nothing) and tells the caller to re-run it elsewhere. */
  #redirect(reason: InlineRedirect["reason"], message: string): never {
    if (this.#engine.inTransaction) this.#engine.executeScript("ROLLBACK");
    this.#settings.share.redirected();
    throw new InlineRedirect(reason, message);
  }
}

/** Why an inline statement's failure calls for a worker: its deadline, or a lock it would have waited for. */
function redirectReason(error: unknown): "slow" | "busy" | undefined {
  if (!(error instanceof SqliteError)) return undefined;
  if (error.code === "SQLITE_INTERRUPT") return "slow";
  if (error.code === "SQLITE_BUSY" || error.code === "SQLITE_LOCKED") return "busy";
  return undefined;
}
