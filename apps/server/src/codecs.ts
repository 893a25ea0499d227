import { json, protobuf, type ClientMsg, type CursorEntry, type CursorReqBody, type CursorRespBody, type HranaError, type PipelineReqBody, type PipelineRespBody, type ProtocolVersion, type ServerMsg } from "@hranad/hrana-protocol";

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

export const httpCodecs: { readonly json: HttpCodec; readonly protobuf: HttpCodec } = {
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
};

/** How one WebSocket subprotocol family reads and writes messages. */
export interface WsCodec {
  /** `hrana3-protobuf` uses binary frames only; the JSON subprotocols text frames only. */
  readonly binary: boolean;
  decodeClientMsg(data: Uint8Array, version: ProtocolVersion): ClientMsg;
  encodeServerMsg(message: ServerMsg): string | Uint8Array;
}

export const wsCodecs: { readonly json: WsCodec; readonly protobuf: WsCodec } = {
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
};
