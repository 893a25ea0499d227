// fast-check generators of well-formed Hrana messages, in the canonical shape the decoders produce.
import fc from "fast-check";
import type {
  Batch,
  BatchCond,
  BatchResult,
  ClientMsg,
  Col,
  CursorEntry,
  DescribeResult,
  HranaError,
  PipelineReqBody,
  PipelineRespBody,
  ServerMsg,
  Stmt,
  StmtResult,
  StreamRequest,
  StreamResponse,
  StreamResult,
  Value,
  WsRequest,
  WsResponse,
} from "../src/index.js";

/** Well-formed Unicode (lone surrogates are refused by the JSON decoder and replaced by protobuf's UTF-8). */
export const text = fc.string({ unit: "binary", maxLength: 12 });
export const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });

/** Floats without NaN, which JSON cannot carry (it is written as a null value). */
export const value: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  int64,
  fc.double({ noNaN: true }),
  text,
  fc.uint8Array({ maxLength: 16 }),
);

export const stmt: fc.Arbitrary<Stmt> = fc
  .record({
    useSql: fc.boolean(),
    sql: text,
    sqlId: int32,
    args: fc.array(value, { maxLength: 4 }),
    namedArgs: fc.array(fc.record({ name: text, value }), { maxLength: 3 }),
    wantRows: fc.boolean(),
  })
  .map(({ useSql, sql, sqlId, ...rest }) => ({ sql: useSql ? sql : null, sqlId: useSql ? null : sqlId, ...rest }));

export const batchCond: fc.Arbitrary<BatchCond> = fc.letrec<{ cond: BatchCond }>((tie) => ({
  cond: fc.oneof(
    { depthSize: "small" },
    fc.record({ type: fc.constant("ok" as const), step: uint32 }),
    fc.record({ type: fc.constant("error" as const), step: uint32 }),
    fc.record({ type: fc.constant("is_autocommit" as const) }),
    fc.record({ type: fc.constant("not" as const), cond: tie("cond") }),
    fc.record({ type: fc.constant("and" as const), conds: fc.array(tie("cond"), { maxLength: 3 }) }),
    fc.record({ type: fc.constant("or" as const), conds: fc.array(tie("cond"), { maxLength: 3 }) }),
  ),
})).cond;

export const batch: fc.Arbitrary<Batch> = fc.record({
  steps: fc.array(fc.record({ condition: nullable(batchCond), stmt }), { maxLength: 4 }),
});

const sqlOrId = fc.oneof(fc.record({ sql: text, sqlId: fc.constant(null) }), fc.record({ sql: fc.constant(null), sqlId: int32 }));

export const streamRequest: fc.Arbitrary<StreamRequest> = fc.oneof(
  fc.constant({ type: "close" as const }),
  fc.record({ type: fc.constant("execute" as const), stmt }),
  fc.record({ type: fc.constant("batch" as const), batch }),
  sqlOrId.map((s) => ({ type: "sequence" as const, ...s })),
  sqlOrId.map((s) => ({ type: "describe" as const, ...s })),
  fc.record({ type: fc.constant("store_sql" as const), sqlId: int32, sql: text }),
  fc.record({ type: fc.constant("close_sql" as const), sqlId: int32 }),
  fc.constant({ type: "get_autocommit" as const }),
);

export const pipelineReqBody: fc.Arbitrary<PipelineReqBody> = fc.record({
  baton: nullable(text),
  requests: fc.array(streamRequest, { maxLength: 4 }),
});

export const wsRequest: fc.Arbitrary<WsRequest> = fc.oneof(
  fc.record({ type: fc.constant("open_stream" as const), streamId: int32 }),
  fc.record({ type: fc.constant("close_stream" as const), streamId: int32 }),
  fc.record({ type: fc.constant("execute" as const), streamId: int32, stmt }),
  fc.record({ type: fc.constant("batch" as const), streamId: int32, batch }),
  fc.record({ type: fc.constant("open_cursor" as const), streamId: int32, cursorId: int32, batch }),
  fc.record({ type: fc.constant("close_cursor" as const), cursorId: int32 }),
  fc.record({ type: fc.constant("fetch_cursor" as const), cursorId: int32, maxCount: uint32 }),
  fc.tuple(int32, sqlOrId).map(([streamId, s]) => ({ type: "sequence" as const, streamId, ...s })),
  fc.tuple(int32, sqlOrId).map(([streamId, s]) => ({ type: "describe" as const, streamId, ...s })),
  fc.record({ type: fc.constant("store_sql" as const), sqlId: int32, sql: text }),
  fc.record({ type: fc.constant("close_sql" as const), sqlId: int32 }),
  fc.record({ type: fc.constant("get_autocommit" as const), streamId: int32 }),
);

export const clientMsg: fc.Arbitrary<ClientMsg> = fc.oneof(
  fc.record({ type: fc.constant("hello" as const), jwt: nullable(text) }),
  fc.record({ type: fc.constant("request" as const), requestId: int32, request: wsRequest }),
);

export const error: fc.Arbitrary<HranaError> = fc.record({ message: text, code: nullable(text) });
const col: fc.Arbitrary<Col> = fc.record({ name: nullable(text), decltype: nullable(text) });
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });

export const stmtResult: fc.Arbitrary<StmtResult> = fc.record({
  cols: fc.array(col, { maxLength: 3 }),
  rows: fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 3 }),
  affectedRowCount: count,
  lastInsertRowid: nullable(int64),
});

export const batchResult: fc.Arbitrary<BatchResult> = fc
  .array(fc.oneof(stmtResult.map((r) => [r, null] as const), error.map((e) => [null, e] as const), fc.constant([null, null] as const)), { maxLength: 4 })
  .map((slots) => ({ stepResults: slots.map(([r]) => r), stepErrors: slots.map(([, e]) => e) }));

export const describeResult: fc.Arbitrary<DescribeResult> = fc.record({
  params: fc.array(fc.record({ name: nullable(text) }), { maxLength: 3 }),
  cols: fc.array(fc.record({ name: text, decltype: nullable(text) }), { maxLength: 3 }),
  isExplain: fc.boolean(),
  isReadonly: fc.boolean(),
});

export const cursorEntry: fc.Arbitrary<CursorEntry> = fc.oneof(
  fc.record({ type: fc.constant("step_begin" as const), step: uint32, cols: fc.array(col, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("step_end" as const), affectedRowCount: count, lastInsertRowid: nullable(int64) }),
  fc.record({ type: fc.constant("step_error" as const), step: uint32, error }),
  fc.record({ type: fc.constant("row" as const), row: fc.array(value, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("error" as const), error }),
);

const emptyResponses = ["close", "sequence", "store_sql", "close_sql"] as const;

export const streamResponse: fc.Arbitrary<StreamResponse> = fc.oneof(
  fc.constantFrom(...emptyResponses).map((type) => ({ type })),
  fc.record({ type: fc.constant("execute" as const), result: stmtResult }),
  fc.record({ type: fc.constant("batch" as const), result: batchResult }),
  fc.record({ type: fc.constant("describe" as const), result: describeResult }),
  fc.record({ type: fc.constant("get_autocommit" as const), isAutocommit: fc.boolean() }),
);

export const streamResult: fc.Arbitrary<StreamResult> = fc.oneof(
  fc.record({ type: fc.constant("ok" as const), response: streamResponse }),
  fc.record({ type: fc.constant("error" as const), error }),
);

export const pipelineRespBody: fc.Arbitrary<PipelineRespBody> = fc.record({
  baton: nullable(text),
  baseUrl: nullable(text),
  results: fc.array(streamResult, { maxLength: 4 }),
});

const wsResponse: fc.Arbitrary<WsResponse> = fc.oneof(
  fc.constantFrom("open_stream", "close_stream", "open_cursor", "close_cursor", "sequence", "store_sql", "close_sql").map((type) => ({ type }) as WsResponse),
  fc.record({ type: fc.constant("execute" as const), result: stmtResult }),
  fc.record({ type: fc.constant("batch" as const), result: batchResult }),
  fc.record({ type: fc.constant("describe" as const), result: describeResult }),
  fc.record({ type: fc.constant("get_autocommit" as const), isAutocommit: fc.boolean() }),
  fc.record({ type: fc.constant("fetch_cursor" as const), entries: fc.array(cursorEntry, { maxLength: 4 }), done: fc.boolean() }),
);

export const serverMsg: fc.Arbitrary<ServerMsg> = fc.oneof(
  fc.constant({ type: "hello_ok" as const }),
  fc.record({ type: fc.constant("hello_error" as const), error }),
  fc.record({ type: fc.constant("response_ok" as const), requestId: int32, response: wsResponse }),
  fc.record({ type: fc.constant("response_error" as const), requestId: int32, error }),
);
