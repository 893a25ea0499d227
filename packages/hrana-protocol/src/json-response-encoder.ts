/**
 * JSON encoding of the messages a server sends, built as strings directly (no intermediate objects, no
 * `JSON.stringify` of a whole tree). Key order is stable and follows the traces: e.g. `cols, rows,
 * affected_row_count, last_insert_rowid`. Values are written by `encodeValue` (json-write.ts).
 */
import type { Value } from "@hranad/driver";
import { encodeValue, nullableString, str } from "./json-write.js";
import type {
  BatchResult,
  Col,
  CursorEntry,
  CursorRespBody,
  DescribeParam,
  DescribeResult,
  HranaError,
  PipelineRespBody,
  ServerMsg,
  StmtResult,
  StreamResponse,
  StreamResult,
  WsResponse,
} from "./messages.js";

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
