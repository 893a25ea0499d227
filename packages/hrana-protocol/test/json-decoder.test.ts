import { describe, expect, test } from "vitest";
import { json, MAX_CONDITION_DEPTH, ProtocolError, type ProtocolErrorCode } from "../src/index.js";
import { json as clientJson } from "../src/client.js";

function pipeline(requests: unknown[], extra: object = {}): string {
  return JSON.stringify({ ...extra, requests });
}

function execute(stmt: object): string {
  return pipeline([{ type: "execute", stmt }]);
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

function firstStmt(body: string, version: 2 | 3 = 2) {
  const request = json.decodePipelineReqBody(body, version).requests[0];
  if (request?.type !== "execute") throw new Error("not an execute request");
  return request.stmt;
}

describe("pipeline bodies", () => {
  test("an absent baton, an explicit null and a string all decode", () => {
    expect(json.decodePipelineReqBody(pipeline([]), 2).baton).toBeNull();
    expect(json.decodePipelineReqBody(pipeline([], { baton: null }), 2).baton).toBeNull();
    expect(json.decodePipelineReqBody(pipeline([], { baton: "abc" }), 2).baton).toBe("abc");
  });

  test("a baton that is not a string is refused, naming the field", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([], { baton: 5 }), 2), "PROTO_BAD_REQUEST", /`baton`.*string/);
  });

  test("requests must be an array", () => {
    rejects(() => json.decodePipelineReqBody(`{"requests":{}}`, 2), "PROTO_BAD_REQUEST", /`requests`: expected an array/);
    rejects(() => json.decodePipelineReqBody(`{}`, 2), "PROTO_BAD_REQUEST", /`requests`.*missing/);
  });

  test("a body that is not JSON, not UTF-8 or not an object is refused", () => {
    rejects(() => json.decodePipelineReqBody("{", 2), "PROTO_INVALID_JSON");
    rejects(() => json.decodePipelineReqBody(new Uint8Array([0x7b, 0xff, 0x7d]), 2), "PROTO_INVALID_JSON", /UTF-8/);
    rejects(() => json.decodePipelineReqBody("[]", 2), "PROTO_BAD_REQUEST", /the message: expected an object, got an array/);
    rejects(() => json.decodePipelineReqBody("null", 2), "PROTO_BAD_REQUEST");
  });

  test("unknown fields are ignored (forward compatibility)", () => {
    const body = json.decodePipelineReqBody(`{"requests":[{"type":"close","extra":1}],"future":{"x":[1]}}`, 2);
    expect(body.requests).toEqual([{ type: "close" }]);
  });

  test("an unknown or missing request type is refused", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "open_stream" }]), 2), "PROTO_UNKNOWN_TYPE", /`requests\[0\]`.*"open_stream"/);
    rejects(() => json.decodePipelineReqBody(pipeline([{}]), 2), "PROTO_BAD_REQUEST", /`requests\[0\].type`/);
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "toString" }]), 2), "PROTO_UNKNOWN_TYPE");
  });

  test("get_autocommit and is_autocommit are version 3 only", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "get_autocommit" }]), 2), "PROTO_NOT_SUPPORTED", /get_autocommit.*version 3/);
    expect(json.decodePipelineReqBody(pipeline([{ type: "get_autocommit" }]), 3).requests).toEqual([{ type: "get_autocommit" }]);
    const batch = { type: "batch", batch: { steps: [{ stmt: { sql: "SELECT 1" } }, { condition: { type: "is_autocommit" }, stmt: { sql: "SELECT 2" } }] } };
    rejects(() => json.decodePipelineReqBody(pipeline([batch]), 2), "PROTO_NOT_SUPPORTED", /is_autocommit/);
    expect(() => json.decodePipelineReqBody(pipeline([batch]), 3)).not.toThrow();
  });

  test("store_sql, close_sql, sequence and describe decode", () => {
    const body = json.decodePipelineReqBody(
      pipeline([
        { type: "store_sql", sql_id: -5, sql: "SELECT 1" },
        { type: "close_sql", sql_id: 2147483647 },
        { type: "sequence", sql: "SELECT 1; SELECT 2" },
        { type: "describe", sql_id: 3, sql: null },
      ]),
      2,
    );
    expect(body.requests).toEqual([
      { type: "store_sql", sqlId: -5, sql: "SELECT 1" },
      { type: "close_sql", sqlId: 2147483647 },
      { type: "sequence", sql: "SELECT 1; SELECT 2", sqlId: null },
      { type: "describe", sql: null, sqlId: 3 },
    ]);
  });

  test("store_sql requires both fields and an int32 id", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "store_sql", sql: "x" }]), 2), "PROTO_BAD_REQUEST", /`requests\[0\].sql_id`/);
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "store_sql", sql_id: 1 }]), 2), "PROTO_BAD_REQUEST", /`requests\[0\].sql`/);
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "store_sql", sql_id: 2147483648, sql: "x" }]), 2), "PROTO_BAD_REQUEST", /32-bit/);
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "store_sql", sql_id: 1.5, sql: "x" }]), 2), "PROTO_BAD_REQUEST");
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "store_sql", sql_id: "1", sql: "x" }]), 2), "PROTO_BAD_REQUEST");
  });

  test("the cursor body is a baton and a batch", () => {
    const body = json.decodeCursorReqBody(`{"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]}}`);
    expect(body).toEqual({ baton: null, batch: { steps: [{ condition: null, stmt: { sql: "SELECT 1", sqlId: null, args: [], namedArgs: [], wantRows: true } }] } });
    rejects(() => json.decodeCursorReqBody(`{"baton":null}`), "PROTO_BAD_REQUEST", /`batch`/);
  });
});

describe("statements", () => {
  test("args and named_args default to [], want_rows to true", () => {
    expect(firstStmt(execute({ sql: "SELECT 1" }))).toEqual({ sql: "SELECT 1", sqlId: null, args: [], namedArgs: [], wantRows: true });
    expect(firstStmt(execute({ sql: "SELECT 1", want_rows: null })).wantRows).toBe(true);
    expect(firstStmt(execute({ sql: "SELECT 1", want_rows: false })).wantRows).toBe(false);
  });

  test("exactly one of sql and sql_id", () => {
    rejects(() => firstStmt(execute({ sql: "SELECT 1", sql_id: 1 })), "PROTO_BAD_REQUEST", /`requests\[0\].stmt`.*both/);
    rejects(() => firstStmt(execute({})), "PROTO_BAD_REQUEST", /one of `sql` and `sql_id`/);
    rejects(() => firstStmt(execute({ sql: null, sql_id: null })), "PROTO_BAD_REQUEST");
    expect(firstStmt(execute({ sql: null, sql_id: 7 })).sqlId).toBe(7);
  });

  test("a missing stmt, wrong-typed want_rows, args or named arg are refused with the field named", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "execute" }]), 2), "PROTO_BAD_REQUEST", /`requests\[0\].stmt`/);
    rejects(() => firstStmt(execute({ sql: "x", want_rows: "yes" })), "PROTO_BAD_REQUEST", /want_rows.*boolean/);
    rejects(() => firstStmt(execute({ sql: "x", args: null })), "PROTO_BAD_REQUEST", /args/);
    rejects(() => firstStmt(execute({ sql: "x", named_args: [{ value: { type: "null" } }] })), "PROTO_BAD_REQUEST", /named_args\[0\].name/);
    rejects(() => firstStmt(execute({ sql: "x", named_args: [{ name: "a" }] })), "PROTO_BAD_REQUEST", /named_args\[0\].value/);
  });

  test("SQL with a lone surrogate (only possible through a JSON escape) is refused", () => {
    rejects(() => firstStmt(`{"requests":[{"type":"execute","stmt":{"sql":"SELECT '\\ud800'"}}]}`), "PROTO_BAD_REQUEST", /surrogate/);
    expect(firstStmt(`{"requests":[{"type":"execute","stmt":{"sql":"SELECT '\\ud83d\\ude00'"}}]}`).sql).toBe("SELECT '😀'");
  });
});

describe("values", () => {
  const arg = (value: unknown) => firstStmt(execute({ sql: "SELECT ?", args: [value] })).args![0];

  test("each type decodes to the driver's representation", () => {
    expect(arg({ type: "null" })).toBeNull();
    expect(arg({ type: "integer", value: "42" })).toBe(42n);
    expect(arg({ type: "float", value: 42 })).toBe(42);
    expect(arg({ type: "float", value: 1.5 })).toBe(1.5);
    expect(arg({ type: "text", value: "héllo" })).toBe("héllo");
    expect(arg({ type: "blob", base64: "AP8" })).toEqual(new Uint8Array([0, 255]));
  });

  test("integers are signed 64-bit decimal strings, as Rust's i64 parser accepts them", () => {
    expect(arg({ type: "integer", value: "9223372036854775807" })).toBe(9223372036854775807n);
    expect(arg({ type: "integer", value: "-9223372036854775808" })).toBe(-9223372036854775808n);
    expect(arg({ type: "integer", value: "+5" })).toBe(5n);
    expect(arg({ type: "integer", value: "007" })).toBe(7n);
    expect(arg({ type: "integer", value: "-0" })).toBe(0n);
    for (const bad of ["9223372036854775808", "-9223372036854775809", "1.5", " 1", "1 ", "", "-", "+", "0x10", "1e3", "١"]) {
      rejects(() => arg({ type: "integer", value: bad }), "PROTO_BAD_REQUEST", /args\[0\].value/);
    }
    rejects(() => arg({ type: "integer", value: 5 }), "PROTO_BAD_REQUEST", /decimal integer in a string/);
  });

  test("floats must be JSON numbers", () => {
    rejects(() => arg({ type: "float", value: "1.5" }), "PROTO_BAD_REQUEST", /expected a number/);
    rejects(() => arg({ type: "float" }), "PROTO_BAD_REQUEST", /missing/);
  });

  test("blobs accept base64 with or without padding, and nothing else", () => {
    expect(arg({ type: "blob", base64: "AQID" })).toEqual(new Uint8Array([1, 2, 3]));
    expect(arg({ type: "blob", base64: "AQ==" })).toEqual(new Uint8Array([1]));
    expect(arg({ type: "blob", base64: "AQ" })).toEqual(new Uint8Array([1]));
    expect(arg({ type: "blob", base64: "AQI=" })).toEqual(new Uint8Array([1, 2]));
    expect(arg({ type: "blob", base64: "AQI" })).toEqual(new Uint8Array([1, 2]));
    expect(arg({ type: "blob", base64: "" })).toEqual(new Uint8Array([]));
    expect(arg({ type: "blob", base64: "+/+/" })).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
    for (const bad of ["A", "AQ=", "AQI==", "AQ===", "A-_B", "AQ ID", "=AQ", "AQ==AQ=="]) {
      rejects(() => arg({ type: "blob", base64: bad }), "PROTO_BAD_REQUEST", /base64/);
    }
  });

  test("text must be a well-formed string", () => {
    rejects(() => arg({ type: "text", value: 5 }), "PROTO_BAD_REQUEST", /expected a string/);
    rejects(() => arg({ type: "text", value: "\udc00" }), "PROTO_BAD_REQUEST", /surrogate/);
  });

  test("an unknown value type is refused", () => {
    rejects(() => arg({ type: "bool", value: true }), "PROTO_UNKNOWN_TYPE", /Value type "bool"/);
    rejects(() => arg(null), "PROTO_BAD_REQUEST", /args\[0\]`: expected an object/);
  });
});

describe("batches", () => {
  const batchBody = (condition: unknown) =>
    pipeline([{ type: "batch", batch: { steps: [{ stmt: { sql: "SELECT 1" } }, { condition, stmt: { sql: "SELECT 2" } }] } }]);

  test("conditions of every type decode", () => {
    const condition = { type: "and", conds: [{ type: "ok", step: 0 }, { type: "or", conds: [{ type: "error", step: 0 }, { type: "not", cond: { type: "is_autocommit" } }] }] };
    const body = json.decodePipelineReqBody(batchBody(condition), 3);
    const request = body.requests[0];
    expect(request?.type === "batch" && request.batch.steps[1]!.condition).toEqual({
      type: "and",
      conds: [
        { type: "ok", step: 0 },
        { type: "or", conds: [{ type: "error", step: 0 }, { type: "not", cond: { type: "is_autocommit" } }] },
      ],
    });
  });

  test("a condition with a bad step, type or shape is refused", () => {
    rejects(() => json.decodePipelineReqBody(batchBody({ type: "ok", step: -1 }), 2), "PROTO_BAD_REQUEST", /steps\[1\].condition.step/);
    rejects(() => json.decodePipelineReqBody(batchBody({ type: "ok" }), 2), "PROTO_BAD_REQUEST", /step/);
    rejects(() => json.decodePipelineReqBody(batchBody({ type: "xor" }), 2), "PROTO_UNKNOWN_TYPE", /BatchCond type "xor"/);
    rejects(() => json.decodePipelineReqBody(batchBody({ type: "and" }), 2), "PROTO_BAD_REQUEST", /conds/);
    rejects(() => json.decodePipelineReqBody(batchBody({ type: "not" }), 2), "PROTO_BAD_REQUEST", /cond/);
  });

  test(`conditions nested deeper than ${MAX_CONDITION_DEPTH} are refused, even ten thousand deep`, () => {
    const nest = (depth: number): unknown => {
      let cond: unknown = { type: "ok", step: 0 };
      for (let i = 1; i < depth; i++) cond = { type: "not", cond };
      return cond;
    };
    expect(() => json.decodePipelineReqBody(batchBody(nest(MAX_CONDITION_DEPTH)), 2)).not.toThrow();
    rejects(() => json.decodePipelineReqBody(batchBody(nest(MAX_CONDITION_DEPTH + 1)), 2), "PROTO_NESTING_TOO_DEEP");
    // Built as text: JSON.stringify itself would recurse this deep.
    const deep = '{"type":"not","cond":'.repeat(10_000) + '{"type":"ok","step":0}' + "}".repeat(10_000);
    const body = `{"requests":[{"type":"batch","batch":{"steps":[{"stmt":{"sql":"x"}},{"condition":${deep},"stmt":{"sql":"y"}}]}}]}`;
    rejects(() => json.decodePipelineReqBody(body, 2), "PROTO_NESTING_TOO_DEEP");
  });

  test("a step without stmt or a batch without steps is refused", () => {
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "batch", batch: {} }]), 2), "PROTO_BAD_REQUEST", /batch.steps/);
    rejects(() => json.decodePipelineReqBody(pipeline([{ type: "batch", batch: { steps: [{}] } }]), 2), "PROTO_BAD_REQUEST", /steps\[0\].stmt/);
  });
});

describe("WebSocket client messages", () => {
  test("hello with and without jwt", () => {
    expect(json.decodeClientMsg(`{"type":"hello","jwt":"t"}`, 2)).toEqual({ type: "hello", jwt: "t" });
    expect(json.decodeClientMsg(`{"type":"hello","jwt":null}`, 1)).toEqual({ type: "hello", jwt: null });
  });

  test("every request type decodes under hrana3", () => {
    const requests = [
      { type: "open_stream", stream_id: 1 },
      { type: "close_stream", stream_id: 1 },
      { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } },
      { type: "batch", stream_id: 1, batch: { steps: [] } },
      { type: "open_cursor", stream_id: 1, cursor_id: 2, batch: { steps: [] } },
      { type: "close_cursor", cursor_id: 2 },
      { type: "fetch_cursor", cursor_id: 2, max_count: 1000 },
      { type: "sequence", stream_id: 1, sql: "SELECT 1" },
      { type: "describe", stream_id: 1, sql_id: 4 },
      { type: "store_sql", sql_id: 4, sql: "SELECT 1" },
      { type: "close_sql", sql_id: 4 },
      { type: "get_autocommit", stream_id: 1 },
    ];
    const decoded = requests.map((request, i) => json.decodeClientMsg(JSON.stringify({ type: "request", request_id: i, request }), 3));
    expect(decoded.map((m) => (m.type === "request" ? m.request.type : m.type))).toEqual(requests.map((r) => r.type));
    expect(decoded[6]).toEqual({ type: "request", requestId: 6, request: { type: "fetch_cursor", cursorId: 2, maxCount: 1000 } });
    expect(decoded[4]).toEqual({ type: "request", requestId: 4, request: { type: "open_cursor", streamId: 1, cursorId: 2, batch: { steps: [] } } });
  });

  test("cursor requests and get_autocommit are refused under hrana2", () => {
    for (const request of [
      { type: "open_cursor", stream_id: 1, cursor_id: 2, batch: { steps: [] } },
      { type: "close_cursor", cursor_id: 2 },
      { type: "fetch_cursor", cursor_id: 2, max_count: 10 },
      { type: "get_autocommit", stream_id: 1 },
    ]) {
      rejects(() => json.decodeClientMsg(JSON.stringify({ type: "request", request_id: 0, request }), 2), "PROTO_NOT_SUPPORTED", /version 3/);
    }
  });

  test("request ids, stream ids and max_count are range-checked", () => {
    const msg = (requestId: unknown, request: object) => JSON.stringify({ type: "request", request_id: requestId, request });
    rejects(() => json.decodeClientMsg(msg(2 ** 31, { type: "open_stream", stream_id: 1 }), 2), "PROTO_BAD_REQUEST", /request_id/);
    rejects(() => json.decodeClientMsg(msg(1, { type: "open_stream", stream_id: -(2 ** 31) - 1 }), 2), "PROTO_BAD_REQUEST", /request.stream_id/);
    rejects(() => json.decodeClientMsg(msg(1, { type: "fetch_cursor", cursor_id: 1, max_count: -1 }), 3), "PROTO_BAD_REQUEST", /max_count.*unsigned/);
    expect(json.decodeClientMsg(msg(-(2 ** 31), { type: "open_stream", stream_id: 2 ** 31 - 1 }), 2)).toEqual({
      type: "request",
      requestId: -(2 ** 31),
      request: { type: "open_stream", streamId: 2 ** 31 - 1 },
    });
  });

  test("an unknown message type is refused", () => {
    rejects(() => json.decodeClientMsg(`{"type":"goodbye"}`, 2), "PROTO_UNKNOWN_TYPE", /ClientMsg type "goodbye"/);
    rejects(() => json.decodeClientMsg(`{"type":"request","request_id":1,"request":{"type":"close"}}`, 2), "PROTO_UNKNOWN_TYPE", /Request type "close"/);
  });
});

describe("server messages (client side)", () => {
  test("a cursor response stream decodes line by line", () => {
    const text =
      `{"baton":"b","base_url":null}\n` +
      `{"type":"step_begin","step":0,"cols":[{"name":"a","decltype":"INTEGER"}]}\n` +
      `{"type":"row","row":[{"type":"integer","value":"1"}]}\n` +
      `{"type":"step_end","affected_row_count":0,"last_insert_rowid":null}\n`;
    expect(clientJson.decodeCursorRespStream(text)).toEqual({
      body: { baton: "b", baseUrl: null },
      entries: [
        { type: "step_begin", step: 0, cols: [{ name: "a", decltype: "INTEGER" }] },
        { type: "row", row: [1n] },
        { type: "step_end", affectedRowCount: 0, lastInsertRowid: null },
      ],
    });
  });
});
