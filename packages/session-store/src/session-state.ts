import type { ChangesetCapture, Connection, Pool, RowCursor } from "@hranad/driver";
import type { Clock } from "./clock.js";
import type { EndReason, Tombstone } from "./tombstones.js";

/** The error a poisoned session answers every request with. */
export interface Poison {
  readonly code: "TRANSACTION_ABORTED" | "TRANSACTION_TIMEOUT";
  readonly message: string;
}

/** Drops the registry handle the session holds. */
export type ReleaseFunction = () => void | Promise<void>;

/**
 * The mutable, store-internal state of one session (not exported from the package). The public `Session` is a
 * read-only facade over it; the Store and the connection guard are the only writers.
 */
export class SessionState {
  /** The generation of the only baton that `resume` accepts. Bumped by every successful `resume`. */
  generation = 0n;
  /** A request is in flight: `resume` is refused, reaping and killing skip the session. */
  busy = true;
  lastActiveAt: number;
  /** The earliest deadline this session has in the reaper's heap, if any (for lazy deletion). */
  heapDeadline: number | undefined;
  /** When the current transaction began (autocommit went off), as seen by the connection guard. */
  transactionOpenedAt: number | undefined;
  poison: Poison | undefined;
  endReason: EndReason | undefined;
  /** What the session looked like when it ended (for the error a late caller gets). */
  tombstone: Tombstone | undefined;
  /** Set by `closeAll` on a busy session: tear it down as soon as its request finishes. */
  closeWhenIdle = false;
  /** A rollback the store runs on an idle session (transaction timeout); teardown waits for it. */
  maintenance: Promise<void> | undefined;
  teardown: Promise<void> | undefined;
  capture: ChangesetCapture | undefined;
  readonly ended = new AbortController();
  readonly sql = new Map<number, string>();
  /** A `BEGIN TRANSACTION READONLY` transaction is open: the engine guard is on until it ends. */
  readOnlyTransaction = false;
  /** Calls on the pinned connection not finished yet: teardown waits for them before it rolls back and releases. */
  readonly inflight = new Set<Promise<unknown>>();
  /** Cursors opened through the session's connection and not yet closed. */
  readonly cursors = new Set<RowCursor>();

  constructor(
    readonly idBytes: Uint8Array,
    readonly id: string,
    readonly database: string,
    readonly principal: string | null,
    /** The client key the session counts against (`maxSessionsPerClient`), or null. */
    readonly client: string | null,
    readOnly: boolean,
    readonly createdAt: number,
    inner: Connection,
    /** Where the session takes a connection again after it gave its own back between requests. */
    readonly pool: Pool,
    /** False for sessions that live as long as their transport (WebSocket streams): no idle or lifetime expiry. */
    readonly expires: boolean,
    readonly releaseHandle: ReleaseFunction,
    readonly clock: Clock,
  ) {
    this.readOnly = readOnly;
    this.lastActiveAt = createdAt;
    this.inner = inner;
    this.connectionId = inner.id;
  }

  readonly readOnly: boolean;
  /**
   * The connection the session holds, or undefined between requests while it holds none (an idle stream in
   * autocommit, with no cursor and no per-connection state, gives its connection back; see `SessionStore`).
   */
  inner: Connection | undefined;
  /** The id of the last connection the session held. */
  connectionId: number;
  /** A connection being taken for the session's next call. */
  acquiring: Promise<Connection> | undefined;

  /** Whether the session's transaction is open as far as its connection knows (none held: autocommit). */
  get autocommit(): boolean {
    return this.inner?.autocommit ?? true;
  }

  /** Runs a call on the pinned connection, remembering it until it settles. */
  track<T>(call: Promise<T>): Promise<T> {
    this.inflight.add(call);
    const done = () => this.inflight.delete(call);
    call.then(done, done);
    return call;
  }

  /** Resolves once no call on the pinned connection is running any more. */
  async quiesce(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Records the autocommit state read back after a call, to know how long a transaction has been open. */
  noteAutocommit(autocommit: boolean): void {
    if (autocommit) this.transactionOpenedAt = undefined;
    else this.transactionOpenedAt ??= this.clock.now();
  }
}
