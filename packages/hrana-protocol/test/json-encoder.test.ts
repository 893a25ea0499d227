import { describe, expect, test } from "vitest";
import { json } from "../src/index.js";
import type { StmtResult } from "../src/index.js";
import { json as clientJson } from "../src/client.js";

const result: StmtResult = {
  cols: [
    { name: "id", decltype: "INTEGER" },
    { name: "x", decltype: null },
  ],
  rows: [
    [1n, "a\"b\n"],
    [-9223372036854775808n, null],
  ],
  affectedRowCount: 0,
  lastInsertRowid: null,
};

describe("values", () => {
  test("each type has its exact form", () => {
    expect(json.encodeValue(null)).toBe(`{"type":"null"}`);
    expect(json.encodeValue(42n)).toBe(`{"type":"integer","value":"42"}`);
    expect(json.encodeValue(-9223372036854775808n)).toBe(`{"type":"integer","value":"-9223372036854775808"}`);
    expect(json.encodeValue(1.5)).toBe(`{"type":"float","value":1.5}`);
    expect(json.encodeValue(1)).toBe(`{"type":"float","value":1}`);
    expect(json.encodeValue(1e300)).toBe(`{"type":"float","value":1e+300}`);
    expect(json.encodeValue(5e-324)).toBe(`{"type":"float","value":5e-324}`);
    expect(json.encodeValue("é\u0000\"")).toBe(`{"type":"text","value":"é\\u0000\\""}`);
    expect(json.encodeValue(new Uint8Array([0, 255]))).toBe(`{"type":"blob","base64":"AP8"}`);
    expect(json.encodeValue(new Uint8Array([1, 2, 3]))).toBe(`{"type":"blob","base64":"AQID"}`);
    expect(json.encodeValue(new Uint8Array([]))).toBe(`{"type":"blob","base64":""}`);
  });

  test("a blob that is a view into a larger buffer encodes only its own bytes", () => {
    const backing = new Uint8Array([9, 9, 1, 2, 9]);
    expect(json.encodeValue(backing.subarray(2, 4))).toBe(`{"type":"blob","base64":"AQI"}`);
  });

  test("±Infinity become 9e999 (read back as ±Infinity), NaN a null value, -0 keeps its sign", () => {
    expect(json.encodeValue(Infinity)).toBe(`{"type":"float","value":9e999}`);
    expect(json.encodeValue(-Infinity)).toBe(`{"type":"float","value":-9e999}`);
    expect(JSON.parse(json.encodeValue(Infinity)).value).toBe(Infinity);
    expect(json.encodeValue(NaN)).toBe(`{"type":"null"}`);
    expect(json.encodeValue(-0)).toBe(`{"type":"float","value":-0}`);
    expect(Object.is(JSON.parse(json.encodeValue(-0)).value, -0)).toBe(true);
  });
});

describe("results", () => {
  test("a statement result has the traces' key order", () => {
    expect(json.encodeStmtResult(result)).toBe(
      `{"cols":[{"name":"id","decltype":"INTEGER"},{"name":"x","decltype":null}],` +
        `"rows":[[{"type":"integer","value":"1"},{"type":"text","value":"a\\"b\\n"}],` +
        `[{"type":"integer","value":"-9223372036854775808"},{"type":"null"}]],` +
        `"affected_row_count":0,"last_insert_rowid":null}`,
    );
    expect(json.encodeStmtResult({ cols: [], rows: [], affectedRowCount: 3, lastInsertRowid: 7n })).toBe(
      `{"cols":[],"rows":[],"affected_row_count":3,"last_insert_rowid":"7"}`,
    );
  });

  test("a pipeline response with ok, error and close", () => {
    expect(
      json.encodePipelineRespBody({
        baton: "b1",
        baseUrl: null,
        results: [
          { type: "ok", response: { type: "store_sql" } },
          { type: "error", error: { message: "no such table: t", code: "SQLITE_ERROR" } },
          { type: "ok", response: { type: "get_autocommit", isAutocommit: true } },
          { type: "ok", response: { type: "close" } },
        ],
      }),
    ).toBe(
      `{"baton":"b1","base_url":null,"results":[{"type":"ok","response":{"type":"store_sql"}},` +
        `{"type":"error","error":{"message":"no such table: t","code":"SQLITE_ERROR"}},` +
        `{"type":"ok","response":{"type":"get_autocommit","is_autocommit":true}},{"type":"ok","response":{"type":"close"}}]}`,
    );
  });

  test("a batch result keeps null slots in both arrays", () => {
    expect(
      json.encodeBatchResult({
        stepResults: [{ cols: [], rows: [], affectedRowCount: 0, lastInsertRowid: null }, null, null],
        stepErrors: [null, { message: "m", code: null }, null],
      }),
    ).toBe(
      `{"step_results":[{"cols":[],"rows":[],"affected_row_count":0,"last_insert_rowid":null},null,null],` +
        `"step_errors":[null,{"message":"m","code":null},null]}`,
    );
  });

  test("a describe result", () => {
    expect(
      json.encodeStreamResponse({
        type: "describe",
        result: {
          params: [{ name: null }, { name: ":a" }],
          cols: [{ name: "x", decltype: "TEXT" }],
          isExplain: false,
          isReadonly: true,
        },
      }),
    ).toBe(
      `{"type":"describe","result":{"params":[{"name":null},{"name":":a"}],"cols":[{"name":"x","decltype":"TEXT"}],` +
        `"is_explain":false,"is_readonly":true}}`,
    );
  });

  test("cursor lines end with a newline", () => {
    expect(json.encodeCursorRespLine({ baton: "b", baseUrl: null })).toBe(`{"baton":"b","base_url":null}\n`);
    expect(json.encodeCursorEntryLine({ type: "step_begin", step: 0, cols: [{ name: "a", decltype: null }] })).toBe(
      `{"type":"step_begin","step":0,"cols":[{"name":"a","decltype":null}]}\n`,
    );
    expect(json.encodeCursorEntryLine({ type: "row", row: [1n, 2.5] })).toBe(
      `{"type":"row","row":[{"type":"integer","value":"1"},{"type":"float","value":2.5}]}\n`,
    );
    expect(json.encodeCursorEntryLine({ type: "step_end", affectedRowCount: 1, lastInsertRowid: 5n })).toBe(
      `{"type":"step_end","affected_row_count":1,"last_insert_rowid":"5"}\n`,
    );
    expect(json.encodeCursorEntryLine({ type: "step_error", step: 2, error: { message: "m", code: "C" } })).toBe(
      `{"type":"step_error","step":2,"error":{"message":"m","code":"C"}}\n`,
    );
    expect(json.encodeCursorEntryLine({ type: "error", error: { message: "m", code: null } })).toBe(
      `{"type":"error","error":{"message":"m","code":null}}\n`,
    );
  });
});

describe("server messages", () => {
  test("each kind", () => {
    expect(json.encodeServerMsg({ type: "hello_ok" })).toBe(`{"type":"hello_ok"}`);
    expect(json.encodeServerMsg({ type: "hello_error", error: { message: "Authentication failed", code: "AUTH_JWT_INVALID" } })).toBe(
      `{"type":"hello_error","error":{"message":"Authentication failed","code":"AUTH_JWT_INVALID"}}`,
    );
    expect(json.encodeServerMsg({ type: "response_ok", requestId: 3, response: { type: "open_stream" } })).toBe(
      `{"type":"response_ok","request_id":3,"response":{"type":"open_stream"}}`,
    );
    expect(json.encodeServerMsg({ type: "response_error", requestId: -1, error: { message: "m", code: "X" } })).toBe(
      `{"type":"response_error","request_id":-1,"error":{"message":"m","code":"X"}}`,
    );
    expect(
      json.encodeServerMsg({
        type: "response_ok",
        requestId: 9,
        response: { type: "fetch_cursor", entries: [{ type: "row", row: [null] }], done: true },
      }),
    ).toBe(`{"type":"response_ok","request_id":9,"response":{"type":"fetch_cursor","entries":[{"type":"row","row":[{"type":"null"}]}],"done":true}}`);
  });
});

describe("client messages", () => {
  test("a first pipeline request omits the baton key, like @libsql/client", () => {
    expect(clientJson.encodePipelineReqBody({ baton: null, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] })).toBe(
      `{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1","args":[],"named_args":[],"want_rows":true}},{"type":"close"}]}`,
    );
  });

  test("hello without a token has no jwt key", () => {
    expect(clientJson.encodeClientMsg({ type: "hello", jwt: null })).toBe(`{"type":"hello"}`);
  });
});
