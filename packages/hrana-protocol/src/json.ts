/** The JSON codec (`hrana1`, `hrana2`, `hrana3`, `/v2/*`, `/v3/*`). */
export * from "./json-decoder.js";
export * from "./json-encoder.js";
export { MAX_JSON_DEPTH } from "./json-depth.js";
