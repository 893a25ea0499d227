/**
 * The JSON codec (`hrana1`, `hrana2`, `hrana3`, `/v2/*`, `/v3/*`), client half: encodes what a client sends,
 * decodes what a server sends. The server half is `json` of `@hranad/hrana-protocol` (json.ts).
 */
export * from "./json-request-encoder.js";
export * from "./json-response-decoder.js";
export { decodeValue } from "./json-read.js";
export { encodeValue } from "./json-write.js";
export { MAX_JSON_DEPTH } from "./json-depth.js";
