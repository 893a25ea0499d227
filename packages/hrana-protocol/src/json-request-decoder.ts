/**
 * Strict JSON decoding of Hrana messages into typed objects.
 *
 * Every field is checked (type, integer range, presence); unknown fields are ignored (the spec's forward
 * compatibility rule); unknown `type` tags, version-gated requests and malformed values throw `ProtocolError`,
 * whose message names the offending field. Nothing else is ever thrown for malformed input. Every entry point that
 * parses text first scans its nesting depth (`PROTO_NESTING_TOO_DEEP` past `MAX_JSON_DEPTH`).
 */
import type { Value } from "@hranad/driver";
import { decodeBase64 } from "./base64.js";
import { checkJsonDepth } from "./json-depth.js";
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
  DescribeResult,
  HranaError,
  NamedArg,
  PipelineReqBody,
  PipelineRespBody,
  ProtocolVersion,
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

type JsonObject = { readonly [key: string]: unknown };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

// ---------------------------------------------------------------------------------------------------------------
// Entry points: client messages (what a server decodes)

/** `POST /v2/pipeline` (version 2) or `/v3/pipeline` (version 3). */
export function decodePipelineReqBody(input: string | Uint8Array, version: 2 | 3): PipelineReqBody {
  const o = object(parse(input), "");
  const requests = array(o["requests"], "requests");
  const decoded: StreamRequest[] = new Array<StreamRequest>(requests.length);
  for (let i = 0; i < requests.length; i++) decoded[i] = streamRequest(requests[i], `requests[${i}]`, version);
  return { baton: optString(o, "baton", ""), requests: decoded };
}

/** `POST /v3/cursor` (Hrana 3 only). */
export function decodeCursorReqBody(input: string | Uint8Array): CursorReqBody {
  const o = object(parse(input), "");
  return { baton: optString(o, "baton", ""), batch: batch(o["batch"], "batch", 3) };
}

/** One WebSocket text frame from the client, under the negotiated subprotocol's version. */
export function decodeClientMsg(input: string | Uint8Array, version: ProtocolVersion): ClientMsg {
  const o = object(parse(input), "");
  const type = o["type"];
  switch (type) {
    case "hello":
      return { type, jwt: optString(o, "jwt", "") };
    case "request":
      return {
        type,
        requestId: int32(o["request_id"], "request_id"),
        request: wsRequest(o["request"], "request", version),
      };
    default:
      return unknownType(type, "", "ClientMsg");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points: server messages (what a client decodes; used by tests and tools)

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

/** Decodes one `Value` from an already parsed JSON value. */
export function decodeValue(json: unknown): Value {
  return value(json, "value");
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

function streamRequest(json: unknown, path: string, version: ProtocolVersion): StreamRequest {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "close":
      return { type };
    case "execute":
      return { type, stmt: stmt(o["stmt"], join(path, "stmt"), version) };
    case "batch":
      return { type, batch: batch(o["batch"], join(path, "batch"), version) };
    case "sequence":
    case "describe":
      return { type, ...sqlOrSqlId(o, path, version) };
    case "store_sql":
      return { type, sqlId: int32(o["sql_id"], join(path, "sql_id")), sql: sqlText(o["sql"], join(path, "sql")) };
    case "close_sql":
      return { type, sqlId: int32(o["sql_id"], join(path, "sql_id")) };
    case "get_autocommit":
      requireVersion(version, 3, "The `get_autocommit` request");
      return { type };
    default:
      return unknownType(type, path, "StreamRequest");
  }
}

function wsRequest(json: unknown, path: string, version: ProtocolVersion): WsRequest {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "open_stream":
    case "close_stream":
    case "get_autocommit":
      if (type === "get_autocommit") requireVersion(version, 3, "The `get_autocommit` request");
      return { type, streamId: int32(o["stream_id"], join(path, "stream_id")) };
    case "execute":
      return {
        type,
        streamId: int32(o["stream_id"], join(path, "stream_id")),
        stmt: stmt(o["stmt"], join(path, "stmt"), version),
      };
    case "batch":
      return {
        type,
        streamId: int32(o["stream_id"], join(path, "stream_id")),
        batch: batch(o["batch"], join(path, "batch"), version),
      };
    case "open_cursor":
      requireVersion(version, 3, "The `open_cursor` request");
      return {
        type,
        streamId: int32(o["stream_id"], join(path, "stream_id")),
        cursorId: int32(o["cursor_id"], join(path, "cursor_id")),
        batch: batch(o["batch"], join(path, "batch"), version),
      };
    case "close_cursor":
      requireVersion(version, 3, "The `close_cursor` request");
      return { type, cursorId: int32(o["cursor_id"], join(path, "cursor_id")) };
    case "fetch_cursor":
      requireVersion(version, 3, "The `fetch_cursor` request");
      return {
        type,
        cursorId: int32(o["cursor_id"], join(path, "cursor_id")),
        maxCount: uint32(o["max_count"], join(path, "max_count")),
      };
    case "sequence":
    case "describe":
      requireVersion(version, 2, `The \`${type}\` request`);
      return { type, streamId: int32(o["stream_id"], join(path, "stream_id")), ...sqlOrSqlId(o, path, version) };
    case "store_sql":
      requireVersion(version, 2, "The `store_sql` request");
      return { type, sqlId: int32(o["sql_id"], join(path, "sql_id")), sql: sqlText(o["sql"], join(path, "sql")) };
    case "close_sql":
      requireVersion(version, 2, "The `close_sql` request");
      return { type, sqlId: int32(o["sql_id"], join(path, "sql_id")) };
    default:
      return unknownType(type, path, "Request");
  }
}

function sqlOrSqlId(o: JsonObject, path: string, version: ProtocolVersion): { sql: string | null; sqlId: number | null } {
  const sqlJson = o["sql"];
  const sql = sqlJson === undefined || sqlJson === null ? null : sqlText(sqlJson, join(path, "sql"));
  const sqlId = optInt32(o, "sql_id", path);
  if (sqlId !== null) requireVersion(version, 2, "`sql_id`");
  if (sql !== null && sqlId !== null) bad(path, "`sql` and `sql_id` must not both be given");
  if (sql === null && sqlId === null) bad(path, "one of `sql` and `sql_id` is required");
  return { sql, sqlId };
}

function stmt(json: unknown, path: string, version: ProtocolVersion): Stmt {
  const o = object(json, path);
  const { sql, sqlId } = sqlOrSqlId(o, path, version);

  const argsJson = o["args"];
  let args: Value[] = [];
  if (argsJson !== undefined) {
    const list = array(argsJson, join(path, "args"));
    args = new Array<Value>(list.length);
    for (let i = 0; i < list.length; i++) args[i] = value(list[i], `${join(path, "args")}[${i}]`);
  }

  const namedJson = o["named_args"];
  let namedArgs: NamedArg[] = [];
  if (namedJson !== undefined) {
    const list = array(namedJson, join(path, "named_args"));
    namedArgs = new Array<NamedArg>(list.length);
    for (let i = 0; i < list.length; i++) {
      const argPath = `${join(path, "named_args")}[${i}]`;
      const arg = object(list[i], argPath);
      namedArgs[i] = { name: string(arg["name"], join(argPath, "name")), value: value(arg["value"], join(argPath, "value")) };
    }
  }

  const wantRowsJson = o["want_rows"];
  let wantRows = true;
  if (wantRowsJson !== undefined && wantRowsJson !== null) wantRows = boolean(wantRowsJson, join(path, "want_rows"));

  return { sql, sqlId, args, namedArgs, wantRows };
}

function batch(json: unknown, path: string, version: ProtocolVersion): Batch {
  const o = object(json, path);
  const stepsPath = join(path, "steps");
  const list = array(o["steps"], stepsPath);
  const steps: BatchStep[] = new Array<BatchStep>(list.length);
  for (let i = 0; i < list.length; i++) {
    const stepPath = `${stepsPath}[${i}]`;
    const step = object(list[i], stepPath);
    const conditionJson = step["condition"];
    const condition =
      conditionJson === undefined || conditionJson === null
        ? null
        : batchCond(conditionJson, join(stepPath, "condition"), version, 1);
    steps[i] = { condition, stmt: stmt(step["stmt"], join(stepPath, "stmt"), version) };
  }
  return { steps };
}

function batchCond(json: unknown, path: string, version: ProtocolVersion, depth: number): BatchCond {
  if (depth > MAX_CONDITION_DEPTH) {
    throw new ProtocolError(
      "PROTO_NESTING_TOO_DEEP",
      `${where(path)}: batch conditions nest deeper than ${MAX_CONDITION_DEPTH} levels`,
    );
  }
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "ok":
    case "error":
      return { type, step: uint32(o["step"], join(path, "step")) };
    case "not":
      return { type, cond: batchCond(o["cond"], join(path, "cond"), version, depth + 1) };
    case "and":
    case "or": {
      const condsPath = join(path, "conds");
      const list = array(o["conds"], condsPath);
      const conds: BatchCond[] = new Array<BatchCond>(list.length);
      for (let i = 0; i < list.length; i++) conds[i] = batchCond(list[i], `${condsPath}[${i}]`, version, depth + 1);
      return { type, conds };
    }
    case "is_autocommit":
      requireVersion(version, 3, "BatchCond of type `is_autocommit`");
      return { type };
    default:
      return unknownType(type, path, "BatchCond");
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

// ---------------------------------------------------------------------------------------------------------------
// Values and primitives

function value(json: unknown, path: string): Value {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "null":
      return null;
    case "integer": {
      const digits = o["value"];
      if (typeof digits !== "string") bad(join(path, "value"), `expected a decimal integer in a string, got ${kind(digits)}`);
      return int64(digits, join(path, "value"));
    }
    case "float": {
      const number = o["value"];
      if (typeof number !== "number") bad(join(path, "value"), `expected a number, got ${kind(number)}`);
      return number;
    }
    case "text":
      return text(o["value"], join(path, "value"));
    case "blob": {
      const encoded = o["base64"];
      if (typeof encoded !== "string") bad(join(path, "base64"), `expected a base64 string, got ${kind(encoded)}`);
      const bytes = decodeBase64(encoded);
      if (bytes === undefined) bad(join(path, "base64"), "not valid base64");
      return bytes;
    }
    default:
      return unknownType(type, path, "Value");
  }
}

/** A signed 64-bit decimal integer, as Rust's `i64::from_str` accepts it (optional sign, leading zeros allowed). */
function int64(text: string, path: string): bigint {
  if (!DECIMAL.test(text)) bad(path, `expected a decimal integer, got ${JSON.stringify(text.slice(0, 40))}`);
  const parsed = BigInt(text);
  if (parsed < INT64_MIN || parsed > INT64_MAX) bad(path, "integer out of the signed 64-bit range");
  return parsed;
}

function optInt64String(o: JsonObject, key: string, path: string): bigint | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  if (typeof json !== "string") bad(join(path, key), `expected a decimal integer in a string or null, got ${kind(json)}`);
  return int64(json, join(path, key));
}

/**
 * `JSON.parse` behind a depth scan: input nested deeper than `MAX_JSON_DEPTH` is refused with
 * `PROTO_NESTING_TOO_DEEP` before it is decoded or parsed (deep nesting makes `JSON.parse` superlinear, even in a
 * field that is ignored). Bytes are scanned before UTF-8 decoding.
 */
function parse(input: string | Uint8Array): unknown {
  checkJsonDepth(input);
  const text = typeof input === "string" ? input : utf8Text(input);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError("PROTO_INVALID_JSON", "the message is not valid JSON");
  }
}

function utf8Text(input: Uint8Array): string {
  try {
    return utf8.decode(input);
  } catch {
    throw new ProtocolError("PROTO_INVALID_JSON", "the message is not valid UTF-8");
  }
}

function object(json: unknown, path: string): JsonObject {
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad(path, `expected an object, got ${kind(json)}`);
  return json as JsonObject;
}

function array(json: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(json)) bad(path, `expected an array, got ${kind(json)}`);
  return json;
}

function string(json: unknown, path: string): string {
  if (typeof json !== "string") bad(path, `expected a string, got ${kind(json)}`);
  return json;
}

/** A string that must be well-formed Unicode (JSON escapes can smuggle lone surrogates; sqld rejects them). */
function text(json: unknown, path: string): string {
  const result = string(json, path);
  if (!(result as unknown as WellFormedString).isWellFormed()) bad(path, "the string contains a lone surrogate");
  return result;
}

const sqlText = text;

function optString(o: JsonObject, key: string, path: string): string | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  return string(json, join(path, key));
}

function boolean(json: unknown, path: string): boolean {
  if (typeof json !== "boolean") bad(path, `expected a boolean, got ${kind(json)}`);
  return json;
}

function int32(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isInteger(json) || json < -2147483648 || json > 2147483647) {
    bad(path, `expected a 32-bit signed integer, got ${kind(json)}`);
  }
  return json;
}

function optInt32(o: JsonObject, key: string, path: string): number | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  return int32(json, join(path, key));
}

function uint32(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isInteger(json) || json < 0 || json > 4294967295) {
    bad(path, `expected a 32-bit unsigned integer, got ${kind(json)}`);
  }
  return json;
}

/** A non-negative count such as `affected_row_count` (a JSON number, at most 2^53 - 1). */
function count(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isSafeInteger(json) || json < 0) {
    bad(path, `expected a non-negative integer, got ${kind(json)}`);
  }
  return json;
}

function requireVersion(version: ProtocolVersion, minimum: 2 | 3, what: string): void {
  if (version < minimum) {
    throw new ProtocolError(
      "PROTO_NOT_SUPPORTED",
      `${what} is only supported in protocol version ${minimum} and higher (this stream speaks version ${version})`,
    );
  }
}

function unknownType(type: unknown, path: string, structure: string): never {
  if (typeof type !== "string") bad(join(path, "type"), `expected the ${structure} type tag (a string), got ${kind(type)}`);
  throw new ProtocolError("PROTO_UNKNOWN_TYPE", `${where(path)}: unknown ${structure} type ${JSON.stringify(type.slice(0, 40))}`);
}

function bad(path: string, message: string): never {
  throw new ProtocolError("PROTO_BAD_REQUEST", `${where(path)}: ${message}`);
}

function where(path: string): string {
  return path === "" ? "the message" : `field \`${path}\``;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function kind(json: unknown): string {
  if (json === undefined) return "nothing (the field is missing)";
  if (json === null) return "null";
  if (Array.isArray(json)) return "an array";
  if (typeof json === "string") return "a string";
  if (typeof json === "number") return Number.isInteger(json) ? `the number ${json}` : "a non-integer number";
  return `a ${typeof json}`;
}

// `String.prototype.isWellFormed` is in Node 20 but not in TypeScript's ES2023 lib.
interface WellFormedString {
  isWellFormed(): boolean;
}
