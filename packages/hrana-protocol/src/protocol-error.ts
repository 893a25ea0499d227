/** Codes of {@link ProtocolError}: what was wrong with a request as a message (never a statement failure). */
export type ProtocolErrorCode =
  /** The body is not valid UTF-8 JSON. */
  | "PROTO_INVALID_JSON"
  /** The body is not a valid protobuf encoding (truncated, bad wire type, over-long varint, bad UTF-8…). */
  | "PROTO_INVALID_PROTOBUF"
  /** A field is missing, has the wrong type, or is out of range; `sql` and `sql_id` both or neither given. */
  | "PROTO_BAD_REQUEST"
  /** A `type` tag (or protobuf oneof) that this protocol does not define, or none at all. */
  | "PROTO_UNKNOWN_TYPE"
  /** A request or condition that the negotiated protocol version does not have. */
  | "PROTO_NOT_SUPPORTED"
  /**
   * Batch conditions nested deeper than {@link MAX_CONDITION_DEPTH}, or a JSON message whose arrays and objects nest
   * deeper than `json.MAX_JSON_DEPTH` (anywhere, including fields that are ignored).
   */
  | "PROTO_NESTING_TOO_DEEP"
  /** A JSON message with more arrays and objects than its size allows (junk that would stall the parser). */
  | "PROTO_TOO_COMPLEX"
  /** A `sql_id` that is not stored. */
  | "PROTO_SQL_NOT_FOUND"
  /** `store_sql` with an id that is already stored. */
  | "PROTO_SQL_EXISTS"
  /** A batch condition that refers to its own step or a later one. */
  | "PROTO_BATCH_BAD_STEP";

/** How deep batch conditions may nest (`not`/`and`/`or`), so hostile input cannot exhaust the stack. */
export const MAX_CONDITION_DEPTH = 100;

/**
 * A violation of the Hrana protocol by the peer: the whole HTTP request fails with 400 (the stream is dropped), or
 * the WebSocket is closed. Codecs and the executor throw no other exception type for malformed input.
 */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isProtocolError(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError;
}
