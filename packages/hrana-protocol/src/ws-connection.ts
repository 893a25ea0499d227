/**
 * Hrana over WebSocket, transport-free: the state machine of one client connection (hello ordering, streams and
 * their request queues, connection-scoped stored SQL, cursors and fetches, memory bounds and backpressure). It
 * speaks to the network through a `WsTransport` and to the database side through a `WsStreamHost`; it knows
 * nothing of any HTTP framework, WebSocket library or session store. The server adapts `ws` and its session store
 * to these two interfaces; a test can drive it in memory.
 */
import type { Connection } from "@hranad/driver";
import type { ResponseBudget } from "./budget.js";
import { cursorEntryBytes } from "./budget.js";
import { subprotocolSpec, type WsCodec } from "./endpoints.js";
import { cursorEntries, executeCloseSql, executeStoreSql, executeStreamRequest, inlineStoredSql } from "./executor.js";
import type {
  Batch,
  ClientMsg,
  CursorEntry,
  HranaError,
  ProtocolVersion,
  ServerMsg,
  StreamRequest,
  WsRequest,
  WsResponse,
} from "./messages.js";
import { isProtocolError, ProtocolError } from "./protocol-error.js";
import { SizedSqlStore, WS_MAX_STORED_SQL } from "./sql-store.js";
import { SocketFlow } from "./ws-flow.js";
import { WS_CLOSE, type WsLimits, type WsLogger, type WsStreamHandle, type WsStreamHost, type WsTransport } from "./ws-host.js";

/** Cursor entries buffered per fetch at most, whatever `max_count` asks (bytes are bounded by the response budget). */
const MAX_FETCH_ENTRIES = 4096;
/** What a queued request costs beyond its message bytes (its closure and promise), for the socket's bound. */
const REQUEST_OVERHEAD_BYTES = 512;

const CLOSE_NORMAL = WS_CLOSE.NORMAL;
const CLOSE_UNSUPPORTED_DATA = WS_CLOSE.UNSUPPORTED_DATA;
const CLOSE_INVALID_PAYLOAD = WS_CLOSE.INVALID_PAYLOAD;
const CLOSE_POLICY = WS_CLOSE.POLICY;
const CLOSE_INTERNAL = WS_CLOSE.INTERNAL;

/** One stream of a connection, addressed by the client's stream id, running requests in order. */
interface WsStream<S> {
  session: S | undefined;
  /** Why the stream could not be opened, for every later request on it. */
  failure: HranaError | undefined;
  /** The tail of this stream's request queue. */
  queue: Promise<void>;
  closed: boolean;
}

interface WsCursor {
  readonly streamId: number;
  readonly iterator: AsyncIterator<CursorEntry>;
  done: boolean;
  /** The cursor could not be opened (its open_cursor got an error). */
  failed: boolean;
  /** Serializes fetches on this cursor. */
  fetching: Promise<void>;
  /** Resolves when the cursor is finished or closed, releasing its stream's queue. */
  finish(): void;
  /** Ends the cursor and its stream when nobody fetches from it for `idleTimeoutMs`. */
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

export class HranaWsConnection<S extends WsStreamHandle> {
  readonly #socket: WsTransport;
  readonly #host: WsStreamHost<S>;
  readonly #limits: WsLimits;
  readonly #log: WsLogger;
  readonly #version: ProtocolVersion;
  readonly #codec: WsCodec;
  readonly #streams = new Map<number, WsStream<S>>();
  readonly #cursors = new Map<number, WsCursor>();
  readonly #sql: SizedSqlStore;
  #helloed = false;
  #disposed = false;
  /** Backpressure: queued requests and unsent replies, bounded. */
  readonly #flow: SocketFlow;

  constructor(socket: WsTransport, host: WsStreamHost<S>, limits: WsLimits, log: WsLogger) {
    this.#socket = socket;
    this.#host = host;
    this.#limits = limits;
    this.#log = log;
    this.#sql = new SizedSqlStore(limits.maxSocketSqlBytes, host.buffered);
    this.#flow = new SocketFlow(socket, host.buffered, limits, (unsentBytes) => {
      this.#log.warn({ unsentBytes }, "WebSocket client stopped reading; closing it");
      this.#close(CLOSE_POLICY, "The client stopped reading its responses");
      // The close frame waits behind the unread replies: do not hold them (or the socket) any longer.
      unref(setTimeout(() => this.#socket.terminate(), 1000));
    });
    const { version, codec } = subprotocolSpec(socket.protocol);
    this.#version = version;
    this.#codec = codec;
  }

  /** The Hrana version this connection speaks (from its subprotocol). */
  get version(): ProtocolVersion {
    return this.#version;
  }

  /** Whether the connection has ended (closed by either side); it ignores messages from then on. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Handles one message from the client (`binary`: it came in a binary frame). Never throws. */
  receive(bytes: Uint8Array, binary: boolean): void {
    if (this.#disposed) return;
    if (binary !== this.#codec.binary) {
      this.#close(CLOSE_UNSUPPORTED_DATA, this.#codec.binary ? "Only binary messages are accepted" : "Only text messages are accepted");
      return;
    }
    let message: ClientMsg;
    try {
      message = this.#codec.decodeClientMsg(bytes, this.#version);
    } catch (error) {
      this.#protocolError(error, CLOSE_INVALID_PAYLOAD);
      return;
    }
    try {
      this.#handle(message, bytes.length + REQUEST_OVERHEAD_BYTES);
    } catch (error) {
      this.#protocolError(error, CLOSE_POLICY);
    }
    this.#flow.checkPressure();
  }

  #handle(message: ClientMsg, size: number): void {
    if (message.type === "hello") {
      if (this.#helloed && this.#version < 2) throw new ProtocolError("PROTO_BAD_REQUEST", "hello can be sent only once in Hrana 1");
      this.#helloed = true;
      const refused = this.#host.hello?.(message.jwt ?? null);
      if (refused !== undefined) {
        this.#send({ type: "hello_error", error: refused });
        return;
      }
      this.#send({ type: "hello_ok" });
      return;
    }
    if (!this.#helloed) throw new ProtocolError("PROTO_BAD_REQUEST", "The first message must be hello");
    this.#request(message.requestId, message.request, size);
  }

  #request(requestId: number, request: WsRequest, size: number): void {
    switch (request.type) {
      case "open_stream":
        return this.#openStream(requestId, request.streamId);
      case "close_stream":
        return this.#closeStream(requestId, request.streamId);
      case "store_sql":
      case "close_sql": {
        // Connection-scoped stored SQL, with the same rules as a stream's (`PROTO_SQL_EXISTS`, SQL_STORE_TOO_MANY…).
        const options = { version: this.#version, maxStoredSql: WS_MAX_STORED_SQL };
        const result = request.type === "store_sql" ? executeStoreSql(this.#sql, request, options) : executeCloseSql(this.#sql, request, options);
        return result.type === "ok" ? this.#respond(requestId, result.response as WsResponse) : this.#respondError(requestId, result.error);
      }
      case "open_cursor":
        return this.#openCursor(requestId, request.streamId, request.cursorId, inlineStoredSql(this.#sql, request, this.#version), size);
      case "fetch_cursor":
        return this.#fetchCursor(requestId, request.cursorId, request.maxCount, size);
      case "close_cursor":
        return this.#closeCursor(requestId, request.cursorId);
      default: {
        const stream = this.#stream(request.streamId);
        const { streamId: _streamId, ...withoutStream } = request;
        // Stored SQL is connection-scoped: resolve it now, so that a later close_sql cannot overtake this request.
        const rest = inlineStoredSql(this.#sql, withoutStream as StreamRequest, this.#version);
        this.#enqueue(stream, requestId, size, async (connection) => {
          const budget = this.#host.responseBudget();
          let result;
          try {
            result = await executeStreamRequest(connection, this.#sql, rest, {
              version: this.#version,
              maxStoredSql: WS_MAX_STORED_SQL,
              budget,
              onInternalError: (error) => this.#log.error({ err: error }, "statement failed"),
            });
          } catch (error) {
            budget.release();
            throw error;
          }
          if (result.type === "ok") this.#respond(requestId, result.response as WsResponse, budget);
          else {
            budget.release();
            this.#respondError(requestId, result.error);
          }
        });
      }
    }
  }

  #stream(streamId: number): WsStream<S> {
    const stream = this.#streams.get(streamId);
    if (stream === undefined) throw new ProtocolError("PROTO_BAD_REQUEST", `Stream ${streamId} is not open`);
    return stream;
  }

  #openStream(requestId: number, streamId: number): void {
    if (this.#streams.has(streamId)) throw new ProtocolError("PROTO_BAD_REQUEST", `Stream ${streamId} is already open`);
    if (this.#streams.size >= this.#limits.maxStreamsPerSocket) {
      // Refused, but the id is still taken so that the client's later requests and close_stream make sense.
      this.#streams.set(streamId, newStream<S>(Promise.resolve(), { message: "Too many streams on this connection", code: "TOO_MANY_STREAMS" }));
      return this.#respondError(requestId, { message: `At most ${this.#limits.maxStreamsPerSocket} streams can be open on one connection`, code: "TOO_MANY_STREAMS" });
    }
    const stream = newStream<S>(Promise.resolve(), undefined);
    this.#streams.set(streamId, stream);
    stream.queue = this.#guard(async () => {
      try {
        // The host refuses while the server shuts down (also when shutdown began while it waited).
        const handle = await this.#host.open();
        if (this.#disposed) {
          // The socket went away while the stream was opening.
          await this.#host.close(handle);
          return;
        }
        stream.session = handle;
        this.#host.end(handle);
        this.#respond(requestId, { type: "open_stream" });
      } catch (error) {
        stream.failure = this.#host.toError(error);
        this.#respondError(requestId, stream.failure);
      }
    });
  }

  #closeStream(requestId: number, streamId: number): void {
    const stream = this.#stream(streamId);
    this.#streams.delete(streamId);
    stream.closed = true;
    for (const [cursorId, cursor] of this.#cursors) {
      if (cursor.streamId === streamId) void this.#finishCursor(cursorId, cursor);
    }
    stream.queue = this.#guard(async () => {
      await stream.queue;
      await this.#endStream(stream);
      this.#respond(requestId, { type: "close_stream" });
    });
  }

  async #endStream(stream: WsStream<S>): Promise<void> {
    const session = stream.session;
    stream.session = undefined;
    if (session === undefined) return;
    // Idempotent: a stream the reaper or an admin already ended has nothing left to close.
    await this.#host.close(session).catch(() => undefined);
  }

  /**
   * Runs `work` after `previous`, and never lets it reject: a failure that escapes a request's own handling is a
   * bug, and it costs this socket (closed with 1011), never the process.
   */
  #guard(work: () => Promise<void>): Promise<void> {
    return work().catch((error: unknown) => {
      this.#log.error({ err: error }, "WebSocket request failed");
      this.#close(CLOSE_INTERNAL, "Internal server error");
    });
  }

  /** Runs `work` on the stream's session after everything queued before it. */
  #enqueue(
    stream: WsStream<S>,
    requestId: number,
    size: number,
    work: (connection: Connection) => Promise<void>,
    options: { settled?: () => void; holdUntil?: () => Promise<void> } = {},
  ): void {
    stream.queue = this.#behind(stream.queue, size, () => this.#run(stream, requestId, work, options));
  }

  /**
   * Runs `work` after `previous` (a stream's queue, a cursor's fetches), once the replies this client has not read
   * yet are within the socket's bound; its request's `size` counts as queued until it is done. Never rejects.
   */
  #behind(previous: Promise<void>, size: number, work: () => Promise<void>): Promise<void> {
    this.#flow.queued(size);
    return this.#guard(async () => {
      try {
        await previous;
        await this.#flow.writable();
        await work();
      } finally {
        this.#flow.dequeued(size);
      }
    });
  }

  async #run(
    stream: WsStream<S>,
    requestId: number,
    work: (connection: Connection) => Promise<void>,
    options: { settled?: () => void; holdUntil?: () => Promise<void> },
  ): Promise<void> {
    if (stream.failure !== undefined) {
      options.settled?.();
      this.#respondError(requestId, { message: `The stream is not open: ${stream.failure.message}`, code: "STREAM_NOT_OPEN" });
      return;
    }
    const session = stream.session;
    if (session === undefined || this.#disposed) {
      options.settled?.();
      this.#respondError(requestId, { message: "The stream is closed", code: "STREAM_NOT_OPEN" });
      return;
    }
    try {
      this.#host.begin(session);
    } catch (error) {
      // Reaped (idle too long), killed by an admin…: say why, and the stream stays dead.
      stream.failure = this.#host.toError(error);
      stream.session = undefined;
      options.settled?.();
      this.#respondError(requestId, stream.failure);
      return;
    }
    try {
      try {
        await work(session.connection);
      } finally {
        options.settled?.();
      }
      if (options.holdUntil !== undefined) await options.holdUntil();
    } catch (error) {
      if (isProtocolError(error)) this.#protocolError(error, CLOSE_POLICY);
      else this.#respondError(requestId, this.#host.toError(error));
    } finally {
      this.#host.end(session);
    }
  }

  #openCursor(
    requestId: number,
    streamId: number,
    cursorId: number,
    request: { batch: Batch },
    size: number,
  ): void {
    const stream = this.#stream(streamId);
    if (this.#cursors.has(cursorId)) throw new ProtocolError("PROTO_BAD_REQUEST", `Cursor ${cursorId} is already open`);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    // Reserve the id now: fetch_cursor may arrive before the stream reaches this request.
    let iterator: AsyncIterator<CursorEntry> | undefined;
    const pending: WsCursor = {
      streamId,
      get iterator() {
        return iterator ?? emptyIterator;
      },
      done: false,
      failed: false,
      fetching: Promise.resolve(),
      finish: () => finish(),
      idleTimer: undefined,
    };
    this.#cursors.set(cursorId, pending);
    let opened!: () => void;
    pending.fetching = new Promise<void>((resolve) => (opened = resolve));
    this.#enqueue(
      stream,
      requestId,
      size,
      async (connection) => {
        iterator = cursorEntries(connection, this.#sql, request.batch, {
          version: 3,
          maxStoredSql: WS_MAX_STORED_SQL,
          onInternalError: (error) => this.#log.error({ err: error }, "cursor statement failed"),
        })[Symbol.asyncIterator]();
        this.#armCursorIdle(cursorId, pending);
        this.#respond(requestId, { type: "open_cursor" });
      },
      {
        settled: () => {
          if (iterator === undefined) pending.failed = true;
          opened();
        },
        // The cursor keeps its stream (and session) until it is finished or closed.
        holdUntil: () => finished,
      },
    );
  }

  /**
   * A cursor pins its stream's connection (and the database's read snapshot, so the WAL cannot be checkpointed):
   * one that nobody fetches from for `idleTimeoutMs` is closed and its stream ended, as an idle stream would be.
   */
  #armCursorIdle(cursorId: number, cursor: WsCursor): void {
    if (cursor.idleTimer !== undefined) clearTimeout(cursor.idleTimer);
    cursor.idleTimer = undefined;
    if (cursor.done || this.#disposed) return;
    cursor.idleTimer = setTimeout(() => {
      cursor.idleTimer = undefined;
      if (cursor.done || this.#disposed) return;
      this.#log.warn({ cursor: cursorId }, "WebSocket cursor not fetched for idleTimeoutMs; ending its stream");
      const session = this.#streams.get(cursor.streamId)?.session;
      if (session !== undefined) void this.#host.terminate(session, "expired");
      void this.#guard(() => this.#releaseCursor(cursor));
    }, this.#limits.idleTimeoutMs);
    unref(cursor.idleTimer);
  }

  #fetchCursor(requestId: number, cursorId: number, maxCount: number, size: number): void {
    const cursor = this.#cursors.get(cursorId);
    if (cursor === undefined) throw new ProtocolError("PROTO_BAD_REQUEST", `Cursor ${cursorId} is not open`);
    cursor.fetching = this.#behind(cursor.fetching, size, () => this.#fetch(requestId, cursorId, cursor, maxCount));
  }

  async #fetch(requestId: number, cursorId: number, cursor: WsCursor, maxCount: number): Promise<void> {
    if (cursor.failed) {
      await this.#releaseCursor(cursor);
      this.#respondError(requestId, { message: `Cursor ${cursorId} is not open`, code: "CURSOR_NOT_OPEN" });
      return;
    }
    if (cursor.idleTimer !== undefined) clearTimeout(cursor.idleTimer);
    cursor.idleTimer = undefined;
    const entries: CursorEntry[] = [];
    const limit = Math.min(Math.max(maxCount, 1), MAX_FETCH_ENTRIES);
    // One fetch is one response: it stops at maxResponseBytes (or when the server's pool is short), having
    // always made progress by at least one entry; the client fetches again for the rest.
    const budget = this.#host.responseBudget();
    try {
      while (!cursor.done && entries.length < limit && (entries.length === 0 || !budget.exhausted)) {
        const next = await cursor.iterator.next();
        if (next.done === true) {
          cursor.done = true;
          break;
        }
        entries.push(next.value);
        budget.charge(cursorEntryBytes(next.value));
      }
    } catch (error) {
      cursor.done = true;
      entries.push({ type: "error", error: this.#host.toError(error) });
    }
    // The id stays registered until close_cursor: clients prefetch, so more fetches may follow `done`, and they
    // get empty `done` answers (as in sqld) instead of a protocol error that would close the socket.
    if (cursor.done) await this.#releaseCursor(cursor);
    else this.#armCursorIdle(cursorId, cursor);
    this.#respond(requestId, { type: "fetch_cursor", entries, done: cursor.done }, budget);
  }

  #closeCursor(requestId: number, cursorId: number): void {
    const cursor = this.#cursors.get(cursorId);
    if (cursor === undefined) {
      this.#respond(requestId, { type: "close_cursor" });
      return;
    }
    // The id is free at once (a later open_cursor may reuse it); fetches queued before this one still finish.
    this.#cursors.delete(cursorId);
    const previous = cursor.fetching;
    cursor.fetching = this.#guard(async () => {
      await previous;
      await this.#releaseCursor(cursor);
      this.#respond(requestId, { type: "close_cursor" });
    });
  }

  /** Unregisters the cursor and releases its stream. */
  async #finishCursor(cursorId: number, cursor: WsCursor): Promise<void> {
    if (this.#cursors.get(cursorId) === cursor) this.#cursors.delete(cursorId);
    await this.#releaseCursor(cursor);
  }

  /** Stops the cursor's batch and releases its stream; the id stays registered. Idempotent. */
  async #releaseCursor(cursor: WsCursor): Promise<void> {
    if (cursor.idleTimer !== undefined) clearTimeout(cursor.idleTimer);
    cursor.idleTimer = undefined;
    if (!cursor.done) {
      cursor.done = true;
      await cursor.iterator.return?.().catch(() => undefined);
    }
    cursor.finish();
  }

  // --- replies ---

  #respond(requestId: number, response: WsResponse, budget?: ResponseBudget): void {
    let encoded: string | Uint8Array;
    try {
      encoded = this.#codec.encodeServerMsg({ type: "response_ok", requestId, response });
    } catch (error) {
      // Past what can be encoded (a string longer than V8 allows…): the request fails, the socket lives on.
      budget?.release();
      this.#log.error({ err: error }, "a WebSocket response could not be encoded");
      this.#respondError(requestId, { message: "The response is too large to be sent", code: "RESPONSE_TOO_LARGE" });
      return;
    }
    this.#write(encoded, budget);
  }

  #respondError(requestId: number, error: HranaError): void {
    this.#send({ type: "response_error", requestId, error });
  }

  #send(message: ServerMsg): void {
    this.#write(this.#codec.encodeServerMsg(message), undefined);
  }

  /** Hands a reply to the socket; its bytes stay in the server's pool until they are written out. */
  #write(encoded: string | Uint8Array, budget: ResponseBudget | undefined): void {
    if (this.#disposed || this.#socket.readyState !== this.#socket.OPEN) {
      budget?.release();
      return;
    }
    this.#socket.send(encoded, { binary: this.#codec.binary }, () => {
      budget?.release();
      this.#flow.flushed();
    });
  }

  #protocolError(error: unknown, code: number): void {
    if (isProtocolError(error)) {
      this.#close(code, error.message);
      return;
    }
    this.#log.error({ err: error }, "WebSocket request failed");
    this.#close(CLOSE_INTERNAL, "Internal server error");
  }

  #close(code: number, reason: string): void {
    // A close reason is at most 123 bytes.
    const bytes = Buffer.from(reason, "utf8");
    const trimmed = bytes.length > 123 ? bytes.subarray(0, 120).toString("utf8") + "…" : reason;
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.close(code, Buffer.byteLength(trimmed) > 123 ? reason.slice(0, 60) : trimmed);
    void this.dispose();
  }

  /**
   * Ends every stream of the socket: a statement still running is interrupted (nobody can receive its result) and
   * every transaction is rolled back.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#flow.dispose();
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    // First end the sessions (interrupting what runs), so that queued work finds them closed and stops at once.
    await Promise.all(
      streams.map(async (stream) => {
        stream.closed = true;
        const session = stream.session;
        if (session !== undefined) await this.#host.terminate(session, "closed").catch(() => undefined);
      }),
    );
    for (const [cursorId, cursor] of this.#cursors) await this.#finishCursor(cursorId, cursor);
    await Promise.all(
      streams.map(async (stream) => {
        await stream.queue.catch(() => undefined);
        await this.#endStream(stream);
      }),
    );
    this.#sql.clear();
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.close(CLOSE_NORMAL, "Goodbye");
  }
}

function newStream<S>(queue: Promise<void>, failure: HranaError | undefined): WsStream<S> {
  return { session: undefined, failure, queue, closed: false };
}

const emptyIterator: AsyncIterator<CursorEntry> = {
  next: async () => ({ done: true, value: undefined }),
};

/** Timers of the state machine never keep a process alive by themselves. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
