/**
 * The Hrana 1/2/3 messages as typed objects.
 *
 * Wire names are snake_case; these types use camelCase fields, and keep the wire's `type` tags as they are.
 * Values are the driver's `Value`: integers are `bigint`, floats `number`, blobs `Uint8Array`.
 * The decoders always produce the full shape (every optional field filled with its default or `null`).
 */
import type { Value } from "@hranad/driver";

export type { Value };

/** 1 = `hrana1`, 2 = `hrana2` and `/v2`, 3 = `hrana3`, `hrana3-protobuf`, `/v3`, `/v3-protobuf`. */
export type ProtocolVersion = 1 | 2 | 3;

// ---------------------------------------------------------------------------------------------------------------
// Shared structures

/** Hrana's `Error` structure. */
export interface HranaError {
  readonly message: string;
  readonly code: string | null;
}

export interface NamedArg {
  readonly name: string;
  readonly value: Value;
}

/** A statement: exactly one of `sql` and `sqlId` is non-null. */
export interface Stmt {
  readonly sql?: string | null;
  readonly sqlId?: number | null;
  /** Default `[]`. */
  readonly args?: readonly Value[];
  /** Default `[]`. */
  readonly namedArgs?: readonly NamedArg[];
  /** Default `true`. */
  readonly wantRows?: boolean;
}

export interface Col {
  readonly name: string | null;
  readonly decltype: string | null;
}

export interface StmtResult {
  readonly cols: readonly Col[];
  readonly rows: readonly (readonly Value[])[];
  readonly affectedRowCount: number;
  readonly lastInsertRowid: bigint | null;
}

export type BatchCond =
  | { readonly type: "ok"; readonly step: number }
  | { readonly type: "error"; readonly step: number }
  | { readonly type: "not"; readonly cond: BatchCond }
  | { readonly type: "and"; readonly conds: readonly BatchCond[] }
  | { readonly type: "or"; readonly conds: readonly BatchCond[] }
  /** Hrana 3 only. */
  | { readonly type: "is_autocommit" };

export interface BatchStep {
  readonly condition?: BatchCond | null;
  readonly stmt: Stmt;
}

export interface Batch {
  readonly steps: readonly BatchStep[];
}

/** One slot per step; a skipped step is `null` in both arrays. */
export interface BatchResult {
  readonly stepResults: readonly (StmtResult | null)[];
  readonly stepErrors: readonly (HranaError | null)[];
}

export interface DescribeParam {
  readonly name: string | null;
}

export interface DescribeCol {
  readonly name: string;
  readonly decltype: string | null;
}

export interface DescribeResult {
  readonly params: readonly DescribeParam[];
  readonly cols: readonly DescribeCol[];
  readonly isExplain: boolean;
  readonly isReadonly: boolean;
}

export interface StepBeginEntry {
  readonly type: "step_begin";
  readonly step: number;
  readonly cols: readonly Col[];
}

export interface StepEndEntry {
  readonly type: "step_end";
  readonly affectedRowCount: number;
  readonly lastInsertRowid: bigint | null;
}

export interface StepErrorEntry {
  readonly type: "step_error";
  readonly step: number;
  readonly error: HranaError;
}

export interface RowEntry {
  readonly type: "row";
  readonly row: readonly Value[];
}

export interface ErrorEntry {
  readonly type: "error";
  readonly error: HranaError;
}

/** Hrana 3 cursor entries. (sqld's extra `replication_index` entry is deliberately not part of this union.) */
export type CursorEntry = StepBeginEntry | StepEndEntry | StepErrorEntry | RowEntry | ErrorEntry;

// ---------------------------------------------------------------------------------------------------------------
// Hrana over HTTP (`/v2/pipeline`, `/v3/pipeline`, `/v3/cursor` and their protobuf twins)

export interface CloseStreamReq {
  readonly type: "close";
}
export interface ExecuteStreamReq {
  readonly type: "execute";
  readonly stmt: Stmt;
}
export interface BatchStreamReq {
  readonly type: "batch";
  readonly batch: Batch;
}
export interface SequenceStreamReq {
  readonly type: "sequence";
  readonly sql?: string | null;
  readonly sqlId?: number | null;
}
export interface DescribeStreamReq {
  readonly type: "describe";
  readonly sql?: string | null;
  readonly sqlId?: number | null;
}
export interface StoreSqlStreamReq {
  readonly type: "store_sql";
  readonly sqlId: number;
  readonly sql: string;
}
export interface CloseSqlStreamReq {
  readonly type: "close_sql";
  readonly sqlId: number;
}
/** Hrana 3 only. */
export interface GetAutocommitStreamReq {
  readonly type: "get_autocommit";
}

export type StreamRequest =
  | CloseStreamReq
  | ExecuteStreamReq
  | BatchStreamReq
  | SequenceStreamReq
  | DescribeStreamReq
  | StoreSqlStreamReq
  | CloseSqlStreamReq
  | GetAutocommitStreamReq;

export interface CloseStreamResp {
  readonly type: "close";
}
export interface ExecuteStreamResp {
  readonly type: "execute";
  readonly result: StmtResult;
}
export interface BatchStreamResp {
  readonly type: "batch";
  readonly result: BatchResult;
}
export interface SequenceStreamResp {
  readonly type: "sequence";
}
export interface DescribeStreamResp {
  readonly type: "describe";
  readonly result: DescribeResult;
}
export interface StoreSqlStreamResp {
  readonly type: "store_sql";
}
export interface CloseSqlStreamResp {
  readonly type: "close_sql";
}
export interface GetAutocommitStreamResp {
  readonly type: "get_autocommit";
  readonly isAutocommit: boolean;
}

export type StreamResponse =
  | CloseStreamResp
  | ExecuteStreamResp
  | BatchStreamResp
  | SequenceStreamResp
  | DescribeStreamResp
  | StoreSqlStreamResp
  | CloseSqlStreamResp
  | GetAutocommitStreamResp;

/** The response of one stream request that the executor runs (everything but `close`). */
export type ExecutedStreamResponse = Exclude<StreamResponse, CloseStreamResp>;

export type StreamResult =
  | { readonly type: "ok"; readonly response: StreamResponse }
  | { readonly type: "error"; readonly error: HranaError };

export interface PipelineReqBody {
  /** `null` (or an absent key on the wire) opens a new stream. */
  readonly baton: string | null;
  readonly requests: readonly StreamRequest[];
}

export interface PipelineRespBody {
  /** `null` once the stream is closed. */
  readonly baton: string | null;
  readonly baseUrl: string | null;
  readonly results: readonly StreamResult[];
}

export interface CursorReqBody {
  readonly baton: string | null;
  readonly batch: Batch;
}

export interface CursorRespBody {
  readonly baton: string | null;
  readonly baseUrl: string | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Hrana over WebSocket

export interface HelloMsg {
  readonly type: "hello";
  readonly jwt: string | null;
}
export interface RequestMsg {
  readonly type: "request";
  readonly requestId: number;
  readonly request: WsRequest;
}
export type ClientMsg = HelloMsg | RequestMsg;

export interface WsOpenStreamReq {
  readonly type: "open_stream";
  readonly streamId: number;
}
export interface WsCloseStreamReq {
  readonly type: "close_stream";
  readonly streamId: number;
}
export interface WsExecuteReq {
  readonly type: "execute";
  readonly streamId: number;
  readonly stmt: Stmt;
}
export interface WsBatchReq {
  readonly type: "batch";
  readonly streamId: number;
  readonly batch: Batch;
}
/** Hrana 3 only. */
export interface WsOpenCursorReq {
  readonly type: "open_cursor";
  readonly streamId: number;
  readonly cursorId: number;
  readonly batch: Batch;
}
/** Hrana 3 only. */
export interface WsCloseCursorReq {
  readonly type: "close_cursor";
  readonly cursorId: number;
}
/** Hrana 3 only. */
export interface WsFetchCursorReq {
  readonly type: "fetch_cursor";
  readonly cursorId: number;
  readonly maxCount: number;
}
/** Hrana 2 and later. */
export interface WsSequenceReq {
  readonly type: "sequence";
  readonly streamId: number;
  readonly sql?: string | null;
  readonly sqlId?: number | null;
}
/** Hrana 2 and later. */
export interface WsDescribeReq {
  readonly type: "describe";
  readonly streamId: number;
  readonly sql?: string | null;
  readonly sqlId?: number | null;
}
/** Hrana 2 and later; connection-scoped over WebSocket. */
export interface WsStoreSqlReq {
  readonly type: "store_sql";
  readonly sqlId: number;
  readonly sql: string;
}
/** Hrana 2 and later. */
export interface WsCloseSqlReq {
  readonly type: "close_sql";
  readonly sqlId: number;
}
/** Hrana 3 only. */
export interface WsGetAutocommitReq {
  readonly type: "get_autocommit";
  readonly streamId: number;
}

export type WsRequest =
  | WsOpenStreamReq
  | WsCloseStreamReq
  | WsExecuteReq
  | WsBatchReq
  | WsOpenCursorReq
  | WsCloseCursorReq
  | WsFetchCursorReq
  | WsSequenceReq
  | WsDescribeReq
  | WsStoreSqlReq
  | WsCloseSqlReq
  | WsGetAutocommitReq;

export interface WsFetchCursorResp {
  readonly type: "fetch_cursor";
  readonly entries: readonly CursorEntry[];
  readonly done: boolean;
}

/** Responses shared with HTTP keep the HTTP types, so an executor result can be sent as is. */
export type WsResponse =
  | { readonly type: "open_stream" }
  | { readonly type: "close_stream" }
  | ExecuteStreamResp
  | BatchStreamResp
  | { readonly type: "open_cursor" }
  | { readonly type: "close_cursor" }
  | WsFetchCursorResp
  | SequenceStreamResp
  | DescribeStreamResp
  | StoreSqlStreamResp
  | CloseSqlStreamResp
  | GetAutocommitStreamResp;

export interface HelloOkMsg {
  readonly type: "hello_ok";
}
export interface HelloErrorMsg {
  readonly type: "hello_error";
  readonly error: HranaError;
}
export interface ResponseOkMsg {
  readonly type: "response_ok";
  readonly requestId: number;
  readonly response: WsResponse;
}
export interface ResponseErrorMsg {
  readonly type: "response_error";
  readonly requestId: number;
  readonly error: HranaError;
}
export type ServerMsg = HelloOkMsg | HelloErrorMsg | ResponseOkMsg | ResponseErrorMsg;
