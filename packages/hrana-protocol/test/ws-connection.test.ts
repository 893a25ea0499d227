/**
 * The WebSocket state machine driven in memory: no HTTP framework, no WebSocket library, no session store. A
 * transport that records what is sent and a host on a real better-sqlite3 pool are all it needs — proof that the
 * protocol's WebSocket behaviour is transport-free.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, Pool } from "@hranad/driver";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ByteBudget, HranaWsConnection, ResponseBudget, toHranaError, type WsLimits, type WsStreamHost, type WsTransport } from "../src/index.js";

const LIMITS: WsLimits = {
  maxStreamsPerSocket: 4,
  maxSocketSqlBytes: 1000,
  maxSocketBufferedBytes: 64 * 1024,
  sendTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
};

/** Records every message the state machine sends; `unsent` simulates bytes the network has not taken yet. */
class MemoryTransport implements WsTransport {
  readonly sent: any[] = [];
  closed: { code: number; reason: string } | undefined;
  paused = false;
  unsent = 0;
  readonly #pending: (() => void)[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(readonly protocol: string) {}

  get bufferedAmount(): number {
    return this.unsent;
  }
  readonly OPEN = 1;
  get readyState(): number {
    return this.closed === undefined ? this.OPEN : 3;
  }
  send(data: string | Uint8Array, _options: { binary: boolean }, written: () => void): void {
    this.sent.push(JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8")));
    if (this.unsent > 0) this.#pending.push(written);
    else queueMicrotask(written);
    this.#waiters = this.#waiters.filter((w) => (this.sent.length >= w.count ? (w.resolve(), false) : true));
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
  terminate(): void {
    this.closed ??= { code: 1006, reason: "" };
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  /** The network takes everything: pending writes complete. */
  drain(): void {
    this.unsent = 0;
    for (const written of this.#pending.splice(0)) written();
  }
  /** Resolves once `count` messages have been sent in all. */
  until(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

let dir: string;
let pool: Pool;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hrana-protocol-ws-"));
  pool = await betterSqlite3Driver.open({ path: join(dir, "db.sqlite"), mode: "create", maxConnections: 4 });
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A host on a real pool: each stream pins one connection. */
function poolHost(buffered = new ByteBudget(256 * 1024 * 1024)): WsStreamHost<{ connection: Connection }> & { open_: number } {
  const closed = new WeakSet<object>();
  return {
    open_: 0,
    async open() {
      this.open_ += 1;
      return { connection: await pool.acquire() };
    },
    begin: () => undefined,
    end: () => undefined,
    async close(stream) {
      if (closed.has(stream)) return;
      closed.add(stream);
      this.open_ -= 1;
      await stream.connection.release();
    },
    async terminate(stream) {
      stream.connection.interrupt();
      await this.close(stream);
    },
    buffered,
    responseBudget: () => new ResponseBudget({ maxResponseBytes: 1024 * 1024, maxResultBytes: 512 * 1024, pool: buffered }),
    toError: (error) => toHranaError(error),
  };
}

const request = (id: number, body: object) => JSON.stringify({ type: "request", request_id: id, request: body });
const receive = (c: HranaWsConnection<{ connection: Connection }>, message: string) => c.receive(Buffer.from(message), false);

describe("HranaWsConnection in memory", () => {
  let connection: HranaWsConnection<{ connection: Connection }> | undefined;
  afterEach(async () => {
    await connection?.dispose();
    connection = undefined;
  });

  it("serves hello, streams, statements, batches, stored SQL and cursors (hrana3 JSON)", async () => {
    const transport = new MemoryTransport("hrana3");
    const host = poolHost();
    connection = new HranaWsConnection(transport, host, LIMITS, console);
    receive(connection, JSON.stringify({ type: "hello", jwt: null }));
    receive(connection, request(1, { type: "open_stream", stream_id: 1 }));
    receive(connection, request(2, { type: "execute", stream_id: 1, stmt: { sql: "CREATE TABLE t (x)", want_rows: false } }));
    receive(connection, request(3, { type: "store_sql", sql_id: 7, sql: "INSERT INTO t VALUES (?)" }));
    receive(connection, request(4, { type: "execute", stream_id: 1, stmt: { sql_id: 7, args: [{ type: "integer", value: "42" }], want_rows: false } }));
    receive(connection, request(5, { type: "batch", stream_id: 1, batch: { steps: [{ stmt: { sql: "SELECT x FROM t" } }, { stmt: { sql: "SELECT nope" } }] } }));
    receive(connection, request(6, { type: "open_cursor", stream_id: 1, cursor_id: 1, batch: { steps: [{ stmt: { sql: "SELECT x FROM t" } }] } }));
    receive(connection, request(7, { type: "fetch_cursor", cursor_id: 1, max_count: 100 }));
    receive(connection, request(8, { type: "close_cursor", cursor_id: 1 }));
    receive(connection, request(9, { type: "close_stream", stream_id: 1 }));
    await transport.until(10);

    const byId = new Map(transport.sent.filter((m) => m.request_id !== undefined).map((m) => [m.request_id, m]));
    expect(transport.sent[0]).toEqual({ type: "hello_ok" });
    expect(byId.get(1)).toMatchObject({ type: "response_ok", response: { type: "open_stream" } });
    expect(byId.get(3)).toMatchObject({ type: "response_ok", response: { type: "store_sql" } });
    expect(byId.get(4)).toMatchObject({ type: "response_ok", response: { type: "execute", result: { affected_row_count: 1 } } });
    const batch = byId.get(5).response.result;
    expect(batch.step_results[0].rows).toEqual([[{ type: "integer", value: "42" }]]);
    expect(batch.step_errors[1]).toMatchObject({ code: "SQLITE_ERROR" });
    const fetched = byId.get(7).response;
    expect(fetched.done).toBe(true);
    expect(fetched.entries.map((e: any) => e.type)).toEqual(["step_begin", "row", "step_end"]);
    expect(byId.get(9)).toMatchObject({ type: "response_ok", response: { type: "close_stream" } });
    expect(host.open_).toBe(0);
    expect(transport.closed).toBeUndefined();
  });

  it("refuses a request before hello with close code 1008, and a wrong frame type with 1003", () => {
    const first = new MemoryTransport("hrana3");
    connection = new HranaWsConnection(first, poolHost(), LIMITS, console);
    receive(connection, request(1, { type: "open_stream", stream_id: 1 }));
    expect(first.closed?.code).toBe(1008);
    const second = new MemoryTransport("hrana3");
    const other = new HranaWsConnection(second, poolHost(), LIMITS, console);
    other.receive(Buffer.from(JSON.stringify({ type: "hello", jwt: null })), true);
    expect(second.closed?.code).toBe(1003);
  });

  it("bounds stored SQL per connection with SQL_STORE_TOO_LARGE, and gives the bytes back to the pool", async () => {
    const transport = new MemoryTransport("hrana3");
    const buffered = new ByteBudget(1024 * 1024);
    connection = new HranaWsConnection(transport, poolHost(buffered), LIMITS, console);
    receive(connection, JSON.stringify({ type: "hello", jwt: null }));
    receive(connection, request(1, { type: "store_sql", sql_id: 1, sql: `SELECT '${"x".repeat(600)}'` }));
    receive(connection, request(2, { type: "store_sql", sql_id: 2, sql: `SELECT '${"y".repeat(600)}'` }));
    receive(connection, request(3, { type: "close_sql", sql_id: 1 }));
    receive(connection, request(4, { type: "store_sql", sql_id: 2, sql: `SELECT '${"y".repeat(600)}'` }));
    await transport.until(5);
    expect(transport.sent.slice(1).map((m) => m.error?.code ?? m.response.type)).toEqual(["store_sql", "SQL_STORE_TOO_LARGE", "close_sql", "store_sql"]);
    expect(buffered.used).toBeGreaterThan(600);
    await connection.dispose();
    expect(buffered.used).toBe(0);
  });

  it("applies backpressure: past the bound it stops reading and runs no queued request until the client reads", async () => {
    const transport = new MemoryTransport("hrana3");
    connection = new HranaWsConnection(transport, poolHost(), { ...LIMITS, maxSocketBufferedBytes: 4096 }, console);
    receive(connection, JSON.stringify({ type: "hello", jwt: null }));
    receive(connection, request(1, { type: "open_stream", stream_id: 1 }));
    await transport.until(2);
    // The client stops reading: 10 000 bytes sit unsent.
    transport.unsent = 10_000;
    for (let id = 10; id < 20; id++) receive(connection, request(id, { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(transport.paused).toBe(true);
    expect(transport.sent).toHaveLength(2); // nothing ran meanwhile
    transport.drain();
    await transport.until(12);
    expect(transport.sent.slice(2).every((m) => m.type === "response_ok")).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(transport.paused).toBe(false);
  });

  it("keeps reading a light socket while the server's pool is exhausted: its statements get SERVER_OVERLOADED, then run once there is room", async () => {
    const transport = new MemoryTransport("hrana3");
    const buffered = new ByteBudget(1024 * 1024);
    connection = new HranaWsConnection(transport, poolHost(buffered), LIMITS, console);
    receive(connection, JSON.stringify({ type: "hello", jwt: null }));
    receive(connection, request(1, { type: "open_stream", stream_id: 1 }));
    await transport.until(2);
    buffered.take(1024 * 1024); // others hold the whole pool
    receive(connection, request(2, { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } }));
    await transport.until(3);
    expect(transport.paused).toBe(false);
    expect(transport.sent[2]).toMatchObject({ type: "response_error", error: { code: "SERVER_OVERLOADED" } });
    buffered.give(1024 * 1024);
    receive(connection, request(3, { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } }));
    await transport.until(4);
    expect(transport.sent[3]).toMatchObject({ type: "response_ok" });
  });

  it("closes a connection whose client reads nothing for sendTimeoutMs (1008) and ends its streams", async () => {
    const transport = new MemoryTransport("hrana3");
    const host = poolHost();
    connection = new HranaWsConnection(transport, host, { ...LIMITS, maxSocketBufferedBytes: 1024, sendTimeoutMs: 200 }, { error: () => undefined, warn: () => undefined });
    receive(connection, JSON.stringify({ type: "hello", jwt: null }));
    receive(connection, request(1, { type: "open_stream", stream_id: 1 }));
    await transport.until(2);
    transport.unsent = 5000;
    receive(connection, request(2, { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(transport.closed?.code).toBe(1008);
    await connection.dispose();
    expect(host.open_).toBe(0);
  });
});
