/**
 * Strict JSON decoding of the messages a client sends (what a server decodes): pipeline and cursor request bodies
 * and WebSocket client messages.
 *
 * Every field is checked (type, integer range, presence); unknown fields are ignored (the spec's forward
 * compatibility rule); unknown `type` tags, version-gated requests and malformed values throw `ProtocolError`,
 * whose message names the offending field. Nothing else is ever thrown for malformed input. Every entry point that
 * parses text first scans its nesting depth (`PROTO_NESTING_TOO_DEEP` past `MAX_JSON_DEPTH`).
 */
import type { Value } from "@hranad/driver";
import {
  array,
  bad,
  boolean,
  int32,
  join,
  object,
  optInt32,
  optString,
  parse,
  string,
  text,
  uint32,
  unknownType,
  value,
  where,
  type JsonObject,
} from "./json-read.js";
import type {
  Batch,
  BatchCond,
  BatchStep,
  ClientMsg,
  CursorReqBody,
  NamedArg,
  PipelineReqBody,
  ProtocolVersion,
  Stmt,
  StreamRequest,
  WsRequest,
} from "./messages.js";
import { MAX_CONDITION_DEPTH, ProtocolError } from "./protocol-error.js";

const sqlText = text;

// ---------------------------------------------------------------------------------------------------------------
// Entry points

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

function requireVersion(version: ProtocolVersion, minimum: 2 | 3, what: string): void {
  if (version < minimum) {
    throw new ProtocolError(
      "PROTO_NOT_SUPPORTED",
      `${what} is only supported in protocol version ${minimum} and higher (this stream speaks version ${version})`,
    );
  }
}
