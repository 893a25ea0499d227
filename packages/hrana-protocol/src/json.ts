/**
 * The JSON codec (`hrana1`, `hrana2`, `hrana3`, `/v2/*`, `/v3/*`), server half: decodes what a client sends,
 * encodes what a server sends. The client half is `json` of `@hranad/hrana-protocol/client` (json-client.ts).
 */
export * from "./json-request-decoder.js";
export * from "./json-response-encoder.js";
export { decodeValue } from "./json-read.js";
export { encodeValue } from "./json-write.js";
export { MAX_JSON_DEPTH } from "./json-depth.js";
