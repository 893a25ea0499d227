import { readFileSync } from "node:fs";
import { join } from "node:path";
import { json as serverJson } from "@hranad/hrana-protocol";
import { json, protobuf, type Batch, type ClientMsg, type CursorReqBody, type PipelineReqBody } from "@hranad/hrana-protocol/client";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** A valid request body and where it goes. */
export interface Seed {
  readonly path: string;
  readonly body: Uint8Array;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The request bodies of the captured HTTP trace (`>>> POST /path` then the body line). */
export function traceHttpSeeds(): Seed[] {
  const lines = readFileSync(join(FIXTURES, "http-v2.txt"), "utf8").split("\n");
  const seeds: Seed[] = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const match = /^>>> POST (\S+)/.exec(lines[i]!);
    if (match && lines[i + 1]!.startsWith("{")) seeds.push({ path: match[1]!, body: utf8(lines[i + 1]!) });
  }
  return seeds;
}

/** The client frames of the captured WebSocket trace (`C> {...}`). */
export function traceWsFrames(): string[] {
  return readFileSync(join(FIXTURES, "ws-v2.txt"), "utf8")
    .split("\n")
    .filter((line) => line.startsWith("C> "))
    .map((line) => line.slice(3));
}

const blob = new Uint8Array([0, 1, 2, 0xff]);

const batch: Batch = {
  steps: [
    { stmt: { sql: "BEGIN" } },
    { condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT ?, ?, ?, ?, ?", args: [1n, 1.5, "text", blob, null] } },
    { condition: { type: "and", conds: [{ type: "ok", step: 1 }, { type: "not", cond: { type: "error", step: 0 } }] }, stmt: { sql: "SELECT :a", namedArgs: [{ name: "a", value: -9007199254740993n }] } },
    { condition: { type: "or", conds: [{ type: "error", step: 2 }, { type: "is_autocommit" }] }, stmt: { sql: "SELECT * FROM sqlite_master", wantRows: false } },
    { condition: { type: "not", cond: { type: "is_autocommit" } }, stmt: { sql: "ROLLBACK" } },
  ],
};

/** Hrana 3 pipeline bodies built with the protocol package's types (every request type, both encodings). */
export function pipelineBodies(): PipelineReqBody[] {
  return [
    { baton: null, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] },
    {
      baton: null,
      requests: [
        { type: "store_sql", sqlId: 7, sql: "SELECT ?1 + 1" },
        { type: "execute", stmt: { sqlId: 7, args: [41n] } },
        { type: "batch", batch },
        { type: "describe", sql: "SELECT :x, 1 AS one" },
        { type: "sequence", sql: "SELECT 1; SELECT 2;" },
        { type: "get_autocommit" },
        { type: "close_sql", sqlId: 7 },
        { type: "close" },
      ],
    },
    { baton: null, requests: [{ type: "execute", stmt: { sql: "BEGIN IMMEDIATE" } }, { type: "execute", stmt: { sql: "CREATE TABLE IF NOT EXISTS fuzz(a, b)" } }, { type: "execute", stmt: { sql: "INSERT INTO fuzz VALUES (?, ?)", args: ["x", blob] } }, { type: "execute", stmt: { sql: "COMMIT" } }, { type: "close" }] },
    { baton: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", requests: [{ type: "get_autocommit" }] },
    { baton: null, requests: [] },
  ];
}

export function cursorBodies(): CursorReqBody[] {
  return [
    { baton: null, batch },
    // Rows without a number a mutation could turn into a billion (long statements are the isolation suite's job).
    { baton: null, batch: { steps: [{ stmt: { sql: "SELECT a.column1 * b.column1 FROM (VALUES (1), (2), (3)) a, (VALUES (4), (5)) b" } }] } },
    { baton: null, batch: { steps: [] } },
  ];
}

export function clientMessages(): ClientMsg[] {
  return [
    { type: "hello", jwt: null },
    { type: "hello", jwt: "a.b.c" },
    { type: "request", requestId: 1, request: { type: "open_stream", streamId: 1 } },
    { type: "request", requestId: 2, request: { type: "store_sql", sqlId: 1, sql: "SELECT ?" } },
    { type: "request", requestId: 3, request: { type: "execute", streamId: 1, stmt: { sqlId: 1, args: ["x"] } } },
    { type: "request", requestId: 4, request: { type: "batch", streamId: 1, batch } },
    { type: "request", requestId: 5, request: { type: "open_cursor", streamId: 1, cursorId: 9, batch } },
    { type: "request", requestId: 6, request: { type: "fetch_cursor", cursorId: 9, maxCount: 1000 } },
    { type: "request", requestId: 7, request: { type: "close_cursor", cursorId: 9 } },
    { type: "request", requestId: 8, request: { type: "sequence", streamId: 1, sql: "SELECT 1; SELECT 2" } },
    { type: "request", requestId: 9, request: { type: "describe", streamId: 1, sql: "SELECT 1" } },
    { type: "request", requestId: 10, request: { type: "get_autocommit", streamId: 1 } },
    { type: "request", requestId: 11, request: { type: "close_sql", sqlId: 1 } },
    { type: "request", requestId: 12, request: { type: "close_stream", streamId: 1 } },
  ];
}

/** Every valid HTTP body the suites mutate, JSON and protobuf, pipelines and cursors. */
export function httpSeeds(): { json: Seed[]; protobuf: Seed[] } {
  const jsonSeeds = [...traceHttpSeeds()];
  const protobufSeeds: Seed[] = [];
  for (const body of pipelineBodies()) {
    jsonSeeds.push({ path: "/v3/pipeline", body: utf8(json.encodePipelineReqBody(body)) });
    protobufSeeds.push({ path: "/v3-protobuf/pipeline", body: protobuf.encodePipelineReqBody(body) });
  }
  // The trace's v2 bodies re-encoded as protobuf: the same requests on the other codec.
  for (const seed of traceHttpSeeds()) {
    protobufSeeds.push({ path: "/v3-protobuf/pipeline", body: protobuf.encodePipelineReqBody(serverJson.decodePipelineReqBody(seed.body, 2)) });
  }
  for (const body of cursorBodies()) {
    jsonSeeds.push({ path: "/v3/cursor", body: utf8(json.encodeCursorReqBody(body)) });
    protobufSeeds.push({ path: "/v3-protobuf/cursor", body: protobuf.encodeCursorReqBody(body) });
  }
  return { json: jsonSeeds, protobuf: protobufSeeds };
}
