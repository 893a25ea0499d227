/**
 * The protobuf codec (`hrana3-protobuf`, `/v3-protobuf/*`), server half: decodes what a client sends, encodes what
 * a server sends. The client half is `protobuf` of `@hranad/hrana-protocol/client` (protobuf-client.ts).
 */
export * from "./protobuf-request-decoder.js";
export * from "./protobuf-response-encoder.js";
