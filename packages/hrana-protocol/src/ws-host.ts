/** The interfaces the WebSocket state machine (`HranaWsConnection`) is built on: its transport and its host. */
import type { Connection } from "@hranad/driver";
import type { ByteBudget, ResponseBudget } from "./budget.js";
import type { HranaError } from "./messages.js";

/** The socket a Hrana WebSocket connection speaks over: the subset of a `ws` WebSocket it uses, so a `ws` socket is one as it is. */
export interface WsTransport {
  /** The negotiated subprotocol (empty: none, which is Hrana 1 over JSON). */
  readonly protocol: string;
  /** Bytes handed to `send` and not yet written to the network. */
  readonly bufferedAmount: number;
  /** The socket's state; it can still send while this equals `OPEN`. */
  readonly readyState: number;
  readonly OPEN: number;
  /** Sends one message; `written` is called once it has been written to the network (or dropped). */
  send(data: string | Uint8Array, options: { binary: boolean }, written: (error?: Error) => void): void;
  /** Starts the closing handshake with this code and reason (at most 123 bytes). */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Stops delivering the client's messages (backpressure), and starts again. */
  pause(): void;
  resume(): void;
}

/** A stream as the state machine sees it: the connection its requests run on. */
export interface WsStreamHandle {
  readonly connection: Connection;
}

/** What the server does for the state machine: open, run and end streams, and account memory. */
export interface WsStreamHost<S extends WsStreamHandle> {
  /**
   * Opens a stream. Rejects with an error that `toError` can describe — also while the server shuts down, including
   * when shutdown began while it waited (the host closes what it opened then).
   */
  open(): Promise<S>;
  /** A request starts on the stream. Throws when the server ended the stream under it (expired, killed…). */
  begin(stream: S): void;
  /** The request finished. */
  end(stream: S): void;
  /** Closes the stream, rolling back its transaction. Idempotent. */
  close(stream: S): Promise<void>;
  /** Ends the stream now, interrupting the statement it runs. Idempotent. */
  terminate(stream: S, reason: "expired" | "closed"): Promise<void>;
  /** The server-wide memory pool: stored SQL and queued requests are held in it. */
  readonly buffered: ByteBudget;
  /** A new budget for one response, drawing on `buffered`. */
  responseBudget(): ResponseBudget;
  /** The Hrana error a client sees for a failure (never a path or a stack). */
  toError(error: unknown): HranaError;
  /** Checks a `hello`'s credential: an error refuses it (`hello_error`); absent, every hello is accepted. */
  hello?(jwt: string | null): HranaError | undefined;
}

/** The bounds of one connection (the server's `limits` of the same names). */
export interface WsLimits {
  /** Streams open at once on the connection. */
  readonly maxStreamsPerSocket: number;
  /** UTF-8 bytes of SQL text stored with `store_sql`. */
  readonly maxSocketSqlBytes: number;
  /** Unsent replies plus queued requests; past it the connection is not read and its queue waits. */
  readonly maxSocketBufferedBytes: number;
  /** A client that reads nothing this long while replies wait is cut off. */
  readonly sendTimeoutMs: number;
  /** A cursor not fetched this long is closed and its stream ended. */
  readonly idleTimeoutMs: number;
}

export interface WsLogger {
  error(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** WebSocket close codes (RFC 6455). */
export const WS_CLOSE = Object.freeze({
  NORMAL: 1000,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  INTERNAL: 1011,
});
