import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlLength, decodeBase64url, encodeBase64url } from "./base64url.js";
import { BatonError } from "./baton-error.js";
import { SESSION_ID_LENGTH, sessionIdToText } from "./session-id.js";

/** The format version byte; bumped if the payload layout ever changes. */
export const BATON_VERSION = 1;

/** Minimum key length: the HMAC-SHA256 output size, so the key is never the weak link. */
export const MIN_KEY_LENGTH = 32;

const MAX_U64 = (1n << 64n) - 1n;
const MAC_LENGTH = 32;
// version (1) ‖ epoch (4, big-endian) ‖ session id (16) ‖ generation (8, big-endian)
const PAYLOAD_LENGTH = 1 + 4 + SESSION_ID_LENGTH + 8;
const TOKEN_BYTES = PAYLOAD_LENGTH + MAC_LENGTH;
/** Every valid token has exactly this many characters (82). */
export const BATON_TEXT_LENGTH = base64urlLength(TOKEN_BYTES);

export interface BatonSignerOptions {
  /**
   * The HMAC key, at least 32 bytes (copied). Default: 32 random bytes, so batons die with the process. Pass a
   * persistent key to let batons survive a restart (they then verify with `currentEpoch: false`).
   */
  key?: Uint8Array;
  /**
   * The boot epoch stamped into every minted baton, a uint32. Default: random (`crypto.getRandomValues`), so two
   * boots differ with probability 1 − 2⁻³² even when they start within the same second (a clock-based epoch would not).
   */
  epoch?: number;
}

/** What a verified baton says. */
export interface BatonClaims {
  readonly sessionId: Uint8Array;
  /** The session id as base64url text (see `sessionIdToText`). */
  readonly sessionIdText: string;
  readonly generation: bigint;
  /** The epoch of the signer that minted the baton. */
  readonly epoch: number;
  /** Whether `epoch` is this signer's epoch; false means "minted before a restart" (the caller decides). */
  readonly currentEpoch: boolean;
}

/** Mints and verifies batons: base64url(payload ‖ HMAC-SHA256(key, payload)). Holds no state beyond its key. */
export class BatonSigner {
  readonly epoch: number;
  /** A keyed HMAC state cloned per use, so the key schedule is computed once. */
  readonly #keyed: ReturnType<typeof hmac.create>;

  constructor(options: BatonSignerOptions = {}) {
    const key = options.key ?? globalThis.crypto.getRandomValues(new Uint8Array(MIN_KEY_LENGTH));
    if (!(key instanceof Uint8Array)) throw new TypeError("baton key must be a Uint8Array");
    if (key.length < MIN_KEY_LENGTH) throw new RangeError(`baton key must be at least ${MIN_KEY_LENGTH} bytes`);
    const epoch = options.epoch ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) {
      throw new RangeError("baton epoch must be an integer in [0, 2^32)");
    }
    this.epoch = epoch;
    this.#keyed = hmac.create(sha256, Uint8Array.from(key));
  }

  /** Mints the baton for (session id, generation). Throws TypeError/RangeError on bad arguments (a caller bug). */
  mint(sessionId: Uint8Array, generation: bigint): string {
    if (!(sessionId instanceof Uint8Array)) throw new TypeError("session id must be a Uint8Array");
    if (sessionId.length !== SESSION_ID_LENGTH) throw new RangeError(`session id must be ${SESSION_ID_LENGTH} bytes`);
    if (typeof generation !== "bigint") throw new TypeError("generation must be a bigint");
    if (generation < 0n || generation > MAX_U64) throw new RangeError("generation must fit an unsigned 64-bit integer");

    const token = new Uint8Array(TOKEN_BYTES);
    const view = new DataView(token.buffer);
    token[0] = BATON_VERSION;
    view.setUint32(1, this.epoch);
    token.set(sessionId, 5);
    view.setBigUint64(5 + SESSION_ID_LENGTH, generation);
    this.#mac(token.subarray(0, PAYLOAD_LENGTH), token.subarray(PAYLOAD_LENGTH));
    return encodeBase64url(token);
  }

  /**
   * Verifies a baton's spelling, signature and shape, and returns its claims. Throws `BatonError` (and nothing
   * else) on anything wrong, whatever the argument is. The MAC comparison takes constant time.
   */
  verify(token: string): BatonClaims {
    // Length first: a huge or odd input is refused before any decoding work.
    if (typeof token !== "string" || token.length !== BATON_TEXT_LENGTH) {
      throw new BatonError("BATON_MALFORMED", "baton is malformed");
    }
    const bytes = decodeBase64url(token);
    if (bytes === undefined || bytes.length !== TOKEN_BYTES) {
      throw new BatonError("BATON_MALFORMED", "baton is malformed");
    }
    const payload = bytes.subarray(0, PAYLOAD_LENGTH);
    const expected = new Uint8Array(MAC_LENGTH);
    this.#mac(payload, expected);
    if (!constantTimeEqual(expected, bytes.subarray(PAYLOAD_LENGTH))) {
      throw new BatonError("BATON_FORGED", "baton signature is invalid");
    }
    // Only reachable with our key, i.e. a future format minted by a newer signer sharing the key.
    if (payload[0] !== BATON_VERSION) throw new BatonError("BATON_MALFORMED", "baton version is not supported");

    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const epoch = view.getUint32(1);
    const sessionId = bytes.slice(5, 5 + SESSION_ID_LENGTH);
    const generation = view.getBigUint64(5 + SESSION_ID_LENGTH);
    return {
      sessionId,
      sessionIdText: sessionIdToText(sessionId),
      generation,
      epoch,
      currentEpoch: epoch === this.epoch,
    };
  }

  #mac(payload: Uint8Array, out: Uint8Array): void {
    this.#keyed.clone().update(payload).digestInto(out);
  }
}

/** Compares two byte strings in time that depends only on their length. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
