import { connect, type Socket } from "node:net";

export interface StreamEnd {
  /** The body ended as HTTP says it should (the last chunk, or Content-Length bytes); false when the connection closed first. */
  readonly complete: boolean;
  readonly bodyBytes: number;
}

/**
 * One HTTP/1.1 request on its own TCP connection to 127.0.0.1, whose response body is read incrementally (chunked
 * or Content-Length) and can be stopped: `pause()` stops reading the socket, so that the server's writes block.
 * For streamed cursor bodies and for clients that go away mid-request (`destroy()`).
 */
export class HttpStream {
  readonly socket: Socket;
  status = 0;
  readonly headers = new Map<string, string>();
  readonly ended: Promise<StreamEnd>;
  /** The decoded body so far (at most `keepBytes`; `bodyBytes` counts all of it). */
  readonly chunks: Buffer[] = [];
  bodyBytes = 0;
  /** Why the response could not be parsed, if it could not. */
  malformed: string | undefined;
  #kept = 0;
  readonly #keepBytes: number;
  #raw: Buffer = Buffer.alloc(0);
  #headDone = false;
  #chunked = false;
  /** Bytes left of the current chunk or of a Content-Length body; -1 = expecting a chunk-size line; -2 = the CRLF after a chunk. */
  #remaining = -1;
  #complete = false;
  #listeners: (() => void)[] = [];

  private constructor(socket: Socket, keepBytes: number) {
    this.socket = socket;
    this.#keepBytes = keepBytes;
    this.ended = new Promise<StreamEnd>((resolve) => {
      socket.on("close", () => {
        resolve({ complete: this.#complete, bodyBytes: this.bodyBytes });
        this.#notify();
      });
    });
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      this.#raw = this.#raw.length === 0 ? chunk : Buffer.concat([this.#raw, chunk]);
      try {
        this.#parse();
      } catch (error) {
        // A malformed answer: keep what was read, say why, and stop.
        this.malformed = (error as Error).message;
        socket.destroy();
      }
      this.#notify();
    });
  }

  /** Connects, sends the request, and resolves once the connection is up (not waiting for the answer). */
  static async open(port: number, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}, keepBytes = 64 * 1024 * 1024): Promise<HttpStream> {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const stream = new HttpStream(socket, keepBytes);
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    let head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `content-length: ${payload.length}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(head), payload]));
    return stream;
  }

  /** The body so far, as one buffer. */
  body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get complete(): boolean {
    return this.#complete;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once `predicate()` holds (checked on every arrival), or rejects after `timeoutMs` or at the close. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== check);
        reject(new Error(`${what}: not within ${timeoutMs} ms (status ${this.status}, ${this.bodyBytes} body bytes)`));
      }, timeoutMs);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((l) => l !== check);
          resolve();
        } else if (this.socket.destroyed) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((l) => l !== check);
          reject(new Error(`${what}: the connection closed first (status ${this.status}, ${this.bodyBytes} body bytes)`));
        }
      };
      this.#listeners.push(check);
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #addBody(bytes: Buffer): void {
    this.bodyBytes += bytes.length;
    if (this.#kept < this.#keepBytes) {
      const keep = bytes.subarray(0, this.#keepBytes - this.#kept);
      this.chunks.push(Buffer.from(keep));
      this.#kept += keep.length;
    }
  }

  #parse(): void {
    if (!this.#headDone) {
      const end = this.#raw.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.#raw.subarray(0, end).toString("latin1").split("\r\n");
      this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? "0");
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      this.#chunked = this.headers.get("transfer-encoding")?.toLowerCase() === "chunked";
      this.#remaining = this.#chunked ? -1 : Number(this.headers.get("content-length") ?? "0");
      this.#headDone = true;
      this.#raw = this.#raw.subarray(end + 4);
      if (!this.#chunked && this.#remaining === 0) this.#complete = true;
    }
    while (!this.#complete && this.#raw.length > 0) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, this.#raw.length);
        this.#addBody(this.#raw.subarray(0, take));
        this.#raw = this.#raw.subarray(take);
        this.#remaining -= take;
        if (this.#remaining > 0) return;
        if (!this.#chunked) {
          this.#complete = true;
          return;
        }
        this.#remaining = -2;
      }
      if (this.#remaining === -2) {
        if (this.#raw.length < 2) return;
        this.#raw = this.#raw.subarray(2);
        this.#remaining = -1;
      }
      const lineEnd = this.#raw.indexOf("\r\n");
      if (lineEnd < 0) return;
      const size = parseInt(this.#raw.subarray(0, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size line");
      this.#raw = this.#raw.subarray(lineEnd + 2);
      if (size === 0) {
        this.#complete = true;
        return;
      }
      this.#remaining = size;
    }
  }
}
