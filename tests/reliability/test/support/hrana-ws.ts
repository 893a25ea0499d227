import WebSocket from "ws";
import { json, protobuf, type ClientMsg, type ServerMsg, type WsRequest } from "@hranad/hrana-protocol/client";

export type HranaSubprotocol = "hrana3" | "hrana3-protobuf";

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  summarize: (message: ServerMsg, bytes: number) => unknown;
}

/** A request that the server answered with `response_error`, or that the socket's close cut short. */
export class WsRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly close: CloseInfo | undefined,
  ) {
    super(message);
  }
}

/**
 * A raw Hrana 3 WebSocket client (JSON or protobuf frames, encoded by `@hranad/hrana-protocol`), for suites that
 * must see the wire: request ids, `response_error` codes, close codes, and a client that stops reading (`pause()`
 * stops reading the TCP socket, so the server's replies pile up on its side). 127.0.0.1 only.
 */
export class HranaWs {
  readonly socket: WebSocket;
  readonly protocol: HranaSubprotocol;
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;
  /** Server messages received, and their bytes. */
  received = 0;
  receivedBytes = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  private constructor(socket: WebSocket, protocol: HranaSubprotocol) {
    this.socket = socket;
    this.protocol = protocol;
    this.closed = new Promise<CloseInfo>((resolve) => {
      socket.on("close", (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        const pending = [...this.#pending.values()];
        this.#pending.clear();
        for (const p of pending) p.reject(new WsRequestError(`the socket closed (${code} ${reason.toString()}) before the response`, null, this.closeInfo));
        resolve(this.closeInfo);
      });
    });
    socket.on("error", () => undefined);
    socket.on("message", (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
  }

  /** Connects to `url` (ws://127.0.0.1…), says hello and waits for `hello_ok`. */
  static async open(url: string, protocol: HranaSubprotocol = "hrana3", timeoutMs = 10_000): Promise<HranaWs> {
    if (!/^ws:\/\/127\.0\.0\.1[:/]/.test(url)) throw new Error(`only 127.0.0.1 is a target: ${url}`);
    const socket = new WebSocket(url, [protocol], { maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket upgrade from ${url} within ${timeoutMs} ms`)), timeoutMs);
      socket.once("open", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const client = new HranaWs(socket, protocol);
    const hello = new Promise<ServerMsg>((resolve, reject) => {
      client.#pending.set(0, { resolve: resolve as (value: unknown) => void, reject, summarize: (m) => m });
    });
    client.#sendMsg({ type: "hello", jwt: null });
    const answer = await hello;
    if (answer.type !== "hello_ok") throw new Error(`hello answered with ${JSON.stringify(answer)}`);
    return client;
  }

  get binary(): boolean {
    return this.protocol === "hrana3-protobuf";
  }

  /**
   * Sends one request and resolves with `summarize(answer, frameBytes)` (the whole `ServerMsg` by default), called
   * as soon as the answer arrives, so that callers can keep a summary of a large answer instead of the answer.
   */
  request<T = ServerMsg>(request: WsRequest, summarize?: (message: ServerMsg, bytes: number) => T): Promise<T> {
    const requestId = this.#nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(requestId, { resolve: resolve as (value: unknown) => void, reject, summarize: summarize ?? ((m) => m) });
    });
    if (this.closeInfo !== undefined) {
      this.#pending.delete(requestId);
      return Promise.reject(new WsRequestError("the socket is closed", null, this.closeInfo));
    }
    this.#sendMsg({ type: "request", requestId, request });
    return promise;
  }

  /**
   * Like `request`, for a message the caller encodes itself from its request id (e.g. around a large SQL text
   * encoded once, instead of once per message).
   */
  requestEncoded<T = ServerMsg>(encode: (requestId: number) => string | Uint8Array, summarize?: (message: ServerMsg, bytes: number) => T): Promise<T> {
    const requestId = this.#nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.set(requestId, { resolve: resolve as (value: unknown) => void, reject, summarize: summarize ?? ((m) => m) });
    });
    if (this.closeInfo !== undefined) {
      this.#pending.delete(requestId);
      return Promise.reject(new WsRequestError("the socket is closed", null, this.closeInfo));
    }
    this.socket.send(encode(requestId), { binary: this.binary });
    return promise;
  }

  /** Like `request`, but rejects with a `WsRequestError` on `response_error`; resolves with the response. */
  async ok(request: WsRequest): Promise<Extract<ServerMsg, { type: "response_ok" }>["response"]> {
    const answer = await this.request(request);
    if (answer.type === "response_ok") return answer.response;
    if (answer.type === "response_error") throw new WsRequestError(`${request.type}: ${answer.error.message}`, answer.error.code, undefined);
    throw new Error(`unexpected ${answer.type}`);
  }

  /** Sends a frame as is (text on hrana3, binary on hrana3-protobuf unless `binary` says otherwise). */
  sendRaw(data: string | Uint8Array, binary = this.binary): void {
    this.socket.send(data, { binary });
  }

  /** Stops reading from the TCP socket: the server's replies stay in its buffers. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Requests not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
  }

  /** Destroys the TCP connection without a close frame. */
  terminate(): void {
    this.socket.terminate();
  }

  #sendMsg(message: ClientMsg): void {
    this.socket.send(this.binary ? protobuf.encodeClientMsg(message) : json.encodeClientMsg(message), { binary: this.binary });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.received++;
    this.receivedBytes += data.length;
    let message: ServerMsg;
    try {
      if (isBinary !== this.binary) throw new Error(`a ${isBinary ? "binary" : "text"} frame on ${this.protocol}`);
      message = this.binary ? protobuf.decodeServerMsg(data) : json.decodeServerMsg(data);
    } catch (error) {
      this.#failAll(new Error(`undecodable server frame: ${(error as Error).message}`));
      return;
    }
    const id = message.type === "response_ok" || message.type === "response_error" ? message.requestId : 0;
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      this.#failAll(new Error(`a ${message.type} for request ${id}, which is not pending`));
      return;
    }
    this.#pending.delete(id);
    try {
      pending.resolve(pending.summarize(message, data.length));
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  #failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    this.socket.terminate();
  }
}
