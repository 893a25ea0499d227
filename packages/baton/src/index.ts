export { BatonSigner, BATON_VERSION, BATON_TEXT_LENGTH, MIN_KEY_LENGTH } from "./baton-signer.js";
export type { BatonSignerOptions, BatonClaims } from "./baton-signer.js";
export { BatonError, isBatonError } from "./baton-error.js";
export type { BatonErrorCode } from "./baton-error.js";
export { newSessionId, sessionIdToText, sessionIdFromText, SESSION_ID_LENGTH } from "./session-id.js";
