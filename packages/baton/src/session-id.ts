import { base64urlLength, decodeBase64url, encodeBase64url } from "./base64url.js";

/** Bytes in a session id. */
export const SESSION_ID_LENGTH = 16;

const SESSION_ID_TEXT_LENGTH = base64urlLength(SESSION_ID_LENGTH);

/** A fresh random session id: 16 bytes from `crypto.getRandomValues`. */
export function newSessionId(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SESSION_ID_LENGTH));
}

/** The 22-character base64url text of a session id (for logs, listings and map keys). */
export function sessionIdToText(id: Uint8Array): string {
  if (!(id instanceof Uint8Array)) throw new TypeError("session id must be a Uint8Array");
  if (id.length !== SESSION_ID_LENGTH) throw new RangeError(`session id must be ${SESSION_ID_LENGTH} bytes`);
  return encodeBase64url(id);
}

/** Parses the text of a session id; undefined unless it is exactly the canonical text of 16 bytes. */
export function sessionIdFromText(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || text.length !== SESSION_ID_TEXT_LENGTH) return undefined;
  return decodeBase64url(text);
}
