import { describe, expect, test } from "vitest";
import { MAX_CONDITION_DEPTH, ProtocolError, protobuf, type ProtocolErrorCode } from "../src/index.js";
import { protobuf as clientProtobuf } from "../src/client.js";
import type { BatchCond, ClientMsg, CursorEntry, PipelineReqBody, PipelineRespBody, ServerMsg, Stmt, StmtResult, Value } from "../src/index.js";

/** Bytes from a hex string with optional spaces; the expectations below were computed by hand from the schema. */
function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return new Uint8Array(clean.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function rejects(run: () => unknown, code: ProtocolErrorCode, message?: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
  if (message) expect((thrown as ProtocolError).message).toMatch(message);
}

const stmt = (s: Stmt): Required<Stmt> => ({ sql: null, sqlId: null, args: [], namedArgs: [], wantRows: true, ...s });

/** A one-statement execute pipeline, to put a Value or Stmt on the wire. */
function executeBody(s: Stmt): PipelineReqBody {
  return { baton: null, requests: [{ type: "execute", stmt: s }] };
}

function argOf(body: PipelineReqBody): Value {
  const request = body.requests[0];
  if (request?.type !== "execute") throw new Error("not execute");
  return request.stmt.args![0] as Value;
}

describe("hand-computed encodings", () => {
  test("a pipeline request [execute SELECT 1, close]", () => {
    const body: PipelineReqBody = {
      baton: null,
      requests: [{ type: "execute", stmt: { sql: "SELECT 1", wantRows: true } }, { type: "close" }],
    };
    const bytes = hex("12 10 12 0e 0a 0c 0a 08 53 45 4c 45 43 54 20 31 28 01 12 02 0a 00");
    expect(toHex(clientProtobuf.encodePipelineReqBody(body))).toBe(toHex(bytes));
    expect(protobuf.decodePipelineReqBody(bytes)).toEqual({
      baton: null,
      requests: [{ type: "execute", stmt: stmt({ sql: "SELECT 1" }) }, { type: "close" }],
    });
  });

  test("a pipeline response with a statement result: last_insert_rowid 0 is written (optional), affected 0 is not", () => {
    const result: StmtResult = { cols: [{ name: "1", decltype: null }], rows: [[1n]], affectedRowCount: 0, lastInsertRowid: 0n };
    const body: PipelineRespBody = { baton: "b", baseUrl: null, results: [{ type: "ok", response: { type: "execute", result } }] };
    const bytes = hex("0a 01 62 1a 13 0a 11 12 0f 0a 0d 0a 03 0a 01 31 12 04 0a 02 10 02 20 00");
    expect(toHex(protobuf.encodePipelineRespBody(body))).toBe(toHex(bytes));
    expect(clientProtobuf.decodePipelineRespBody(bytes)).toEqual(body);
  });

  test("values: null is an empty sub-message, integers zigzag, floats fixed64", () => {
    const cases: [Value, string][] = [
      [null, "0a 00"],
      [1n, "10 02"],
      [-1n, "10 01"],
      [150n, "10 ac 02"],
      [9223372036854775807n, "10 fe ff ff ff ff ff ff ff ff 01"],
      [-9223372036854775808n, "10 ff ff ff ff ff ff ff ff ff 01"],
      [4503599627370496n, "10 80 80 80 80 80 80 80 10"], // 2^52: the first value on the bigint path
      [1.5, "19 00 00 00 00 00 00 f8 3f"],
      ["hi", "22 02 68 69"],
      [new Uint8Array([1, 2]), "2a 02 01 02"],
    ];
    for (const [value, valueHex] of cases) {
      const valueBytes = hex(valueHex);
      // Stmt { sql_id = 0 (optional, so written), args = [value] }, with want_rows left out.
      const stmtBytes = [0x10, 0x00, 0x1a, valueBytes.length, ...valueBytes];
      const execute = [0x0a, stmtBytes.length, ...stmtBytes];
      const request = [0x12, execute.length, ...execute];
      const body = new Uint8Array([0x12, request.length, ...request]);
      expect(toHex(clientProtobuf.encodePipelineReqBody(executeBody({ sqlId: 0, args: [value] })))).toBe(toHex(body));
      expect(argOf(protobuf.decodePipelineReqBody(body))).toEqual(value);
    }
  });

  test("a batch result is two maps that hold only executed steps", () => {
    const msg: ServerMsg = {
      type: "response_ok",
      requestId: 7,
      response: {
        type: "batch",
        result: {
          stepResults: [{ cols: [], rows: [], affectedRowCount: 1, lastInsertRowid: 1n }, null],
          stepErrors: [null, { message: "e", code: "C" }],
        },
      },
    };
    const bytes = hex("1a 1c 08 07 2a 18 0a 16 0a 08 08 00 12 04 18 01 20 02 12 0a 08 01 12 06 0a 01 65 12 01 43");
    expect(toHex(protobuf.encodeServerMsg(msg))).toBe(toHex(bytes));
    expect(clientProtobuf.decodeServerMsg(bytes)).toEqual(msg);
  });

  test("cursor parts are length-delimited", () => {
    expect(toHex(protobuf.encodeCursorRespDelimited({ baton: "b", baseUrl: null }))).toBe("03 0a 01 62");
    const entries: [CursorEntry, string][] = [
      [{ type: "step_begin", step: 0, cols: [{ name: "a", decltype: "INT" }] }, "0c 0a 0a 12 08 0a 01 61 12 03 49 4e 54"],
      [{ type: "row", row: [null] }, "06 22 04 0a 02 0a 00"],
      [{ type: "step_end", affectedRowCount: 0, lastInsertRowid: 0n }, "04 12 02 10 00"],
      [{ type: "step_end", affectedRowCount: 2, lastInsertRowid: null }, "04 12 02 08 02"],
      [{ type: "step_error", step: 1, error: { message: "e", code: null } }, "09 1a 07 08 01 12 03 0a 01 65"],
      [{ type: "error", error: { message: "e", code: "X" } }, "08 2a 06 0a 01 65 12 01 58"],
    ];
    const stream: number[] = [0x03, 0x0a, 0x01, 0x62];
    for (const [entry, entryHex] of entries) {
      expect(toHex(protobuf.encodeCursorEntryDelimited(entry))).toBe(entryHex);
      stream.push(...hex(entryHex));
    }
    expect(clientProtobuf.decodeCursorRespStream(new Uint8Array(stream))).toEqual({
      body: { baton: "b", baseUrl: null },
      entries: entries.map(([entry]) => entry),
    });
  });

  test("WebSocket client messages, with a negative request id as a 10-byte varint", () => {
    const cases: [ClientMsg, string][] = [
      [{ type: "hello", jwt: null }, "0a 00"],
      [{ type: "hello", jwt: "t" }, "0a 03 0a 01 74"],
      [{ type: "request", requestId: 0, request: { type: "open_stream", streamId: 0 } }, "12 02 12 00"],
      [
        { type: "request", requestId: -1, request: { type: "close_sql", sqlId: 5 } },
        "12 0f 08 ff ff ff ff ff ff ff ff ff 01 62 02 08 05",
      ],
      [{ type: "request", requestId: 1, request: { type: "get_autocommit", streamId: 2 } }, "12 06 08 01 6a 02 08 02"],
      [{ type: "request", requestId: 1, request: { type: "fetch_cursor", cursorId: 3, maxCount: 1000 } }, "12 09 08 01 42 05 08 03 10 e8 07"],
    ];
    for (const [msg, msgHex] of cases) {
      expect(toHex(clientProtobuf.encodeClientMsg(msg))).toBe(msgHex);
      expect(protobuf.decodeClientMsg(hex(msgHex))).toEqual(msg);
    }
  });

  test("WebSocket server messages", () => {
    expect(toHex(protobuf.encodeServerMsg({ type: "hello_ok" }))).toBe("0a 00");
    expect(toHex(protobuf.encodeServerMsg({ type: "response_ok", requestId: 1, response: { type: "open_stream" } }))).toBe("1a 04 08 01 12 00");
    expect(toHex(protobuf.encodeServerMsg({ type: "response_ok", requestId: 1, response: { type: "get_autocommit", isAutocommit: true } }))).toBe(
      "1a 06 08 01 6a 02 08 01",
    );
    expect(toHex(protobuf.encodeServerMsg({ type: "response_error", requestId: 2, error: { message: "m", code: "C" } }))).toBe(
      "22 0a 08 02 12 06 0a 01 6d 12 01 43",
    );
  });

  test("conditions: oneof members are written even when zero; is_autocommit is an empty message", () => {
    const conds: [BatchCond, string][] = [
      [{ type: "ok", step: 0 }, "08 00"],
      [{ type: "error", step: 1 }, "10 01"],
      [{ type: "is_autocommit" }, "32 00"],
      [{ type: "not", cond: { type: "is_autocommit" } }, "1a 02 32 00"],
      [{ type: "and", conds: [{ type: "ok", step: 0 }] }, "22 04 0a 02 08 00"],
      [{ type: "or", conds: [] }, "2a 00"],
    ];
    for (const [cond, condHex] of conds) {
      const condBytes = hex(condHex);
      // CursorReqBody { batch = { steps = [ {stmt sql ""}, { condition, stmt { sql "" } } ] } }
      const step0 = [0x12, 0x02, 0x0a, 0x00];
      const step1 = [0x0a, condBytes.length, ...condBytes, 0x12, 0x02, 0x0a, 0x00];
      const batch = [0x0a, step0.length, ...step0, 0x0a, step1.length, ...step1];
      const body = new Uint8Array([0x12, batch.length, ...batch]);
      const decoded = {
        baton: null,
        batch: {
          steps: [
            { condition: null, stmt: stmt({ sql: "" }) },
            { condition: cond, stmt: stmt({ sql: "" }) },
          ],
        },
      };
      expect(toHex(clientProtobuf.encodeCursorReqBody({ baton: null, batch: { steps: [{ stmt: { sql: "" } }, { condition: cond, stmt: { sql: "" } }] } }))).toBe(
        toHex(body),
      );
      expect(protobuf.decodeCursorReqBody(body)).toEqual(decoded);
    }
  });

  test("an Error alone (HTTP error bodies)", () => {
    const bytes = protobuf.encodeError({ message: "The stream has expired due to inactivity", code: "STREAM_EXPIRED" });
    expect(bytes[0]).toBe(0x0a);
    expect(clientProtobuf.decodeError(bytes)).toEqual({ message: "The stream has expired due to inactivity", code: "STREAM_EXPIRED" });
  });
});

describe("round trips", () => {
  const stmts: Stmt[] = [
    { sql: "SELECT ?, :a", args: [1n, 2.5, "x", null, new Uint8Array([7])], namedArgs: [{ name: ":a", value: -3n }], wantRows: false },
    { sqlId: -7, args: [], namedArgs: [], wantRows: true },
    { sql: "é".repeat(200), args: ["ü".repeat(1000)], namedArgs: [], wantRows: true },
  ];

  test("every HTTP stream request", () => {
    const body: PipelineReqBody = {
      baton: "baton",
      requests: [
        ...stmts.map((s) => ({ type: "execute" as const, stmt: s })),
        {
          type: "batch",
          batch: {
            steps: [
              { condition: null, stmt: stmts[0]! },
              { condition: { type: "or", conds: [{ type: "ok", step: 0 }, { type: "not", cond: { type: "is_autocommit" } }] }, stmt: stmts[1]! },
            ],
          },
        },
        { type: "sequence", sql: "SELECT 1; SELECT 2", sqlId: null },
        { type: "describe", sql: null, sqlId: 0 },
        { type: "store_sql", sqlId: 2147483647, sql: "SELECT 1" },
        { type: "close_sql", sqlId: -2147483648 },
        { type: "get_autocommit" },
        { type: "close" },
      ],
    };
    const decoded = protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(body));
    expect(decoded.baton).toBe("baton");
    expect(decoded.requests).toHaveLength(body.requests.length);
    expect(decoded.requests[0]).toEqual({ type: "execute", stmt: stmt(stmts[0]!) });
    expect(decoded.requests.slice(3)).toEqual([
      {
        type: "batch",
        batch: {
          steps: [
            { condition: null, stmt: stmt(stmts[0]!) },
            { condition: body.requests[3]!.type === "batch" ? body.requests[3]!.batch.steps[1]!.condition : null, stmt: stmt(stmts[1]!) },
          ],
        },
      },
      ...body.requests.slice(4),
    ]);
    expect(decoded.requests[2]).toEqual({ type: "execute", stmt: stmt(stmts[2]!) });
  });

  test("every HTTP stream response, with results large enough to widen length prefixes", () => {
    const rows: Value[][] = Array.from({ length: 3000 }, (_, i) => [BigInt(i), `row ${i}`, i / 3, i % 7 === 0 ? null : new Uint8Array([i & 255])]);
    const big: StmtResult = { cols: [{ name: "a", decltype: "INTEGER" }, { name: null, decltype: null }, { name: "c", decltype: null }, { name: "d", decltype: "BLOB" }], rows, affectedRowCount: 2 ** 40, lastInsertRowid: -5n };
    const body: PipelineRespBody = {
      baton: null,
      baseUrl: "https://example.test/",
      results: [
        { type: "ok", response: { type: "execute", result: big } },
        { type: "ok", response: { type: "batch", result: { stepResults: [big, null, null], stepErrors: [null, { message: "x", code: null }, null] } } },
        { type: "ok", response: { type: "describe", result: { params: [{ name: null }, { name: "?2" }], cols: [{ name: "x", decltype: null }], isExplain: true, isReadonly: false } } },
        { type: "ok", response: { type: "get_autocommit", isAutocommit: false } },
        { type: "ok", response: { type: "sequence" } },
        { type: "ok", response: { type: "store_sql" } },
        { type: "ok", response: { type: "close_sql" } },
        { type: "ok", response: { type: "close" } },
        { type: "error", error: { message: "boom", code: "SQLITE_ERROR" } },
      ],
    };
    const decoded = clientProtobuf.decodePipelineRespBody(protobuf.encodePipelineRespBody(body));
    // A protobuf BatchResult carries no step count: trailing skipped steps are not on the wire.
    const expected = structuredClone(body) as unknown as { results: { type: string; response?: { type: string; result?: { stepResults: unknown[]; stepErrors: unknown[] } } }[] };
    const batchResult = expected.results[1]!.response!.result!;
    batchResult.stepResults.length = 2;
    batchResult.stepErrors.length = 2;
    expect(decoded).toEqual(expected);
  });

  test("every WebSocket request and response", () => {
    const requests: ClientMsg[] = [
      { type: "request", requestId: 1, request: { type: "open_stream", streamId: 1 } },
      { type: "request", requestId: 2, request: { type: "close_stream", streamId: 1 } },
      { type: "request", requestId: 3, request: { type: "execute", streamId: 1, stmt: stmt(stmts[0]!) } },
      { type: "request", requestId: 4, request: { type: "batch", streamId: 1, batch: { steps: [{ condition: null, stmt: stmt(stmts[1]!) }] } } },
      { type: "request", requestId: 5, request: { type: "open_cursor", streamId: 1, cursorId: 9, batch: { steps: [] } } },
      { type: "request", requestId: 6, request: { type: "close_cursor", cursorId: 9 } },
      { type: "request", requestId: 7, request: { type: "fetch_cursor", cursorId: 9, maxCount: 4294967295 } },
      { type: "request", requestId: 8, request: { type: "sequence", streamId: 1, sql: "SELECT 1", sqlId: null } },
      { type: "request", requestId: 9, request: { type: "describe", streamId: 1, sql: null, sqlId: 3 } },
      { type: "request", requestId: 10, request: { type: "store_sql", sqlId: 3, sql: "SELECT 1" } },
      { type: "request", requestId: 11, request: { type: "close_sql", sqlId: 3 } },
      { type: "request", requestId: 12, request: { type: "get_autocommit", streamId: 1 } },
      { type: "hello", jwt: "eyJ" },
    ];
    for (const msg of requests) expect(protobuf.decodeClientMsg(clientProtobuf.encodeClientMsg(msg))).toEqual(msg);

    const responses: ServerMsg[] = [
      ...(["open_stream", "close_stream", "open_cursor", "close_cursor", "sequence", "store_sql", "close_sql"] as const).map(
        (type, i): ServerMsg => ({ type: "response_ok", requestId: i, response: { type } }),
      ),
      { type: "response_ok", requestId: 20, response: { type: "execute", result: { cols: [], rows: [[1n]], affectedRowCount: 0, lastInsertRowid: null } } },
      { type: "response_ok", requestId: 21, response: { type: "batch", result: { stepResults: [], stepErrors: [] } } },
      { type: "response_ok", requestId: 22, response: { type: "describe", result: { params: [], cols: [], isExplain: false, isReadonly: true } } },
      { type: "response_ok", requestId: 23, response: { type: "get_autocommit", isAutocommit: true } },
      {
        type: "response_ok",
        requestId: 24,
        response: {
          type: "fetch_cursor",
          entries: [
            { type: "step_begin", step: 3, cols: [{ name: "a", decltype: null }] },
            { type: "row", row: ["x", 2n] },
            { type: "step_end", affectedRowCount: 0, lastInsertRowid: 123456789012345n },
            { type: "step_error", step: 4, error: { message: "m", code: "SQLITE_CONSTRAINT" } },
            { type: "error", error: { message: "m", code: null } },
          ],
          done: true,
        },
      },
      { type: "response_error", requestId: -5, error: { message: "m", code: "STREAM_NOT_OPEN" } },
      { type: "hello_ok" },
      { type: "hello_error", error: { message: "Authentication failed", code: "AUTH_JWT_INVALID" } },
    ];
    for (const msg of responses) expect(clientProtobuf.decodeServerMsg(protobuf.encodeServerMsg(msg))).toEqual(msg);
  });

  test("floats keep their bits, including ±Infinity, NaN and -0", () => {
    for (const value of [Infinity, -Infinity, NaN, -0, 0, Number.MIN_VALUE, Number.MAX_VALUE, 0.1]) {
      expect(Object.is(argOf(protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(executeBody({ sql: "x", args: [value] })))), value)).toBe(true);
    }
  });

  test("integers across the whole signed 64-bit range", () => {
    const values = [0n, 1n, -1n, 2n ** 31n, -(2n ** 31n), 2n ** 52n - 1n, -(2n ** 52n), 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const value of values) {
      expect(argOf(protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(executeBody({ sql: "x", args: [value] }))))).toBe(value);
    }
  });
});

describe("strictness", () => {
  test("a truncated message is refused", () => {
    const bytes = clientProtobuf.encodePipelineReqBody(executeBody({ sql: "SELECT 1", args: [1n] }));
    for (let length = 1; length < bytes.length; length++) {
      // Every cut lands inside the one length-delimited request, so every prefix is malformed.
      rejects(() => protobuf.decodePipelineReqBody(bytes.subarray(0, length)), "PROTO_INVALID_PROTOBUF");
    }
  });

  test("a known field with the wrong wire type is refused", () => {
    // execute { stmt { field 1 (sql) as a varint } }
    rejects(() => protobuf.decodePipelineReqBody(hex("12 06 12 04 0a 02 08 01")), "PROTO_INVALID_PROTOBUF", /Stmt field 1 has wire type 0/);
    // baton as a varint
    rejects(() => protobuf.decodePipelineReqBody(hex("08 01")), "PROTO_INVALID_PROTOBUF", /PipelineReqBody field 1/);
  });

  test("over-long varints, lengths past the end, groups, field 0 and bad wire types are refused", () => {
    rejects(() => protobuf.decodeClientMsg(hex("12 0d 08 80 80 80 80 80 80 80 80 80 80 00 12 00")), "PROTO_INVALID_PROTOBUF", /varint/);
    rejects(() => protobuf.decodeClientMsg(hex("12 0d 08 ff ff ff ff ff ff ff ff ff 02 12 00")), "PROTO_INVALID_PROTOBUF", /64 bits/);
    rejects(() => protobuf.decodePipelineReqBody(hex("12 05 0a 00")), "PROTO_INVALID_PROTOBUF", /past the end/);
    rejects(() => protobuf.decodePipelineReqBody(hex("12 ff ff ff ff 0f")), "PROTO_INVALID_PROTOBUF", /past the end/);
    rejects(() => protobuf.decodePipelineReqBody(hex("7b 7c")), "PROTO_INVALID_PROTOBUF", /groups/); // field 15, start group
    rejects(() => protobuf.decodePipelineReqBody(hex("00")), "PROTO_INVALID_PROTOBUF", /field number 0/);
    rejects(() => protobuf.decodePipelineReqBody(hex("7e 00")), "PROTO_INVALID_PROTOBUF", /wire type 6/);
    rejects(() => protobuf.decodePipelineReqBody(hex("79 00 00")), "PROTO_INVALID_PROTOBUF", /fixed64/);
  });

  test("invalid UTF-8 in a string is refused", () => {
    rejects(() => protobuf.decodePipelineReqBody(hex("0a 01 ff")), "PROTO_INVALID_PROTOBUF", /UTF-8/);
    rejects(() => protobuf.decodePipelineReqBody(hex("0a 03 ed a0 80")), "PROTO_INVALID_PROTOBUF", /UTF-8/); // a surrogate
  });

  test("unknown fields of every wire type are skipped (sqld's replication_index among them)", () => {
    const plain = protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(executeBody({ sql: "SELECT 1" })));
    // execute { stmt { sql "SELECT 1"; replication_index(6) = 5; field 20 fixed32; field 21 fixed64; field 22 bytes } }
    const stmtBytes = [...hex("0a 08 53 45 4c 45 43 54 20 31 30 05 a5 01 01 02 03 04 a9 01 01 02 03 04 05 06 07 08 b2 01 02 00 00")];
    const execute = [0x0a, stmtBytes.length, ...stmtBytes];
    const request = [0x12, execute.length, ...execute];
    const body = new Uint8Array([0x12, request.length, ...request, 0xf8, 0x07, 0x01]); // and field 127 at the top
    expect(protobuf.decodePipelineReqBody(body)).toEqual(plain);
  });

  test("a Value without a member, an empty StreamRequest, a Stmt without sql are refused", () => {
    rejects(() => protobuf.decodePipelineReqBody(hex("12 08 12 06 0a 04 10 00 1a 00")), "PROTO_BAD_REQUEST", /Value has none/);
    rejects(() => protobuf.decodePipelineReqBody(hex("12 00")), "PROTO_UNKNOWN_TYPE", /StreamRequest/);
    rejects(() => protobuf.decodePipelineReqBody(hex("12 04 12 02 0a 00")), "PROTO_BAD_REQUEST", /one of `sql` and `sql_id`/);
    rejects(() => protobuf.decodePipelineReqBody(hex("12 02 12 00")), "PROTO_BAD_REQUEST", /stmt/);
    rejects(() => protobuf.decodeClientMsg(hex("")), "PROTO_UNKNOWN_TYPE", /ClientMsg/);
    rejects(() => protobuf.decodeClientMsg(hex("12 02 08 01")), "PROTO_UNKNOWN_TYPE", /RequestMsg.request/);
  });

  test(`conditions nested deeper than ${MAX_CONDITION_DEPTH} are refused, even ten thousand deep`, () => {
    // Built back to front: each level prepends `not` (field 3) and the varint length of what it wraps.
    const nested = (depth: number): number[] => {
      const out: number[] = [0x00, 0x08]; // ok step 0, reversed
      for (let i = 1; i < depth; i++) {
        const length = out.length;
        out.push(...varint(length).reverse(), 0x1a);
      }
      return out.reverse();
    };
    const body = (depth: number): Uint8Array => {
      const cond = nested(depth);
      const step1 = [0x0a, ...varint(cond.length), ...cond, 0x12, 0x02, 0x0a, 0x00];
      const step0 = [0x12, 0x02, 0x0a, 0x00];
      const batch = [0x0a, step0.length, ...step0, 0x0a, ...varint(step1.length), ...step1];
      return new Uint8Array([0x12, ...varint(batch.length), ...batch]);
    };
    expect(() => protobuf.decodeCursorReqBody(body(MAX_CONDITION_DEPTH))).not.toThrow();
    rejects(() => protobuf.decodeCursorReqBody(body(MAX_CONDITION_DEPTH + 1)), "PROTO_NESTING_TOO_DEEP");
    rejects(() => protobuf.decodeCursorReqBody(body(10_000)), "PROTO_NESTING_TOO_DEEP");
  });
});

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}
