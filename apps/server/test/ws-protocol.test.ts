import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { maxStreamsPerSocket: 2 } });
});
afterAll(async () => {
  await server?.close();
});

/** A raw Hrana WebSocket peer that records every message and the close. */
async function connect(protocols: string[] | undefined, path = "/") {
  const socket = new WebSocket(server.wsUrl + path, protocols);
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data, isBinary) => {
    messages.push(isBinary ? data : JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  const request = (id: number, request: unknown) => send({ type: "request", request_id: id, request });
  /** Waits until `count` messages have arrived. */
  const received = async (count: number) => {
    while (messages.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return messages;
  };
  return { socket, messages, closed, send, request, received };
}

const byId = (messages: any[], id: number) => messages.find((m) => m.request_id === id);

describe("Hrana over WebSocket", () => {
  it("negotiates the subprotocol by server preference", async () => {
    for (const [offered, chosen] of [
      [["hrana2", "hrana1"], "hrana2"],
      [["hrana1", "hrana3"], "hrana3"],
      [["hrana3", "hrana3-protobuf"], "hrana3-protobuf"],
      [["HRANA2"], "HRANA2"],
    ] as const) {
      const peer = await connect([...offered]);
      expect(peer.socket.protocol).toBe(chosen);
      peer.socket.close();
    }
    const none = await connect(undefined);
    expect(none.socket.protocol).toBe("");
    none.socket.close();
  });

  it("refuses an upgrade with no supported subprotocol, and an unknown database, with plain HTTP errors", async () => {
    await expect(connect(["graphql-ws"])).rejects.toThrow(/400/);
    await expect(connect(["hrana2"], "/nope")).rejects.toThrow(/404/);
  });

  it("answers pipelined requests sent before hello_ok, and shares stored SQL across streams", async () => {
    const peer = await connect(["hrana2"]);
    peer.send({ type: "hello" });
    peer.request(0, { type: "open_stream", stream_id: 0 });
    peer.request(1, { type: "store_sql", sql_id: 7, sql: "SELECT 40 + ?" });
    peer.request(2, { type: "execute", stream_id: 0, stmt: { sql_id: 7, args: [{ type: "integer", value: "2" }] } });
    peer.request(3, { type: "close_stream", stream_id: 0 });
    peer.request(4, { type: "open_stream", stream_id: 0 });
    peer.request(5, { type: "execute", stream_id: 0, stmt: { sql_id: 7, args: [{ type: "integer", value: "3" }] } });
    peer.request(6, { type: "close_sql", sql_id: 7 });
    const messages = await peer.received(8);
    expect(messages[0]).toEqual({ type: "hello_ok" });
    expect(byId(messages, 2).response.result.rows).toEqual([[{ type: "integer", value: "42" }]]);
    expect(byId(messages, 5).response.result.rows).toEqual([[{ type: "integer", value: "43" }]]);
    expect(byId(messages, 6).type).toBe("response_ok");
    peer.socket.close();
  });

  it("runs requests on one stream in order and streams concurrently", async () => {
    const peer = await connect(["hrana3"]);
    peer.send({ type: "hello" });
    peer.request(1, { type: "open_stream", stream_id: 1 });
    peer.request(2, { type: "open_stream", stream_id: 2 });
    peer.request(3, { type: "execute", stream_id: 1, stmt: { sql: "CREATE TABLE IF NOT EXISTS ws_order (x)" } });
    // The table exists before stream 2 reads it: streams run concurrently, so nothing else orders them.
    await peer.received(4);
    peer.request(4, { type: "execute", stream_id: 1, stmt: { sql: "BEGIN" } });
    peer.request(5, { type: "execute", stream_id: 1, stmt: { sql: "INSERT INTO ws_order VALUES (1)" } });
    peer.request(6, { type: "get_autocommit", stream_id: 1 });
    peer.request(7, { type: "execute", stream_id: 2, stmt: { sql: "SELECT count(*) FROM ws_order" } });
    // A third stream is over the per-socket cap of 2.
    peer.request(8, { type: "open_stream", stream_id: 3 });
    const messages = await peer.received(9);
    expect(byId(messages, 6).response.is_autocommit).toBe(false);
    expect(byId(messages, 7).response.result.rows[0][0].value).toBe("0");
    expect(byId(messages, 8)).toMatchObject({ type: "response_error", error: { code: "TOO_MANY_STREAMS" } });
    // Each stream is a session of the store.
    expect(server.server.store.list((db) => db === "default").length).toBeGreaterThanOrEqual(2);
    peer.socket.close();
    await peer.closed;
  });

  it("rolls back a stream's transaction when the socket goes away", async () => {
    const peer = await connect(["hrana2"]);
    peer.send({ type: "hello" });
    peer.request(1, { type: "open_stream", stream_id: 1 });
    peer.request(2, { type: "execute", stream_id: 1, stmt: { sql: "CREATE TABLE IF NOT EXISTS ws_gone (x)" } });
    peer.request(3, { type: "execute", stream_id: 1, stmt: { sql: "BEGIN IMMEDIATE" } });
    peer.request(4, { type: "execute", stream_id: 1, stmt: { sql: "INSERT INTO ws_gone VALUES (1)" } });
    await peer.received(5);
    peer.socket.terminate();
    const other = await connect(["hrana2"]);
    other.send({ type: "hello" });
    other.request(1, { type: "open_stream", stream_id: 1 });
    // BEGIN IMMEDIATE succeeds only once the dead socket's write lock is gone.
    other.request(2, { type: "execute", stream_id: 1, stmt: { sql: "BEGIN IMMEDIATE" } });
    other.request(3, { type: "execute", stream_id: 1, stmt: { sql: "SELECT count(*) FROM ws_gone" } });
    other.request(4, { type: "execute", stream_id: 1, stmt: { sql: "COMMIT" } });
    const messages = await other.received(5);
    expect(byId(messages, 2).type).toBe("response_ok");
    expect(byId(messages, 3).response.result.rows[0][0].value).toBe("0");
    other.socket.close();
  });

  it("closes with 1003 on a wrong frame type and with a policy code on a request before hello", async () => {
    const binary = await connect(["hrana2"]);
    binary.socket.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(1003);
    const early = await connect(["hrana2"]);
    early.request(1, { type: "open_stream", stream_id: 1 });
    expect((await early.closed).code).toBe(1008);
    const garbage = await connect(["hrana2"]);
    garbage.socket.send("{not json");
    expect((await garbage.closed).code).toBe(1007);
    const v3only = await connect(["hrana2"]);
    v3only.send({ type: "hello" });
    v3only.request(1, { type: "get_autocommit", stream_id: 1 });
    const closed = await v3only.closed;
    expect(closed.code).toBe(1007);
    expect(closed.reason).toMatch(/get_autocommit/);
  });

  it("answers pings with pongs", async () => {
    const peer = await connect(["hrana2"]);
    const pong = new Promise<Buffer>((resolve) => peer.socket.once("pong", resolve));
    peer.socket.ping(Buffer.from("hi"));
    expect((await pong).toString()).toBe("hi");
    peer.socket.close();
  });
});
