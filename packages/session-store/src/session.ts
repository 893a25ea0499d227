import type { ChangesetCapture } from "@hranad/driver";
import { SessionConnection } from "./session-connection.js";
import type { Poison, SessionState } from "./session-state.js";
import type { EndReason } from "./tombstones.js";

const states = new WeakMap<Session, SessionState>();

/** The store-internal state of a session; throws for an object that is not a session of this package. */
export function stateOf(session: Session): SessionState {
  const state = states.get(session);
  if (state === undefined) throw new TypeError("not a Session of this store");
  return state;
}

/**
 * One Hrana stream: a connection pinned for the session's whole life (so a BEGIN…COMMIT can span several
 * requests), its database and principal, and its server-side SQL cache. Created only by `Store.open`.
 */
export class Session {
  readonly #state: SessionState;
  /** The pinned connection, guarded: refuses every call once the session ended or was poisoned. */
  readonly connection: SessionConnection;

  /** @internal */
  constructor(state: SessionState) {
    this.#state = state;
    this.connection = new SessionConnection(state);
    states.set(this, state);
  }

  /** The session id as 22 characters of base64url (what `Store.kill` and `Store.list` use). */
  get id(): string {
    return this.#state.id;
  }
  get database(): string {
    return this.#state.database;
  }
  get principal(): string | null {
    return this.#state.principal;
  }
  /** Read-only for its whole life: the engine guard is on and cannot be switched off from the session. */
  get readOnly(): boolean {
    return this.#state.readOnly;
  }
  /** A request is in flight. */
  get busy(): boolean {
    return this.#state.busy;
  }
  /** Why the session ended, or undefined while it lives. */
  get endReason(): EndReason | undefined {
    return this.#state.endReason;
  }
  /** Aborts when the session ends (its reason is the `EndReason`): lets a WebSocket stream learn of a kill. */
  get signal(): AbortSignal {
    return this.#state.ended.signal;
  }
  /** Set when the server rolled the session's transaction back under it; every request then fails. */
  get poisoned(): Poison | undefined {
    return this.#state.poison;
  }

  // --- the SQL cache behind Hrana's store_sql / sql_id / close_sql (limits are the executor's business) ---

  storeSql(id: number, sql: string): void {
    this.#state.sql.set(id, sql);
  }
  lookupSql(id: number): string | undefined {
    return this.#state.sql.get(id);
  }
  /** Returns whether the id was stored. */
  dropSql(id: number): boolean {
    return this.#state.sql.delete(id);
  }
  get sqlCount(): number {
    return this.#state.sql.size;
  }

  // --- changeset capture: exactly one owner closes it ---

  /**
   * Attaches a capture started on this session's connection. The store closes it when the session ends unless
   * someone took it first. Attaching to a session that has already ended closes the capture at once.
   */
  setCapture(capture: ChangesetCapture): void {
    if (this.#state.endReason !== undefined) {
      void capture.close().catch(() => undefined);
      return;
    }
    if (this.#state.capture !== undefined) throw new Error("a capture is already attached to this session");
    this.#state.capture = capture;
  }

  /** The attached capture, if any (truthy when one is attached). Closing it is the job of whoever takes it. */
  get capture(): ChangesetCapture | undefined {
    return this.#state.capture;
  }

  /** Detaches and returns the capture in one step: the caller now owns it and must close it. */
  takeCapture(): ChangesetCapture | undefined {
    const capture = this.#state.capture;
    this.#state.capture = undefined;
    return capture;
  }
}
