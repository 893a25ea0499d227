/**
 * Protobuf decoding of the Hrana 3 messages a server sends (what a client decodes; used by tests and tools):
 * pipeline and cursor response bodies, cursor entries, WebSocket server messages and bare `Error`s.
 *
 * The same rules as the request decoder: unknown fields are skipped, a known field with the wrong wire type, a
 * truncated message, an over-long varint, invalid UTF-8 or a oneof with no known member is a `ProtocolError`, and
 * a singular field that appears twice keeps its last occurrence.
 */
import type { Value } from "@hranad/driver";
import type {
  BatchResult,
  Col,
  CursorEntry,
  CursorRespBody,
  DescribeCol,
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
import { ProtocolError } from "./protocol-error.js";
import { ProtobufReader } from "./protobuf-reader.js";
import { bits, noneOf, value } from "./protobuf-shared.js";

/** The largest step index accepted in a protobuf `BatchResult` map (the maps become arrays of that length). */
export const MAX_DECODED_STEP = 1 << 20;

// ---------------------------------------------------------------------------------------------------------------
// Entry points

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
// WebSocket messages

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
// Results

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
