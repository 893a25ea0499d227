/**
 * Which codec serves which endpoint: the HTTP endpoint families (`/v2`, `/v3` JSON, `/v3-protobuf`) and the
 * WebSocket subprotocols, with the server's order of preference.
 */
import * as json from "./json.js";
import type {
  ClientMsg,
  CursorEntry,
  CursorReqBody,
  CursorRespBody,
  HranaError,
  PipelineReqBody,
  PipelineRespBody,
  ProtocolVersion,
  ServerMsg,
} from "./messages.js";
import * as protobuf from "./protobuf.js";

/** How one HTTP endpoint family reads requests and writes responses. */
export interface HttpCodec {
  readonly contentType: string;
  readonly cursorContentType: string;
  decodePipeline(body: Uint8Array, version: ProtocolVersion): PipelineReqBody;
  encodePipeline(body: PipelineRespBody): string | Uint8Array;
  decodeCursor(body: Uint8Array): CursorReqBody;
  /** The first line (JSON) or first length-delimited message (protobuf) of a cursor body. */
  encodeCursorHead(body: CursorRespBody): string | Uint8Array;
  encodeCursorEntry(entry: CursorEntry): string | Uint8Array;
  encodeError(error: HranaError): string | Uint8Array;
}

export const httpCodecs: { readonly json: HttpCodec; readonly protobuf: HttpCodec } = Object.freeze({
  json: {
    contentType: "application/json",
    cursorContentType: "text/plain",
    decodePipeline: (body, version) => json.decodePipelineReqBody(body, version === 3 ? 3 : 2),
    encodePipeline: (body) => json.encodePipelineRespBody(body),
    decodeCursor: (body) => json.decodeCursorReqBody(body),
    encodeCursorHead: (body) => json.encodeCursorRespLine(body),
    encodeCursorEntry: (entry) => json.encodeCursorEntryLine(entry),
    encodeError: (error) => JSON.stringify({ message: error.message, code: error.code }),
  },
  protobuf: {
    contentType: "application/x-protobuf",
    cursorContentType: "application/octet-stream",
    decodePipeline: (body) => protobuf.decodePipelineReqBody(body),
    encodePipeline: (body) => protobuf.encodePipelineRespBody(body),
    decodeCursor: (body) => protobuf.decodeCursorReqBody(body),
    encodeCursorHead: (body) => protobuf.encodeCursorRespDelimited(body),
    encodeCursorEntry: (entry) => protobuf.encodeCursorEntryDelimited(entry),
    encodeError: (error) => protobuf.encodeError(error),
  },
} satisfies Record<string, HttpCodec>);

/** One Hrana-over-HTTP endpoint: its path (after an optional `/<db>` prefix), version, codec and kind. */
export interface HttpEndpoint {
  readonly path: string;
  readonly kind: "pipeline" | "cursor";
  readonly version: ProtocolVersion;
  readonly codec: HttpCodec;
}

export const HTTP_ENDPOINTS: readonly HttpEndpoint[] = Object.freeze([
  { path: "/v2/pipeline", kind: "pipeline", version: 2, codec: httpCodecs.json },
  { path: "/v3/pipeline", kind: "pipeline", version: 3, codec: httpCodecs.json },
  { path: "/v3-protobuf/pipeline", kind: "pipeline", version: 3, codec: httpCodecs.protobuf },
  { path: "/v3/cursor", kind: "cursor", version: 3, codec: httpCodecs.json },
  { path: "/v3-protobuf/cursor", kind: "cursor", version: 3, codec: httpCodecs.protobuf },
]);

/** The version probes (`GET /v2` …) and what they answer. */
export const HTTP_VERSION_PROBES: readonly { readonly path: string; readonly body: string }[] = Object.freeze([
  { path: "/v2", body: "Hello, this is HTTP API v2 (Hrana over HTTP)" },
  { path: "/v3", body: "Hello, this is HTTP API v3 (Hrana over HTTP)" },
  { path: "/v3-protobuf", body: "Hello, this is HTTP API v3 (Hrana over HTTP)" },
]);

/** How one WebSocket subprotocol family reads and writes messages. */
export interface WsCodec {
  /** `hrana3-protobuf` uses binary frames only; the JSON subprotocols text frames only. */
  readonly binary: boolean;
  decodeClientMsg(data: Uint8Array, version: ProtocolVersion): ClientMsg;
  encodeServerMsg(message: ServerMsg): string | Uint8Array;
}

export const wsCodecs: { readonly json: WsCodec; readonly protobuf: WsCodec } = Object.freeze({
  json: {
    binary: false,
    decodeClientMsg: (data, version) => json.decodeClientMsg(data, version),
    encodeServerMsg: (message) => json.encodeServerMsg(message),
  },
  protobuf: {
    binary: true,
    decodeClientMsg: (data) => protobuf.decodeClientMsg(data),
    encodeServerMsg: (message) => protobuf.encodeServerMsg(message),
  },
} satisfies Record<string, WsCodec>);

/** Hrana WebSocket subprotocols in the server's order of preference. */
export const SUBPROTOCOLS: readonly string[] = Object.freeze(["hrana3-protobuf", "hrana3", "hrana2", "hrana1"]);

/** The subprotocol to accept among those a client offers (as the client spelled it), or undefined for none. */
export function chooseSubprotocol(offered: Iterable<string>): string | undefined {
  const lower = new Map([...offered].map((p) => [p.trim().toLowerCase(), p]));
  for (const protocol of SUBPROTOCOLS) {
    const original = lower.get(protocol);
    if (original !== undefined) return original;
  }
  return undefined;
}

/**
 * Checks a `Sec-WebSocket-Protocol` request header before the upgrade: undefined when the client offered none or
 * one this server speaks, else the message to refuse the upgrade with (`WEBSOCKET_PROTOCOL_UNSUPPORTED`).
 */
export function refuseSubprotocols(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const offered = header.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  if (chooseSubprotocol(offered) !== undefined) return undefined;
  return `Only these WebSocket subprotocols are supported: ${SUBPROTOCOLS.join(", ")}`;
}

/** The version and codec a negotiated subprotocol speaks (no subprotocol: Hrana 1 over JSON). */
export function subprotocolSpec(protocol: string): { readonly version: ProtocolVersion; readonly codec: WsCodec } {
  const name = protocol.trim().toLowerCase();
  const version: ProtocolVersion = name === "hrana3" || name === "hrana3-protobuf" ? 3 : name === "hrana2" ? 2 : 1;
  return { version, codec: name === "hrana3-protobuf" ? wsCodecs.protobuf : wsCodecs.json };
}
