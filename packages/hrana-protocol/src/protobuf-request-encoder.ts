/**
 * Protobuf encoding of the Hrana 3 messages a client sends (for tests, tools and clients): pipeline and cursor
 * request bodies and WebSocket client messages, with the proto3 rules of the response encoder (plain scalars
 * omitted when zero, `optional` ones written whenever set, oneof members and sub-messages always).
 */
import type { Batch, BatchCond, ClientMsg, CursorReqBody, PipelineReqBody, Stmt, StreamRequest, WsRequest } from "./messages.js";
import { message, valueContent } from "./protobuf-shared.js";
import { ProtobufWriter } from "./protobuf-writer.js";

// ---------------------------------------------------------------------------------------------------------------
// Entry points

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
