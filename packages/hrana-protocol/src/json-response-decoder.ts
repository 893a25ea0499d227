/**
 * Strict JSON decoding of the messages a server sends (what a client decodes; used by tests and tools): pipeline
 * and cursor response bodies, cursor entries and WebSocket server messages.
 *
 * The same rules as the request decoder: every field is checked, unknown fields are ignored, unknown `type` tags
 * and malformed values throw `ProtocolError` naming the field, and text is depth-scanned before it is parsed.
 */
import type { Value } from "@hranad/driver";
import {
  array,
  boolean,
  count,
  int32,
  join,
  object,
  optInt64String,
  optString,
  parse,
  string,
  uint32,
  unknownType,
  utf8Text,
  value,
} from "./json-read.js";
import type {
  BatchResult,
  Col,
  CursorEntry,
  CursorRespBody,
  DescribeResult,
  HranaError,
  PipelineRespBody,
  ServerMsg,
  StmtResult,
  StreamResponse,
  StreamResult,
  WsResponse,
} from "./messages.js";
import { ProtocolError } from "./protocol-error.js";

// ---------------------------------------------------------------------------------------------------------------
// Entry points

export function decodePipelineRespBody(input: string | Uint8Array): PipelineRespBody {
  const o = object(parse(input), "");
  const results = array(o["results"], "results");
  const decoded: StreamResult[] = new Array<StreamResult>(results.length);
  for (let i = 0; i < results.length; i++) decoded[i] = streamResult(results[i], `results[${i}]`);
  return { baton: optString(o, "baton", ""), baseUrl: optString(o, "base_url", ""), results: decoded };
}

export function decodeCursorRespBody(input: string | Uint8Array): CursorRespBody {
  const o = object(parse(input), "");
  return { baton: optString(o, "baton", ""), baseUrl: optString(o, "base_url", "") };
}

export function decodeCursorEntry(input: string | Uint8Array): CursorEntry {
  return cursorEntry(parse(input), "");
}

/** A whole `/v3/cursor` response body: the first line is the `CursorRespBody`, each further line an entry. */
export function decodeCursorRespStream(input: string | Uint8Array): { body: CursorRespBody; entries: CursorEntry[] } {
  const text = typeof input === "string" ? input : utf8Text(input);
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new ProtocolError("PROTO_BAD_REQUEST", "the cursor response has no header line");
  const body = decodeCursorRespBody(lines[0] as string);
  const entries: CursorEntry[] = [];
  for (let i = 1; i < lines.length; i++) entries.push(cursorEntry(parse(lines[i] as string), `entries[${i - 1}]`));
  return { body, entries };
}

export function decodeServerMsg(input: string | Uint8Array): ServerMsg {
  const o = object(parse(input), "");
  const type = o["type"];
  switch (type) {
    case "hello_ok":
      return { type };
    case "hello_error":
      return { type, error: error(o["error"], "error") };
    case "response_ok":
      return { type, requestId: int32(o["request_id"], "request_id"), response: wsResponse(o["response"], "response") };
    case "response_error":
      return { type, requestId: int32(o["request_id"], "request_id"), error: error(o["error"], "error") };
    default:
      return unknownType(type, "", "ServerMsg");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

function streamResult(json: unknown, path: string): StreamResult {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "ok":
      return { type, response: streamResponse(o["response"], join(path, "response")) };
    case "error":
      return { type, error: error(o["error"], join(path, "error")) };
    default:
      return unknownType(type, path, "StreamResult");
  }
}

function streamResponse(json: unknown, path: string): StreamResponse {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "close":
    case "sequence":
    case "store_sql":
    case "close_sql":
      return { type };
    case "execute":
      return { type, result: stmtResult(o["result"], join(path, "result")) };
    case "batch":
      return { type, result: batchResult(o["result"], join(path, "result")) };
    case "describe":
      return { type, result: describeResult(o["result"], join(path, "result")) };
    case "get_autocommit":
      return { type, isAutocommit: boolean(o["is_autocommit"], join(path, "is_autocommit")) };
    default:
      return unknownType(type, path, "StreamResponse");
  }
}

function wsResponse(json: unknown, path: string): WsResponse {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "open_stream":
    case "close_stream":
    case "open_cursor":
    case "close_cursor":
    case "sequence":
    case "store_sql":
    case "close_sql":
      return { type };
    case "execute":
      return { type, result: stmtResult(o["result"], join(path, "result")) };
    case "batch":
      return { type, result: batchResult(o["result"], join(path, "result")) };
    case "describe":
      return { type, result: describeResult(o["result"], join(path, "result")) };
    case "get_autocommit":
      return { type, isAutocommit: boolean(o["is_autocommit"], join(path, "is_autocommit")) };
    case "fetch_cursor": {
      const entriesPath = join(path, "entries");
      const list = array(o["entries"], entriesPath);
      const entries: CursorEntry[] = new Array<CursorEntry>(list.length);
      for (let i = 0; i < list.length; i++) entries[i] = cursorEntry(list[i], `${entriesPath}[${i}]`);
      return { type, entries, done: boolean(o["done"], join(path, "done")) };
    }
    default:
      return unknownType(type, path, "Response");
  }
}

function cursorEntry(json: unknown, path: string): CursorEntry {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "step_begin":
      return { type, step: uint32(o["step"], join(path, "step")), cols: cols(o["cols"], join(path, "cols")) };
    case "step_end":
      return {
        type,
        affectedRowCount: count(o["affected_row_count"], join(path, "affected_row_count")),
        lastInsertRowid: optInt64String(o, "last_insert_rowid", path),
      };
    case "step_error":
      return { type, step: uint32(o["step"], join(path, "step")), error: error(o["error"], join(path, "error")) };
    case "row":
      return { type, row: row(o["row"], join(path, "row")) };
    case "error":
      return { type, error: error(o["error"], join(path, "error")) };
    default:
      return unknownType(type, path, "CursorEntry");
  }
}

function stmtResult(json: unknown, path: string): StmtResult {
  const o = object(json, path);
  const rowsPath = join(path, "rows");
  const list = array(o["rows"], rowsPath);
  const rows: Value[][] = new Array<Value[]>(list.length);
  for (let i = 0; i < list.length; i++) rows[i] = row(list[i], `${rowsPath}[${i}]`);
  return {
    cols: cols(o["cols"], join(path, "cols")),
    rows,
    affectedRowCount: count(o["affected_row_count"], join(path, "affected_row_count")),
    lastInsertRowid: optInt64String(o, "last_insert_rowid", path),
  };
}

function cols(json: unknown, path: string): Col[] {
  const list = array(json, path);
  const result: Col[] = new Array<Col>(list.length);
  for (let i = 0; i < list.length; i++) {
    const colPath = `${path}[${i}]`;
    const o = object(list[i], colPath);
    result[i] = { name: optString(o, "name", colPath), decltype: optString(o, "decltype", colPath) };
  }
  return result;
}

function row(json: unknown, path: string): Value[] {
  const list = array(json, path);
  const values: Value[] = new Array<Value>(list.length);
  for (let i = 0; i < list.length; i++) values[i] = value(list[i], `${path}[${i}]`);
  return values;
}

function batchResult(json: unknown, path: string): BatchResult {
  const o = object(json, path);
  const resultsPath = join(path, "step_results");
  const results = array(o["step_results"], resultsPath);
  const stepResults: (StmtResult | null)[] = new Array<StmtResult | null>(results.length);
  for (let i = 0; i < results.length; i++) {
    const item = results[i];
    stepResults[i] = item === null ? null : stmtResult(item, `${resultsPath}[${i}]`);
  }
  const errorsPath = join(path, "step_errors");
  const errors = array(o["step_errors"], errorsPath);
  const stepErrors: (HranaError | null)[] = new Array<HranaError | null>(errors.length);
  for (let i = 0; i < errors.length; i++) {
    const item = errors[i];
    stepErrors[i] = item === null ? null : error(item, `${errorsPath}[${i}]`);
  }
  return { stepResults, stepErrors };
}

function describeResult(json: unknown, path: string): DescribeResult {
  const o = object(json, path);
  const paramsPath = join(path, "params");
  const paramList = array(o["params"], paramsPath);
  const params = paramList.map((p, i) => ({ name: optString(object(p, `${paramsPath}[${i}]`), "name", `${paramsPath}[${i}]`) }));
  const colsPath = join(path, "cols");
  const colList = array(o["cols"], colsPath);
  const describeCols = colList.map((c, i) => {
    const colPath = `${colsPath}[${i}]`;
    const col = object(c, colPath);
    return { name: string(col["name"], join(colPath, "name")), decltype: optString(col, "decltype", colPath) };
  });
  return {
    params,
    cols: describeCols,
    isExplain: boolean(o["is_explain"], join(path, "is_explain")),
    isReadonly: boolean(o["is_readonly"], join(path, "is_readonly")),
  };
}

function error(json: unknown, path: string): HranaError {
  const o = object(json, path);
  return { message: string(o["message"], join(path, "message")), code: optString(o, "code", path) };
}
