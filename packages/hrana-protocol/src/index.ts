export type * from "./messages.js";
export { ProtocolError, isProtocolError, MAX_CONDITION_DEPTH, type ProtocolErrorCode } from "./protocol-error.js";
export * as json from "./json.js";
export * as protobuf from "./protobuf.js";
export { ProtobufReader } from "./protobuf-reader.js";
export { ProtobufWriter } from "./protobuf-writer.js";
export {
  executeStreamRequest,
  executeBatch,
  executeStoreSql,
  executeCloseSql,
  cursorEntries,
  prepareBatch,
  prepareStmt,
  inlineStoredSql,
  type ExecutorOptions,
  type PreparedBatch,
  type PreparedStep,
} from "./executor.js";
export { MapSqlStore, SizedSqlStore, HTTP_MAX_STORED_SQL, HTTP_MAX_STORED_SQL_LENGTH, WS_MAX_STORED_SQL, type SqlStore } from "./sql-store.js";
export { toHranaError, INTERNAL_ERROR } from "./hrana-error.js";
export { encodeBase64, decodeBase64 } from "./base64.js";
export {
  ByteBudget,
  ResponseBudget,
  ResponseBoundError,
  stmtResultBytes,
  cursorEntryBytes,
  type ResponseBudgetOptions,
  type RoomBound,
} from "./budget.js";
export {
  httpCodecs,
  wsCodecs,
  HTTP_ENDPOINTS,
  HTTP_VERSION_PROBES,
  SUBPROTOCOLS,
  chooseSubprotocol,
  refuseSubprotocols,
  subprotocolSpec,
  type HttpCodec,
  type HttpEndpoint,
  type WsCodec,
} from "./endpoints.js";
export { HranaWsConnection } from "./ws-connection.js";
export { addressedDatabase, printableName, DEFAULT_DATABASE } from "./addressing.js";
export {
  WS_CLOSE,
  type WsTransport,
  type WsStreamHandle,
  type WsStreamHost,
  type WsLimits,
  type WsLogger,
} from "./ws-host.js";
export {
  runPipeline,
  openCursorBody,
  type HttpStreamHandle,
  type HttpStreamHost,
  type HttpRequestOptions,
  type PipelineOptions,
  type CursorOptions,
} from "./http-server.js";
