/**
 * Protobuf encoding of Hrana 3 messages.
 *
 * Proto3 rules as sqld applies them: plain scalars are omitted when zero/empty, `optional` scalars are written
 * whenever set (even `0`), oneof members and sub-messages are always written (so `Value.null` is an empty
 * sub-message), `BatchResult` is two maps keyed by step that hold only the executed steps. sqld's extra fields
 * (`replication_index`, `rows_read`, …) are not written.
 */
import type { Value } from "@hranad/driver";
import type {
  Batch,
  BatchCond,
  BatchResult,
  ClientMsg,
  Col,
  CursorEntry,
  CursorReqBody,
  CursorRespBody,
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
  WsRequest,
  WsResponse,
} from "./messages.js";
import { ProtobufWriter } from "./protobuf-writer.js";

// ---------------------------------------------------------------------------------------------------------------
// Entry points: server messages

export function encodePipelineRespBody(body: PipelineRespBody): Uint8Array {
  return ProtobufWriter.encode((w) => {
    if (body.baton !== null) w.stringField(1, body.baton);
    if (body.baseUrl !== null) w.stringField(2, body.baseUrl);
    for (const result of body.results) {
      const mark = w.beginMessage(3);
      streamResult(w, result);
      w.endLength(mark);
    }
  });
}

/** The first part of a `/v3-protobuf/cursor` response, prefixed with its varint length. */
export function encodeCursorRespDelimited(body: CursorRespBody): Uint8Array {
  return ProtobufWriter.encode((w) => {
    const mark = w.beginLength();
    if (body.baton !== null) w.stringField(1, body.baton);
    if (body.baseUrl !== null) w.stringField(2, body.baseUrl);
    w.endLength(mark);
  });
}

/** One entry of a `/v3-protobuf/cursor` response, prefixed with its varint length. */
export function encodeCursorEntryDelimited(entry: CursorEntry): Uint8Array {
  return ProtobufWriter.encode((w) => {
    const mark = w.beginLength();
    cursorEntry(w, entry);
    w.endLength(mark);
  });
}

/** One cursor entry without a length prefix. */
export function encodeCursorEntry(entry: CursorEntry): Uint8Array {
  return ProtobufWriter.encode((w) => cursorEntry(w, entry));
}

export function encodeServerMsg(msg: ServerMsg): Uint8Array {
  return ProtobufWriter.encode((w) => {
    switch (msg.type) {
      case "hello_ok":
        w.emptyMessage(1);
        return;
      case "hello_error": {
        const mark = w.beginMessage(2);
        message(w, 1, msg.error, error);
        w.endLength(mark);
        return;
      }
      case "response_ok": {
        const mark = w.beginMessage(3);
        if (msg.requestId !== 0) w.int32Field(1, msg.requestId);
        wsResponse(w, msg.response);
        w.endLength(mark);
        return;
      }
      case "response_error": {
        const mark = w.beginMessage(4);
        if (msg.requestId !== 0) w.int32Field(1, msg.requestId);
        message(w, 2, msg.error, error);
        w.endLength(mark);
        return;
      }
    }
  });
}

/** An `Error` on its own: the body of an HTTP error response on `/v3-protobuf` (e.g. `STREAM_EXPIRED`). */
export function encodeError(value: HranaError): Uint8Array {
  return ProtobufWriter.encode((w) => error(w, value));
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points: client messages (for tests, tools and clients)

export function encodePipelineReqBody(body: PipelineReqBody): Uint8Array {
  return ProtobufWriter.encode((w) => {
    if (body.baton !== null) w.stringField(1, body.baton);
    for (const request of body.requests) message(w, 2, request, streamRequest);
  });
}

export function encodeCursorReqBody(body: CursorReqBody): Uint8Array {
  return ProtobufWriter.encode((w) => {
    if (body.baton !== null) w.stringField(1, body.baton);
    message(w, 2, body.batch, batch);
  });
}

export function encodeClientMsg(msg: ClientMsg): Uint8Array {
  return ProtobufWriter.encode((w) => {
    if (msg.type === "hello") {
      const mark = w.beginMessage(1);
      if (msg.jwt !== null) w.stringField(1, msg.jwt);
      w.endLength(mark);
      return;
    }
    const mark = w.beginMessage(2);
    if (msg.requestId !== 0) w.int32Field(1, msg.requestId);
    wsRequest(w, msg.request);
    w.endLength(mark);
  });
}

// ---------------------------------------------------------------------------------------------------------------

function message<T>(w: ProtobufWriter, field: number, value: T, write: (w: ProtobufWriter, value: T) => void): void {
  const mark = w.beginMessage(field);
  write(w, value);
  w.endLength(mark);
}

function streamResult(w: ProtobufWriter, result: StreamResult): void {
  if (result.type === "ok") message(w, 1, result.response, streamResponse);
  else message(w, 2, result.error, error);
}

const STREAM_RESPONSE_FIELDS = {
  close: 1,
  execute: 2,
  batch: 3,
  sequence: 4,
  describe: 5,
  store_sql: 6,
  close_sql: 7,
  get_autocommit: 8,
} as const;

function streamResponse(w: ProtobufWriter, response: StreamResponse): void {
  responseBody(w, STREAM_RESPONSE_FIELDS[response.type], response);
}

const WS_RESPONSE_FIELDS = {
  open_stream: 2,
  close_stream: 3,
  execute: 4,
  batch: 5,
  open_cursor: 6,
  close_cursor: 7,
  fetch_cursor: 8,
  sequence: 9,
  describe: 10,
  store_sql: 11,
  close_sql: 12,
  get_autocommit: 13,
} as const;

function wsResponse(w: ProtobufWriter, response: WsResponse): void {
  responseBody(w, WS_RESPONSE_FIELDS[response.type], response);
}

/** A response body at `field`: HTTP and WebSocket share the bodies and differ only in field numbers. */
function responseBody(w: ProtobufWriter, field: number, response: StreamResponse | WsResponse): void {
  switch (response.type) {
    case "execute":
      return resultMessage(w, field, response.result, stmtResult);
    case "batch":
      return resultMessage(w, field, response.result, batchResult);
    case "describe":
      return resultMessage(w, field, response.result, describeResult);
    case "get_autocommit":
      return autocommit(w, field, response.isAutocommit);
    case "fetch_cursor": {
      const mark = w.beginMessage(field);
      for (const entry of response.entries) message(w, 1, entry, cursorEntry);
      if (response.done) w.boolField(2, true);
      w.endLength(mark);
      return;
    }
    default:
      return w.emptyMessage(field);
  }
}

/** A `*Resp { X result = 1; }` wrapper at `field`. */
function resultMessage<T>(w: ProtobufWriter, field: number, result: T, write: (w: ProtobufWriter, value: T) => void): void {
  const mark = w.beginMessage(field);
  message(w, 1, result, write);
  w.endLength(mark);
}

function autocommit(w: ProtobufWriter, field: number, isAutocommit: boolean): void {
  const mark = w.beginMessage(field);
  if (isAutocommit) w.boolField(1, true);
  w.endLength(mark);
}

function stmtResult(w: ProtobufWriter, result: StmtResult): void {
  for (const c of result.cols) message(w, 1, c, col);
  for (const r of result.rows) message(w, 2, r, row);
  if (result.affectedRowCount !== 0) w.uint64Field(3, result.affectedRowCount);
  if (result.lastInsertRowid !== null) w.sint64Field(4, result.lastInsertRowid);
}

function col(w: ProtobufWriter, value: Col): void {
  if (value.name !== null) w.stringField(1, value.name);
  if (value.decltype !== null) w.stringField(2, value.decltype);
}

function row(w: ProtobufWriter, values: readonly Value[]): void {
  for (let i = 0; i < values.length; i++) {
    const mark = w.beginMessage(1);
    valueContent(w, values[i] as Value);
    w.endLength(mark);
  }
}

function valueContent(w: ProtobufWriter, value: Value): void {
  switch (typeof value) {
    case "bigint":
      return w.sint64Field(2, value);
    case "number":
      return w.doubleField(3, value);
    case "string":
      return w.stringField(4, value);
    default:
      if (value === null) return w.emptyMessage(1);
      return w.bytesField(5, value);
  }
}

function batchResult(w: ProtobufWriter, result: BatchResult): void {
  result.stepResults.forEach((stepResult, step) => {
    if (stepResult === null) return;
    const mark = w.beginMessage(1);
    w.uint32Field(1, step);
    message(w, 2, stepResult, stmtResult);
    w.endLength(mark);
  });
  result.stepErrors.forEach((stepError, step) => {
    if (stepError === null) return;
    const mark = w.beginMessage(2);
    w.uint32Field(1, step);
    message(w, 2, stepError, error);
    w.endLength(mark);
  });
}

function describeResult(w: ProtobufWriter, result: DescribeResult): void {
  for (const param of result.params) {
    const mark = w.beginMessage(1);
    if (param.name !== null) w.stringField(1, param.name);
    w.endLength(mark);
  }
  for (const c of result.cols) {
    const mark = w.beginMessage(2);
    if (c.name !== "") w.stringField(1, c.name);
    if (c.decltype !== null) w.stringField(2, c.decltype);
    w.endLength(mark);
  }
  if (result.isExplain) w.boolField(3, true);
  if (result.isReadonly) w.boolField(4, true);
}

function cursorEntry(w: ProtobufWriter, entry: CursorEntry): void {
  switch (entry.type) {
    case "step_begin": {
      const mark = w.beginMessage(1);
      if (entry.step !== 0) w.uint32Field(1, entry.step);
      for (const c of entry.cols) message(w, 2, c, col);
      w.endLength(mark);
      return;
    }
    case "step_end": {
      const mark = w.beginMessage(2);
      if (entry.affectedRowCount !== 0) w.uint64Field(1, entry.affectedRowCount);
      if (entry.lastInsertRowid !== null) w.sint64Field(2, entry.lastInsertRowid);
      w.endLength(mark);
      return;
    }
    case "step_error": {
      const mark = w.beginMessage(3);
      if (entry.step !== 0) w.uint32Field(1, entry.step);
      message(w, 2, entry.error, error);
      w.endLength(mark);
      return;
    }
    case "row":
      return message(w, 4, entry.row, row);
    case "error":
      return message(w, 5, entry.error, error);
  }
}

function error(w: ProtobufWriter, value: HranaError): void {
  if (value.message !== "") w.stringField(1, value.message);
  if (value.code !== null) w.stringField(2, value.code);
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

function streamRequest(w: ProtobufWriter, request: StreamRequest): void {
  switch (request.type) {
    case "close":
      return w.emptyMessage(1);
    case "execute":
      return message(w, 2, request.stmt, (w, s) => message(w, 1, s, stmt));
    case "batch":
      return message(w, 3, request.batch, (w, b) => message(w, 1, b, batch));
    case "sequence":
    case "describe": {
      const mark = w.beginMessage(request.type === "sequence" ? 4 : 5);
      sqlOrSqlId(w, 1, 2, request.sql, request.sqlId);
      w.endLength(mark);
      return;
    }
    case "store_sql":
      return message(w, 6, request, storeSql);
    case "close_sql": {
      const mark = w.beginMessage(7);
      if (request.sqlId !== 0) w.int32Field(1, request.sqlId);
      w.endLength(mark);
      return;
    }
    case "get_autocommit":
      return w.emptyMessage(8);
  }
}

function wsRequest(w: ProtobufWriter, request: WsRequest): void {
  switch (request.type) {
    case "open_stream":
      return idOnly(w, 2, request.streamId);
    case "close_stream":
      return idOnly(w, 3, request.streamId);
    case "execute": {
      const mark = w.beginMessage(4);
      if (request.streamId !== 0) w.int32Field(1, request.streamId);
      message(w, 2, request.stmt, stmt);
      w.endLength(mark);
      return;
    }
    case "batch": {
      const mark = w.beginMessage(5);
      if (request.streamId !== 0) w.int32Field(1, request.streamId);
      message(w, 2, request.batch, batch);
      w.endLength(mark);
      return;
    }
    case "open_cursor": {
      const mark = w.beginMessage(6);
      if (request.streamId !== 0) w.int32Field(1, request.streamId);
      if (request.cursorId !== 0) w.int32Field(2, request.cursorId);
      message(w, 3, request.batch, batch);
      w.endLength(mark);
      return;
    }
    case "close_cursor":
      return idOnly(w, 7, request.cursorId);
    case "fetch_cursor": {
      const mark = w.beginMessage(8);
      if (request.cursorId !== 0) w.int32Field(1, request.cursorId);
      if (request.maxCount !== 0) w.uint32Field(2, request.maxCount);
      w.endLength(mark);
      return;
    }
    case "sequence":
    case "describe": {
      const mark = w.beginMessage(request.type === "sequence" ? 9 : 10);
      if (request.streamId !== 0) w.int32Field(1, request.streamId);
      sqlOrSqlId(w, 2, 3, request.sql, request.sqlId);
      w.endLength(mark);
      return;
    }
    case "store_sql":
      return message(w, 11, request, storeSql);
    case "close_sql":
      return idOnly(w, 12, request.sqlId);
    case "get_autocommit":
      return idOnly(w, 13, request.streamId);
  }
}

/** A message whose only field is an `int32` at field 1 (`stream_id`, `cursor_id` or `sql_id`). */
function idOnly(w: ProtobufWriter, field: number, id: number): void {
  const mark = w.beginMessage(field);
  if (id !== 0) w.int32Field(1, id);
  w.endLength(mark);
}

function storeSql(w: ProtobufWriter, request: { readonly sqlId: number; readonly sql: string }): void {
  if (request.sqlId !== 0) w.int32Field(1, request.sqlId);
  if (request.sql !== "") w.stringField(2, request.sql);
}

function sqlOrSqlId(
  w: ProtobufWriter,
  sqlField: number,
  sqlIdField: number,
  sql: string | null | undefined,
  sqlId: number | null | undefined,
): void {
  // Both are proto3 `optional`: written when set, even when empty or zero.
  if (sql !== null && sql !== undefined) w.stringField(sqlField, sql);
  if (sqlId !== null && sqlId !== undefined) w.int32Field(sqlIdField, sqlId);
}

function stmt(w: ProtobufWriter, value: Stmt): void {
  sqlOrSqlId(w, 1, 2, value.sql, value.sqlId);
  for (const arg of value.args ?? []) {
    const mark = w.beginMessage(3);
    valueContent(w, arg);
    w.endLength(mark);
  }
  for (const arg of value.namedArgs ?? []) {
    const mark = w.beginMessage(4);
    if (arg.name !== "") w.stringField(1, arg.name);
    const valueMark = w.beginMessage(2);
    valueContent(w, arg.value);
    w.endLength(valueMark);
    w.endLength(mark);
  }
  if (value.wantRows !== undefined) w.boolField(5, value.wantRows);
}

function batch(w: ProtobufWriter, value: Batch): void {
  for (const step of value.steps) {
    const mark = w.beginMessage(1);
    if (step.condition !== null && step.condition !== undefined) message(w, 1, step.condition, batchCond);
    message(w, 2, step.stmt, stmt);
    w.endLength(mark);
  }
}

function batchCond(w: ProtobufWriter, cond: BatchCond): void {
  switch (cond.type) {
    case "ok":
      return w.uint32Field(1, cond.step);
    case "error":
      return w.uint32Field(2, cond.step);
    case "not":
      return message(w, 3, cond.cond, batchCond);
    case "and":
    case "or": {
      const mark = w.beginMessage(cond.type === "and" ? 4 : 5);
      for (const inner of cond.conds) message(w, 1, inner, batchCond);
      w.endLength(mark);
      return;
    }
    case "is_autocommit":
      return w.emptyMessage(6);
  }
}
