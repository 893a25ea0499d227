/**
 * Protobuf encoding of the Hrana 3 messages a server sends: pipeline and cursor response bodies, cursor entries,
 * WebSocket server messages and bare `Error`s.
 *
 * Proto3 rules as sqld applies them: plain scalars are omitted when zero/empty, `optional` scalars are written
 * whenever set (even `0`), oneof members and sub-messages are always written (so `Value.null` is an empty
 * sub-message), `BatchResult` is two maps keyed by step that hold only the executed steps. sqld's extra fields
 * (`replication_index`, `rows_read`, …) are not written.
 */
import type { Value } from "@hranad/driver";
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
import { message, valueContent } from "./protobuf-shared.js";
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
// Responses

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
