/**
 * `@hranad/hrana-protocol/client`: the client half of the codecs, for tests, tools and anyone writing a Hrana
 * client. `json` and `protobuf` encode requests (pipeline and cursor bodies, WebSocket client messages) and decode
 * responses (pipeline and cursor bodies, cursor entries, WebSocket server messages). The server half is the main
 * entry point, `@hranad/hrana-protocol`.
 */
export type * from "./messages.js";
export { ProtocolError, isProtocolError, type ProtocolErrorCode } from "./protocol-error.js";
export * as json from "./json-client.js";
export * as protobuf from "./protobuf-client.js";
