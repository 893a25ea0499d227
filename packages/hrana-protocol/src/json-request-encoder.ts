/** JSON encoding of the messages a client sends (for tests, tools and clients), as strings built directly. */
import type { Value } from "@hranad/driver";
import { encodeValue, nullableString, str } from "./json-write.js";
import type { Batch, BatchCond, BatchStep, ClientMsg, CursorReqBody, NamedArg, PipelineReqBody, Stmt, StreamRequest, WsRequest } from "./messages.js";

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
