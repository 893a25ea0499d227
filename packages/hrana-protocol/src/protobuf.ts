/** The protobuf codec (`hrana3-protobuf`, `/v3-protobuf/*`). */
export * from "./protobuf-decoder.js";
export * from "./protobuf-encoder.js";
