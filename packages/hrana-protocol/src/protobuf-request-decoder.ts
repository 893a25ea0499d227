/**
 * Protobuf decoding of Hrana 3 messages (the schema of HRANA_3_SPEC.md, field numbers in the comments).
 *
 * Unknown fields are skipped (forward compatibility, and sqld's `replication_index` extras); a known field with
 * the wrong wire type, a truncated message, an over-long varint or invalid UTF-8 is a `ProtocolError`, as are a
 * oneof with no known member, a `Stmt` without exactly one of `sql`/`sql_id`, and conditions nested too deeply.
 * A singular field that appears twice keeps its last occurrence (sub-messages are replaced, not merged).
 */
import type { Value } from "@hranad/driver";
import type {
  Batch,
  BatchCond,
  BatchResult,
  BatchStep,
  ClientMsg,
  Col,
  CursorEntry,
  CursorReqBody,
  CursorRespBody,
  DescribeCol,
  DescribeParam,
  DescribeResult,
  HranaError,
  NamedArg,
  PipelineReqBody,
  PipelineRespBody,
  ServerMsg,
  Stmt,
  StmtResult,
  StreamRequest,
  StreamResponse,
  StreamResult,
  WsRequest,
  WsResponse,
} from "./messages.js";
import { MAX_CONDITION_DEPTH, ProtocolError } from "./protocol-error.js";
import { ProtobufReader } from "./protobuf-reader.js";

/** The largest step index accepted in a protobuf `BatchResult` map (the maps become arrays of that length). */
export const MAX_DECODED_STEP = 1 << 20;

// Field keys are written as literals `field << 3 | wireType`, with the field and wire type in a comment.
const bits = (...fields: number[]): number => fields.reduce((mask, field) => mask | (1 << field), 0);

// ---------------------------------------------------------------------------------------------------------------
// Entry points

export function decodePipelineReqBody(bytes: Uint8Array): PipelineReqBody {
  const r = new ProtobufReader(bytes);
  let baton: string | null = null;
  const requests: StreamRequest[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) baton = r.string();
    else if (tag === 18 /* 2:LEN */) requests.push(r.message(streamRequest));
    else r.skip(tag, bits(1, 2), "PipelineReqBody");
  }
  return { baton, requests };
}

export function decodeCursorReqBody(bytes: Uint8Array): CursorReqBody {
  const r = new ProtobufReader(bytes);
  let baton: string | null = null;
  let batchValue: Batch = { steps: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) baton = r.string();
    else if (tag === 18 /* 2:LEN */) batchValue = r.message(batch);
    else r.skip(tag, bits(1, 2), "CursorReqBody");
  }
  return { baton, batch: batchValue };
}

export function decodeClientMsg(bytes: Uint8Array): ClientMsg {
  const r = new ProtobufReader(bytes);
  let msg: ClientMsg | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) msg = r.message(hello);
    else if (tag === 18 /* 2:LEN */) msg = r.message(requestMsg);
    else r.skip(tag, bits(1, 2), "ClientMsg");
  }
  return msg ?? noneOf("ClientMsg");
}

export function decodePipelineRespBody(bytes: Uint8Array): PipelineRespBody {
  const r = new ProtobufReader(bytes);
  let baton: string | null = null;
  let baseUrl: string | null = null;
  const results: StreamResult[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) baton = r.string();
    else if (tag === 18 /* 2:LEN */) baseUrl = r.string();
    else if (tag === 26 /* 3:LEN */) results.push(r.message(streamResult));
    else r.skip(tag, bits(1, 2, 3), "PipelineRespBody");
  }
  return { baton, baseUrl, results };
}

export function decodeCursorRespBody(bytes: Uint8Array): CursorRespBody {
  return cursorRespBody(new ProtobufReader(bytes));
}

export function decodeCursorEntry(bytes: Uint8Array): CursorEntry {
  return cursorEntry(new ProtobufReader(bytes));
}

/** A whole `/v3-protobuf/cursor` response body: length-delimited `CursorRespBody`, then `CursorEntry`s. */
export function decodeCursorRespStream(bytes: Uint8Array): { body: CursorRespBody; entries: CursorEntry[] } {
  const r = new ProtobufReader(bytes);
  if (!r.more()) throw new ProtocolError("PROTO_INVALID_PROTOBUF", "invalid protobuf: the cursor response is empty");
  const body = r.message(cursorRespBody);
  const entries: CursorEntry[] = [];
  while (r.more()) entries.push(r.message(cursorEntry));
  return { body, entries };
}

export function decodeServerMsg(bytes: Uint8Array): ServerMsg {
  const r = new ProtobufReader(bytes);
  let msg: ServerMsg | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) {
      r.skipMessage();
      msg = { type: "hello_ok" };
    } else if (tag === 18 /* 2:LEN */) {
      msg = r.message(helloError);
    } else if (tag === 26 /* 3:LEN */) {
      msg = r.message(responseOk);
    } else if (tag === 34 /* 4:LEN */) {
      msg = r.message(responseError);
    } else r.skip(tag, bits(1, 2, 3, 4), "ServerMsg");
  }
  return msg ?? noneOf("ServerMsg");
}

/** An `Error` message on its own (the body of an HTTP error response on `/v3-protobuf`). */
export function decodeError(bytes: Uint8Array): HranaError {
  return error(new ProtobufReader(bytes));
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP requests

function streamRequest(r: ProtobufReader): StreamRequest {
  let request: StreamRequest | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        r.skipMessage();
        request = { type: "close" };
        break;
      case 18 /* 2:LEN */:
        request = { type: "execute", stmt: r.message(singleStmt("ExecuteStreamReq", 1)) };
        break;
      case 26 /* 3:LEN */:
        request = { type: "batch", batch: r.message(singleBatch("BatchStreamReq", 1)) };
        break;
      case 34 /* 4:LEN */:
        request = { type: "sequence", ...r.message(sqlRequest("SequenceStreamReq", 1, 2)) };
        break;
      case 42 /* 5:LEN */:
        request = { type: "describe", ...r.message(sqlRequest("DescribeStreamReq", 1, 2)) };
        break;
      case 50 /* 6:LEN */:
        request = { type: "store_sql", ...r.message(storeSql) };
        break;
      case 58 /* 7:LEN */:
        request = { type: "close_sql", sqlId: r.message(singleInt32("CloseSqlStreamReq")) };
        break;
      case 66 /* 8:LEN */:
        r.skipMessage();
        request = { type: "get_autocommit" };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5, 6, 7, 8), "StreamRequest");
    }
  }
  return request ?? noneOf("StreamRequest");
}

function singleStmt(name: string, field: number): (r: ProtobufReader) => Stmt {
  return (r) => {
    let value: Stmt | undefined;
    while (r.more()) {
      const tag = r.tag();
      if (tag === ((field << 3) | 2)) value = r.message(stmt);
      else r.skip(tag, bits(field), name);
    }
    return value ?? missing(name, "stmt");
  };
}

function singleBatch(name: string, field: number): (r: ProtobufReader) => Batch {
  return (r) => {
    let value: Batch = { steps: [] };
    while (r.more()) {
      const tag = r.tag();
      if (tag === ((field << 3) | 2)) value = r.message(batch);
      else r.skip(tag, bits(field), name);
    }
    return value;
  };
}

function singleInt32(name: string): (r: ProtobufReader) => number {
  return (r) => {
    let value = 0;
    while (r.more()) {
      const tag = r.tag();
      if (tag === 8 /* 1:VARINT */) value = r.int32();
      else r.skip(tag, bits(1), name);
    }
    return value;
  };
}

function sqlRequest(name: string, sqlField: number, sqlIdField: number): (r: ProtobufReader) => { sql: string | null; sqlId: number | null } {
  return (r) => {
    let sql: string | null = null;
    let sqlId: number | null = null;
    while (r.more()) {
      const tag = r.tag();
      if (tag === ((sqlField << 3) | 2)) sql = r.string();
      else if (tag === (sqlIdField << 3)) sqlId = r.int32();
      else r.skip(tag, bits(sqlField, sqlIdField), name);
    }
    checkSql(name, sql, sqlId);
    return { sql, sqlId };
  };
}

function storeSql(r: ProtobufReader): { sqlId: number; sql: string } {
  let sqlId = 0;
  let sql = "";
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) sqlId = r.int32();
    else if (tag === 18 /* 2:LEN */) sql = r.string();
    else r.skip(tag, bits(1, 2), "StoreSqlReq");
  }
  return { sqlId, sql };
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket messages

function hello(r: ProtobufReader): ClientMsg {
  let jwt: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) jwt = r.string();
    else r.skip(tag, bits(1), "HelloMsg");
  }
  return { type: "hello", jwt };
}

function requestMsg(r: ProtobufReader): ClientMsg {
  let requestId = 0;
  let request: WsRequest | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 8 /* 1:VARINT */:
        requestId = r.int32();
        break;
      case 18 /* 2:LEN */:
        request = { type: "open_stream", streamId: r.message(singleInt32("OpenStreamReq")) };
        break;
      case 26 /* 3:LEN */:
        request = { type: "close_stream", streamId: r.message(singleInt32("CloseStreamReq")) };
        break;
      case 34 /* 4:LEN */:
        request = r.message(executeReq);
        break;
      case 42 /* 5:LEN */:
        request = r.message(batchReq);
        break;
      case 50 /* 6:LEN */:
        request = r.message(openCursorReq);
        break;
      case 58 /* 7:LEN */:
        request = { type: "close_cursor", cursorId: r.message(singleInt32("CloseCursorReq")) };
        break;
      case 66 /* 8:LEN */:
        request = r.message(fetchCursor);
        break;
      case 74 /* 9:LEN */:
        request = r.message(streamSql("SequenceReq", "sequence"));
        break;
      case 82 /* 10:LEN */:
        request = r.message(streamSql("DescribeReq", "describe"));
        break;
      case 90 /* 11:LEN */:
        request = { type: "store_sql", ...r.message(storeSql) };
        break;
      case 98 /* 12:LEN */:
        request = { type: "close_sql", sqlId: r.message(singleInt32("CloseSqlReq")) };
        break;
      case 106 /* 13:LEN */:
        request = { type: "get_autocommit", streamId: r.message(singleInt32("GetAutocommitReq")) };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), "RequestMsg");
    }
  }
  return { type: "request", requestId, request: request ?? noneOf("RequestMsg.request") };
}

function executeReq(r: ProtobufReader): WsRequest {
  let streamId = 0;
  let value: Stmt | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) streamId = r.int32();
    else if (tag === 18 /* 2:LEN */) value = r.message(stmt);
    else r.skip(tag, bits(1, 2), "ExecuteReq");
  }
  return { type: "execute", streamId, stmt: value ?? missing("ExecuteReq", "stmt") };
}

function batchReq(r: ProtobufReader): WsRequest {
  let streamId = 0;
  let value: Batch = { steps: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) streamId = r.int32();
    else if (tag === 18 /* 2:LEN */) value = r.message(batch);
    else r.skip(tag, bits(1, 2), "BatchReq");
  }
  return { type: "batch", streamId, batch: value };
}

function openCursorReq(r: ProtobufReader): WsRequest {
  let streamId = 0;
  let cursorId = 0;
  let value: Batch = { steps: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) streamId = r.int32();
    else if (tag === 16 /* 2:VARINT */) cursorId = r.int32();
    else if (tag === 26 /* 3:LEN */) value = r.message(batch);
    else r.skip(tag, bits(1, 2, 3), "OpenCursorReq");
  }
  return { type: "open_cursor", streamId, cursorId, batch: value };
}

function fetchCursor(r: ProtobufReader): WsRequest {
  let cursorId = 0;
  let maxCount = 0;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) cursorId = r.int32();
    else if (tag === 16 /* 2:VARINT */) maxCount = r.uint32();
    else r.skip(tag, bits(1, 2), "FetchCursorReq");
  }
  return { type: "fetch_cursor", cursorId, maxCount };
}

function streamSql(name: string, type: "sequence" | "describe"): (r: ProtobufReader) => WsRequest {
  return (r) => {
    let streamId = 0;
    let sql: string | null = null;
    let sqlId: number | null = null;
    while (r.more()) {
      const tag = r.tag();
      if (tag === 8 /* 1:VARINT */) streamId = r.int32();
      else if (tag === 18 /* 2:LEN */) sql = r.string();
      else if (tag === 24 /* 3:VARINT */) sqlId = r.int32();
      else r.skip(tag, bits(1, 2, 3), name);
    }
    checkSql(name, sql, sqlId);
    return { type, streamId, sql, sqlId };
  };
}

function helloError(r: ProtobufReader): ServerMsg {
  let value: HranaError = { message: "", code: null };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) value = r.message(error);
    else r.skip(tag, bits(1), "HelloErrorMsg");
  }
  return { type: "hello_error", error: value };
}

function responseError(r: ProtobufReader): ServerMsg {
  let requestId = 0;
  let value: HranaError = { message: "", code: null };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) requestId = r.int32();
    else if (tag === 18 /* 2:LEN */) value = r.message(error);
    else r.skip(tag, bits(1, 2), "ResponseErrorMsg");
  }
  return { type: "response_error", requestId, error: value };
}

function responseOk(r: ProtobufReader): ServerMsg {
  let requestId = 0;
  let response: WsResponse | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 8 /* 1:VARINT */:
        requestId = r.int32();
        break;
      case 18 /* 2:LEN */:
        r.skipMessage();
        response = { type: "open_stream" };
        break;
      case 26 /* 3:LEN */:
        r.skipMessage();
        response = { type: "close_stream" };
        break;
      case 34 /* 4:LEN */:
        response = { type: "execute", result: r.message(single("ExecuteResp", stmtResult, emptyStmtResult)) };
        break;
      case 42 /* 5:LEN */:
        response = { type: "batch", result: r.message(single("BatchResp", batchResult, emptyBatchResult)) };
        break;
      case 50 /* 6:LEN */:
        r.skipMessage();
        response = { type: "open_cursor" };
        break;
      case 58 /* 7:LEN */:
        r.skipMessage();
        response = { type: "close_cursor" };
        break;
      case 66 /* 8:LEN */:
        response = r.message(fetchCursorResp);
        break;
      case 74 /* 9:LEN */:
        r.skipMessage();
        response = { type: "sequence" };
        break;
      case 82 /* 10:LEN */:
        response = { type: "describe", result: r.message(single("DescribeResp", describeResult, emptyDescribeResult)) };
        break;
      case 90 /* 11:LEN */:
        r.skipMessage();
        response = { type: "store_sql" };
        break;
      case 98 /* 12:LEN */:
        r.skipMessage();
        response = { type: "close_sql" };
        break;
      case 106 /* 13:LEN */:
        response = { type: "get_autocommit", isAutocommit: r.message(singleBool("GetAutocommitResp")) };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), "ResponseOkMsg");
    }
  }
  return { type: "response_ok", requestId, response: response ?? noneOf("ResponseOkMsg.response") };
}

function fetchCursorResp(r: ProtobufReader): WsResponse {
  const entries: CursorEntry[] = [];
  let done = false;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) entries.push(r.message(cursorEntry));
    else if (tag === 16 /* 2:VARINT */) done = r.bool();
    else r.skip(tag, bits(1, 2), "FetchCursorResp");
  }
  return { type: "fetch_cursor", entries, done };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP responses

function streamResult(r: ProtobufReader): StreamResult {
  let result: StreamResult | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) result = { type: "ok", response: r.message(streamResponse) };
    else if (tag === 18 /* 2:LEN */) result = { type: "error", error: r.message(error) };
    else r.skip(tag, bits(1, 2), "StreamResult");
  }
  return result ?? noneOf("StreamResult");
}

function streamResponse(r: ProtobufReader): StreamResponse {
  let response: StreamResponse | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        r.skipMessage();
        response = { type: "close" };
        break;
      case 18 /* 2:LEN */:
        response = { type: "execute", result: r.message(single("ExecuteStreamResp", stmtResult, emptyStmtResult)) };
        break;
      case 26 /* 3:LEN */:
        response = { type: "batch", result: r.message(single("BatchStreamResp", batchResult, emptyBatchResult)) };
        break;
      case 34 /* 4:LEN */:
        r.skipMessage();
        response = { type: "sequence" };
        break;
      case 42 /* 5:LEN */:
        response = {
          type: "describe",
          result: r.message(single("DescribeStreamResp", describeResult, emptyDescribeResult)),
        };
        break;
      case 50 /* 6:LEN */:
        r.skipMessage();
        response = { type: "store_sql" };
        break;
      case 58 /* 7:LEN */:
        r.skipMessage();
        response = { type: "close_sql" };
        break;
      case 66 /* 8:LEN */:
        response = { type: "get_autocommit", isAutocommit: r.message(singleBool("GetAutocommitStreamResp")) };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5, 6, 7, 8), "StreamResponse");
    }
  }
  return response ?? noneOf("StreamResponse");
}

function cursorRespBody(r: ProtobufReader): CursorRespBody {
  let baton: string | null = null;
  let baseUrl: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) baton = r.string();
    else if (tag === 18 /* 2:LEN */) baseUrl = r.string();
    else r.skip(tag, bits(1, 2), "CursorRespBody");
  }
  return { baton, baseUrl };
}

function single<T>(name: string, decode: (r: ProtobufReader) => T, empty: () => T): (r: ProtobufReader) => T {
  return (r) => {
    let value: T | undefined;
    while (r.more()) {
      const tag = r.tag();
      if (tag === 10 /* 1:LEN */) value = r.message(decode);
      else r.skip(tag, bits(1), name);
    }
    return value ?? empty();
  };
}

function singleBool(name: string): (r: ProtobufReader) => boolean {
  return (r) => {
    let value = false;
    while (r.more()) {
      const tag = r.tag();
      if (tag === 8 /* 1:VARINT */) value = r.bool();
      else r.skip(tag, bits(1), name);
    }
    return value;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared structures

function stmt(r: ProtobufReader): Stmt {
  let sql: string | null = null;
  let sqlId: number | null = null;
  const args: Value[] = [];
  const namedArgs: NamedArg[] = [];
  let wantRows = true;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        sql = r.string();
        break;
      case 16 /* 2:VARINT */:
        sqlId = r.int32();
        break;
      case 26 /* 3:LEN */:
        args.push(r.message(value));
        break;
      case 34 /* 4:LEN */:
        namedArgs.push(r.message(namedArg));
        break;
      case 40 /* 5:VARINT */:
        wantRows = r.bool();
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5), "Stmt");
    }
  }
  checkSql("Stmt", sql, sqlId);
  return { sql, sqlId, args, namedArgs, wantRows };
}

function namedArg(r: ProtobufReader): NamedArg {
  let name = "";
  let argValue: Value | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) name = r.string();
    else if (tag === 18 /* 2:LEN */) argValue = r.message(value);
    else r.skip(tag, bits(1, 2), "NamedArg");
  }
  if (argValue === undefined) return missing("NamedArg", "value");
  return { name, value: argValue };
}

function batch(r: ProtobufReader): Batch {
  const steps: BatchStep[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) steps.push(r.message(batchStep));
    else r.skip(tag, bits(1), "Batch");
  }
  return { steps };
}

function batchStep(r: ProtobufReader): BatchStep {
  let condition: BatchCond | null = null;
  let stepStmt: Stmt | undefined;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) condition = r.message(condAt(1));
    else if (tag === 18 /* 2:LEN */) stepStmt = r.message(stmt);
    else r.skip(tag, bits(1, 2), "BatchStep");
  }
  return { condition, stmt: stepStmt ?? missing("BatchStep", "stmt") };
}

const condDecoders: ((r: ProtobufReader) => BatchCond)[] = [];

/** The decoder of a condition at nesting `depth` (memoized: one closure per depth, not per condition). */
function condAt(depth: number): (r: ProtobufReader) => BatchCond {
  if (depth > MAX_CONDITION_DEPTH) {
    throw new ProtocolError("PROTO_NESTING_TOO_DEEP", `batch conditions nest deeper than ${MAX_CONDITION_DEPTH} levels`);
  }
  let decoder = condDecoders[depth];
  if (decoder === undefined) {
    decoder = (r) => batchCond(r, depth);
    condDecoders[depth] = decoder;
  }
  return decoder;
}

function batchCond(r: ProtobufReader, depth: number): BatchCond {
  let cond: BatchCond | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 8 /* 1:VARINT */:
        cond = { type: "ok", step: r.uint32() };
        break;
      case 16 /* 2:VARINT */:
        cond = { type: "error", step: r.uint32() };
        break;
      case 26 /* 3:LEN */:
        cond = { type: "not", cond: r.message(condAt(depth + 1)) };
        break;
      case 34 /* 4:LEN */:
        cond = { type: "and", conds: r.message((r) => condList(r, depth + 1)) };
        break;
      case 42 /* 5:LEN */:
        cond = { type: "or", conds: r.message((r) => condList(r, depth + 1)) };
        break;
      case 50 /* 6:LEN */:
        r.skipMessage();
        cond = { type: "is_autocommit" };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5, 6), "BatchCond");
    }
  }
  return cond ?? noneOf("BatchCond");
}

/**
 * The operands of an `and`/`or` at nesting `depth - 1`, each at `depth`. The depth is checked only when an operand is
 * present: an empty `and`/`or` at the deepest allowed level is legitimate (as it is in JSON).
 */
function condList(r: ProtobufReader, depth: number): BatchCond[] {
  const conds: BatchCond[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) conds.push(r.message(condAt(depth)));
    else r.skip(tag, bits(1), "BatchCond.CondList");
  }
  return conds;
}

function value(r: ProtobufReader): Value {
  let result: Value | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        r.skipMessage();
        result = null;
        break;
      case 16 /* 2:VARINT */:
        result = r.sint64();
        break;
      case 25 /* 3:I64 */:
        result = r.double();
        break;
      case 34 /* 4:LEN */:
        result = r.string();
        break;
      case 42 /* 5:LEN */:
        result = r.bytes();
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5), "Value");
    }
  }
  if (result === undefined) {
    throw new ProtocolError("PROTO_BAD_REQUEST", "a Value has none of null, integer, float, text, blob");
  }
  return result;
}

function stmtResult(r: ProtobufReader): StmtResult {
  const cols: Col[] = [];
  const rows: Value[][] = [];
  let affectedRowCount = 0;
  let lastInsertRowid: bigint | null = null;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        cols.push(r.message(col));
        break;
      case 18 /* 2:LEN */:
        rows.push(r.message(row));
        break;
      case 24 /* 3:VARINT */:
        affectedRowCount = r.uint64Number();
        break;
      case 32 /* 4:VARINT */:
        lastInsertRowid = r.sint64();
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4), "StmtResult");
    }
  }
  return { cols, rows, affectedRowCount, lastInsertRowid };
}

function emptyStmtResult(): StmtResult {
  return { cols: [], rows: [], affectedRowCount: 0, lastInsertRowid: null };
}

function col(r: ProtobufReader): Col {
  let name: string | null = null;
  let decltype: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) name = r.string();
    else if (tag === 18 /* 2:LEN */) decltype = r.string();
    else r.skip(tag, bits(1, 2), "Col");
  }
  return { name, decltype };
}

function row(r: ProtobufReader): Value[] {
  const values: Value[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) values.push(r.message(value));
    else r.skip(tag, bits(1), "Row");
  }
  return values;
}

function batchResult(r: ProtobufReader): BatchResult {
  const results = new Map<number, StmtResult>();
  const errors = new Map<number, HranaError>();
  let length = 0;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) {
      const [step, result] = r.message(mapEntry("BatchResult.step_results", stmtResult, emptyStmtResult));
      results.set(step, result);
      length = Math.max(length, step + 1);
    } else if (tag === 18 /* 2:LEN */) {
      const [step, stepError] = r.message(mapEntry("BatchResult.step_errors", error, () => ({ message: "", code: null })));
      errors.set(step, stepError);
      length = Math.max(length, step + 1);
    } else r.skip(tag, bits(1, 2), "BatchResult");
  }
  const stepResults: (StmtResult | null)[] = new Array<StmtResult | null>(length).fill(null);
  const stepErrors: (HranaError | null)[] = new Array<HranaError | null>(length).fill(null);
  for (const [step, result] of results) stepResults[step] = result;
  for (const [step, stepError] of errors) stepErrors[step] = stepError;
  return { stepResults, stepErrors };
}

function emptyBatchResult(): BatchResult {
  return { stepResults: [], stepErrors: [] };
}

function mapEntry<T>(name: string, decode: (r: ProtobufReader) => T, empty: () => T): (r: ProtobufReader) => [number, T] {
  return (r) => {
    let key = 0;
    let entry: T | undefined;
    while (r.more()) {
      const tag = r.tag();
      if (tag === 8 /* 1:VARINT */) key = r.uint32();
      else if (tag === 18 /* 2:LEN */) entry = r.message(decode);
      else r.skip(tag, bits(1, 2), name);
    }
    if (key > MAX_DECODED_STEP) {
      throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: step index ${key} is larger than ${MAX_DECODED_STEP}`);
    }
    return [key, entry ?? empty()];
  };
}

function describeResult(r: ProtobufReader): DescribeResult {
  const params: DescribeParam[] = [];
  const cols: DescribeCol[] = [];
  let isExplain = false;
  let isReadonly = false;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        params.push({ name: r.message(describeParamName) });
        break;
      case 18 /* 2:LEN */:
        cols.push(r.message(describeCol));
        break;
      case 24 /* 3:VARINT */:
        isExplain = r.bool();
        break;
      case 32 /* 4:VARINT */:
        isReadonly = r.bool();
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4), "DescribeResult");
    }
  }
  return { params, cols, isExplain, isReadonly };
}

function emptyDescribeResult(): DescribeResult {
  return { params: [], cols: [], isExplain: false, isReadonly: false };
}

function describeParamName(r: ProtobufReader): string | null {
  let name: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) name = r.string();
    else r.skip(tag, bits(1), "DescribeParam");
  }
  return name;
}

function describeCol(r: ProtobufReader): DescribeCol {
  let name = "";
  let decltype: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) name = r.string();
    else if (tag === 18 /* 2:LEN */) decltype = r.string();
    else r.skip(tag, bits(1, 2), "DescribeCol");
  }
  return { name, decltype };
}

function cursorEntry(r: ProtobufReader): CursorEntry {
  let entry: CursorEntry | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        entry = r.message(stepBegin);
        break;
      case 18 /* 2:LEN */:
        entry = r.message(stepEnd);
        break;
      case 26 /* 3:LEN */:
        entry = r.message(stepError);
        break;
      case 34 /* 4:LEN */:
        entry = { type: "row", row: r.message(row) };
        break;
      case 42 /* 5:LEN */:
        entry = { type: "error", error: r.message(error) };
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5), "CursorEntry");
    }
  }
  return entry ?? noneOf("CursorEntry");
}

function stepBegin(r: ProtobufReader): CursorEntry {
  let step = 0;
  const cols: Col[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) step = r.uint32();
    else if (tag === 18 /* 2:LEN */) cols.push(r.message(col));
    else r.skip(tag, bits(1, 2), "StepBeginEntry");
  }
  return { type: "step_begin", step, cols };
}

function stepEnd(r: ProtobufReader): CursorEntry {
  let affectedRowCount = 0;
  let lastInsertRowid: bigint | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) affectedRowCount = r.uint64Number();
    else if (tag === 16 /* 2:VARINT */) lastInsertRowid = r.sint64();
    else r.skip(tag, bits(1, 2), "StepEndEntry");
  }
  return { type: "step_end", affectedRowCount, lastInsertRowid };
}

function stepError(r: ProtobufReader): CursorEntry {
  let step = 0;
  let stepErr: HranaError = { message: "", code: null };
  while (r.more()) {
    const tag = r.tag();
    if (tag === 8 /* 1:VARINT */) step = r.uint32();
    else if (tag === 18 /* 2:LEN */) stepErr = r.message(error);
    else r.skip(tag, bits(1, 2), "StepErrorEntry");
  }
  return { type: "step_error", step, error: stepErr };
}

function error(r: ProtobufReader): HranaError {
  let message = "";
  let code: string | null = null;
  while (r.more()) {
    const tag = r.tag();
    if (tag === 10 /* 1:LEN */) message = r.string();
    else if (tag === 18 /* 2:LEN */) code = r.string();
    else r.skip(tag, bits(1, 2), "Error");
  }
  return { message, code };
}

// ---------------------------------------------------------------------------------------------------------------

function checkSql(name: string, sql: string | null, sqlId: number | null): void {
  if (sql !== null && sqlId !== null) {
    throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: \`sql\` and \`sql_id\` must not both be given`);
  }
  if (sql === null && sqlId === null) {
    throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: one of \`sql\` and \`sql_id\` is required`);
  }
}

function noneOf(name: string): never {
  throw new ProtocolError("PROTO_UNKNOWN_TYPE", `${name} has no known variant set`);
}

function missing(name: string, field: string): never {
  throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: the \`${field}\` field is missing`);
}
