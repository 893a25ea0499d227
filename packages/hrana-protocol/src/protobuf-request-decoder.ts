/**
 * Protobuf decoding of the Hrana 3 messages a client sends (what a server decodes): pipeline and cursor request
 * bodies and WebSocket client messages (the schema of HRANA_3_SPEC.md, field numbers in the comments).
 *
 * Unknown fields are skipped (forward compatibility, and sqld's `replication_index` extras); a known field with
 * the wrong wire type, a truncated message, an over-long varint or invalid UTF-8 is a `ProtocolError`, as are a
 * oneof with no known member, a `Stmt` without exactly one of `sql`/`sql_id`, and conditions nested too deeply.
 * A singular field that appears twice keeps its last occurrence (sub-messages are replaced, not merged).
 */
import type { Value } from "@hranad/driver";
import type { Batch, BatchCond, BatchStep, ClientMsg, CursorReqBody, NamedArg, PipelineReqBody, Stmt, StreamRequest, WsRequest } from "./messages.js";
import { MAX_CONDITION_DEPTH, ProtocolError } from "./protocol-error.js";
import { ProtobufReader } from "./protobuf-reader.js";
import { bits, noneOf, value } from "./protobuf-shared.js";

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

// ---------------------------------------------------------------------------------------------------------------
// Statements and batches

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

// ---------------------------------------------------------------------------------------------------------------

function checkSql(name: string, sql: string | null, sqlId: number | null): void {
  if (sql !== null && sqlId !== null) {
    throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: \`sql\` and \`sql_id\` must not both be given`);
  }
  if (sql === null && sqlId === null) {
    throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: one of \`sql\` and \`sql_id\` is required`);
  }
}

function missing(name: string, field: string): never {
  throw new ProtocolError("PROTO_BAD_REQUEST", `${name}: the \`${field}\` field is missing`);
}
