/**
 * JSON encoding of Hrana messages, built as strings directly (no intermediate objects, no `JSON.stringify` of a
 * whole tree). Key order is stable and follows the traces: e.g. `cols, rows, affected_row_count, last_insert_rowid`.
 *
 * Integers are decimal strings, floats JSON numbers, blobs base64 without padding. JSON has no form for
 * ±Infinity: they are written as `9e999`/`-9e999`, as SQLite's own JSON functions do, which every JavaScript
 * `JSON.parse` reads back as ±Infinity (sqld writes `null`, which @libsql/client rejects). NaN (which SQLite
 * never returns: it stores NULL instead) is written as a null value.
 */
import type { Value } from "@hranad/driver";
import { encodeBase64 } from "./base64.js";
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

const str = JSON.stringify;

// ---------------------------------------------------------------------------------------------------------------
// Server messages

export function encodePipelineRespBody(body: PipelineRespBody): string {
  let out = `{"baton":${nullableString(body.baton)},"base_url":${nullableString(body.baseUrl)},"results":[`;
  const results = body.results;
  for (let i = 0; i < results.length; i++) {
    if (i > 0) out += ",";
    out += encodeStreamResult(results[i] as StreamResult);
  }
  return out + "]}";
}

export function encodeStreamResult(result: StreamResult): string {
  return result.type === "ok"
    ? `{"type":"ok","response":${encodeStreamResponse(result.response)}}`
    : `{"type":"error","error":${encodeError(result.error)}}`;
}

export function encodeStreamResponse(response: StreamResponse): string {
  switch (response.type) {
    case "execute":
      return `{"type":"execute","result":${encodeStmtResult(response.result)}}`;
    case "batch":
      return `{"type":"batch","result":${encodeBatchResult(response.result)}}`;
    case "describe":
      return `{"type":"describe","result":${encodeDescribeResult(response.result)}}`;
    case "get_autocommit":
      return `{"type":"get_autocommit","is_autocommit":${response.isAutocommit}}`;
    default:
      return `{"type":"${response.type}"}`;
  }
}

/** The first line of a `/v3/cursor` response, with its trailing newline. */
export function encodeCursorRespLine(body: CursorRespBody): string {
  return `{"baton":${nullableString(body.baton)},"base_url":${nullableString(body.baseUrl)}}\n`;
}

/** One entry line of a `/v3/cursor` response, with its trailing newline. */
export function encodeCursorEntryLine(entry: CursorEntry): string {
  return encodeCursorEntry(entry) + "\n";
}

export function encodeCursorEntry(entry: CursorEntry): string {
  switch (entry.type) {
    case "step_begin":
      return `{"type":"step_begin","step":${entry.step},"cols":${encodeCols(entry.cols)}}`;
    case "step_end":
      return `{"type":"step_end","affected_row_count":${entry.affectedRowCount},"last_insert_rowid":${rowid(entry.lastInsertRowid)}}`;
    case "step_error":
      return `{"type":"step_error","step":${entry.step},"error":${encodeError(entry.error)}}`;
    case "row":
      return `{"type":"row","row":${encodeRow(entry.row)}}`;
    case "error":
      return `{"type":"error","error":${encodeError(entry.error)}}`;
  }
}

export function encodeServerMsg(msg: ServerMsg): string {
  switch (msg.type) {
    case "hello_ok":
      return `{"type":"hello_ok"}`;
    case "hello_error":
      return `{"type":"hello_error","error":${encodeError(msg.error)}}`;
    case "response_ok":
      return `{"type":"response_ok","request_id":${msg.requestId},"response":${encodeWsResponse(msg.response)}}`;
    case "response_error":
      return `{"type":"response_error","request_id":${msg.requestId},"error":${encodeError(msg.error)}}`;
  }
}

export function encodeWsResponse(response: WsResponse): string {
  if (response.type === "fetch_cursor") {
    let out = `{"type":"fetch_cursor","entries":[`;
    const entries = response.entries;
    for (let i = 0; i < entries.length; i++) {
      if (i > 0) out += ",";
      out += encodeCursorEntry(entries[i] as CursorEntry);
    }
    return out + `],"done":${response.done}}`;
  }
  switch (response.type) {
    case "execute":
    case "batch":
    case "describe":
    case "get_autocommit":
    case "sequence":
    case "store_sql":
    case "close_sql":
      return encodeStreamResponse(response);
    default:
      return `{"type":"${response.type}"}`;
  }
}

export function encodeError(error: HranaError): string {
  return `{"message":${str(error.message)},"code":${nullableString(error.code)}}`;
}

export function encodeStmtResult(result: StmtResult): string {
  let out = `{"cols":${encodeCols(result.cols)},"rows":[`;
  const rows = result.rows;
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) out += ",";
    out += encodeRow(rows[i] as readonly Value[]);
  }
  return out + `],"affected_row_count":${result.affectedRowCount},"last_insert_rowid":${rowid(result.lastInsertRowid)}}`;
}

export function encodeBatchResult(result: BatchResult): string {
  let out = `{"step_results":[`;
  const results = result.stepResults;
  for (let i = 0; i < results.length; i++) {
    if (i > 0) out += ",";
    const item = results[i];
    out += item ? encodeStmtResult(item) : "null";
  }
  out += `],"step_errors":[`;
  const errors = result.stepErrors;
  for (let i = 0; i < errors.length; i++) {
    if (i > 0) out += ",";
    const item = errors[i];
    out += item ? encodeError(item) : "null";
  }
  return out + "]}";
}

export function encodeDescribeResult(result: DescribeResult): string {
  let out = `{"params":[`;
  for (let i = 0; i < result.params.length; i++) {
    if (i > 0) out += ",";
    out += `{"name":${nullableString((result.params[i] as DescribeParam).name)}}`;
  }
  out += `],"cols":[`;
  for (let i = 0; i < result.cols.length; i++) {
    const col = result.cols[i] as DescribeResult["cols"][number];
    if (i > 0) out += ",";
    out += `{"name":${str(col.name)},"decltype":${nullableString(col.decltype)}}`;
  }
  return out + `],"is_explain":${result.isExplain},"is_readonly":${result.isReadonly}}`;
}

export function encodeValue(value: Value): string {
  switch (typeof value) {
    case "bigint":
      return `{"type":"integer","value":"${value}"}`;
    case "string":
      return `{"type":"text","value":${str(value)}}`;
    case "number":
      return encodeFloat(value);
    default:
      if (value === null) return `{"type":"null"}`;
      return `{"type":"blob","base64":"${encodeBase64(value)}"}`;
  }
}

function encodeFloat(value: number): string {
  if (Number.isFinite(value)) {
    // -0 keeps its sign: JSON.parse("-0") is -0.
    return `{"type":"float","value":${value === 0 && 1 / value < 0 ? "-0" : value}}`;
  }
  if (value === Infinity) return `{"type":"float","value":9e999}`;
  if (value === -Infinity) return `{"type":"float","value":-9e999}`;
  return `{"type":"null"}`;
}

function encodeRow(row: readonly Value[]): string {
  let out = "[";
  for (let i = 0; i < row.length; i++) {
    if (i > 0) out += ",";
    out += encodeValue(row[i] as Value);
  }
  return out + "]";
}

function encodeCols(cols: readonly Col[]): string {
  let out = "[";
  for (let i = 0; i < cols.length; i++) {
    const col = cols[i] as Col;
    if (i > 0) out += ",";
    out += `{"name":${nullableString(col.name)},"decltype":${nullableString(col.decltype)}}`;
  }
  return out + "]";
}

function rowid(value: bigint | null): string {
  return value === null ? "null" : `"${value}"`;
}

function nullableString(value: string | null | undefined): string {
  return value === null || value === undefined ? "null" : str(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Client messages (for tests, tools and clients)

export function encodePipelineReqBody(body: PipelineReqBody): string {
  let out = body.baton === null ? `{"requests":[` : `{"baton":${str(body.baton)},"requests":[`;
  for (let i = 0; i < body.requests.length; i++) {
    if (i > 0) out += ",";
    out += encodeStreamRequest(body.requests[i] as StreamRequest);
  }
  return out + "]}";
}

export function encodeCursorReqBody(body: CursorReqBody): string {
  return `{"baton":${nullableString(body.baton)},"batch":${encodeBatch(body.batch)}}`;
}

export function encodeStreamRequest(request: StreamRequest): string {
  switch (request.type) {
    case "close":
    case "get_autocommit":
      return `{"type":"${request.type}"}`;
    case "execute":
      return `{"type":"execute","stmt":${encodeStmt(request.stmt)}}`;
    case "batch":
      return `{"type":"batch","batch":${encodeBatch(request.batch)}}`;
    case "sequence":
    case "describe":
      return `{"type":"${request.type}",${sqlOrSqlId(request.sql, request.sqlId)}}`;
    case "store_sql":
      return `{"type":"store_sql","sql_id":${request.sqlId},"sql":${str(request.sql)}}`;
    case "close_sql":
      return `{"type":"close_sql","sql_id":${request.sqlId}}`;
  }
}

export function encodeClientMsg(msg: ClientMsg): string {
  if (msg.type === "hello") return msg.jwt === null ? `{"type":"hello"}` : `{"type":"hello","jwt":${str(msg.jwt)}}`;
  return `{"type":"request","request_id":${msg.requestId},"request":${encodeWsRequest(msg.request)}}`;
}

export function encodeWsRequest(request: WsRequest): string {
  switch (request.type) {
    case "open_stream":
    case "close_stream":
    case "get_autocommit":
      return `{"type":"${request.type}","stream_id":${request.streamId}}`;
    case "execute":
      return `{"type":"execute","stream_id":${request.streamId},"stmt":${encodeStmt(request.stmt)}}`;
    case "batch":
      return `{"type":"batch","stream_id":${request.streamId},"batch":${encodeBatch(request.batch)}}`;
    case "open_cursor":
      return `{"type":"open_cursor","stream_id":${request.streamId},"cursor_id":${request.cursorId},"batch":${encodeBatch(request.batch)}}`;
    case "close_cursor":
      return `{"type":"close_cursor","cursor_id":${request.cursorId}}`;
    case "fetch_cursor":
      return `{"type":"fetch_cursor","cursor_id":${request.cursorId},"max_count":${request.maxCount}}`;
    case "sequence":
    case "describe":
      return `{"type":"${request.type}","stream_id":${request.streamId},${sqlOrSqlId(request.sql, request.sqlId)}}`;
    case "store_sql":
      return `{"type":"store_sql","sql_id":${request.sqlId},"sql":${str(request.sql)}}`;
    case "close_sql":
      return `{"type":"close_sql","sql_id":${request.sqlId}}`;
  }
}

export function encodeStmt(stmt: Stmt): string {
  let out = `{${sqlOrSqlId(stmt.sql, stmt.sqlId)},"args":[`;
  const args = stmt.args ?? [];
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ",";
    out += encodeValue(args[i] as Value);
  }
  out += `],"named_args":[`;
  const named = stmt.namedArgs ?? [];
  for (let i = 0; i < named.length; i++) {
    const arg = named[i] as NamedArg;
    if (i > 0) out += ",";
    out += `{"name":${str(arg.name)},"value":${encodeValue(arg.value)}}`;
  }
  return out + `],"want_rows":${stmt.wantRows ?? true}}`;
}

export function encodeBatch(batch: Batch): string {
  let out = `{"steps":[`;
  for (let i = 0; i < batch.steps.length; i++) {
    const step = batch.steps[i] as BatchStep;
    if (i > 0) out += ",";
    out +=
      step.condition === null || step.condition === undefined
        ? `{"stmt":${encodeStmt(step.stmt)}}`
        : `{"condition":${encodeBatchCond(step.condition)},"stmt":${encodeStmt(step.stmt)}}`;
  }
  return out + "]}";
}

export function encodeBatchCond(cond: BatchCond): string {
  switch (cond.type) {
    case "ok":
    case "error":
      return `{"type":"${cond.type}","step":${cond.step}}`;
    case "not":
      return `{"type":"not","cond":${encodeBatchCond(cond.cond)}}`;
    case "and":
    case "or":
      return `{"type":"${cond.type}","conds":[${cond.conds.map(encodeBatchCond).join(",")}]}`;
    case "is_autocommit":
      return `{"type":"is_autocommit"}`;
  }
}

function sqlOrSqlId(sql: string | null | undefined, sqlId: number | null | undefined): string {
  return sql !== null && sql !== undefined ? `"sql":${str(sql)}` : `"sql_id":${sqlId ?? null}`;
}
