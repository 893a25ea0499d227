/**
 * The protobuf codec (`hrana3-protobuf`, `/v3-protobuf/*`), client half: encodes what a client sends, decodes what
 * a server sends. The server half is `protobuf` of `@hranad/hrana-protocol` (protobuf.ts).
 */
export * from "./protobuf-request-encoder.js";
export * from "./protobuf-response-decoder.js";
