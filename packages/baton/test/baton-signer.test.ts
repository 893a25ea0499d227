import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BATON_TEXT_LENGTH,
  BatonError,
  BatonSigner,
  newSessionId,
  sessionIdFromText,
  sessionIdToText,
  type BatonErrorCode,
} from "../src/index.js";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(8);
const MAX_U64 = (1n << 64n) - 1n;

function refusal(fn: () => unknown): BatonErrorCode {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatonError) return error.code;
    throw new Error(`expected a BatonError, got ${String(error)}`);
  }
  throw new Error("expected the baton to be refused");
}

const toBytes = (token: string): Uint8Array => new Uint8Array(Buffer.from(token, "base64url"));
const fromBytes = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url");

describe("BatonSigner", () => {
  it("round-trips any session id and any u64 generation", () => {
    const signer = new BatonSigner({ key: KEY });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.bigInt({ min: 0n, max: MAX_U64 }), (id, gen) => {
        const token = signer.mint(id, gen);
        expect(token).toHaveLength(BATON_TEXT_LENGTH);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        const claims = signer.verify(token);
        expect(claims.sessionId).toEqual(id);
        expect(claims.sessionIdText).toBe(sessionIdToText(id));
        expect(claims.generation).toBe(gen);
        expect(claims.epoch).toBe(signer.epoch);
        expect(claims.currentEpoch).toBe(true);
      }),
    );
  });

  it("encodes the documented layout: version, epoch, id, generation, then a 32-byte MAC", () => {
    const signer = new BatonSigner({ key: KEY, epoch: 0x01020304 });
    const id = Uint8Array.from({ length: 16 }, (_, i) => i + 0x10);
    const bytes = toBytes(signer.mint(id, 0x0a0b0c0d0e0f1011n));
    expect(bytes).toHaveLength(29 + 32);
    expect([...bytes.subarray(0, 5)]).toEqual([1, 1, 2, 3, 4]);
    expect([...bytes.subarray(5, 21)]).toEqual([...id]);
    expect([...bytes.subarray(21, 29)]).toEqual([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11]);
  });

  it("gives different tokens for different generations of one session", () => {
    const signer = new BatonSigner({ key: KEY });
    const id = newSessionId();
    const tokens = new Set<string>();
    for (let gen = 0n; gen < 200n; gen++) tokens.add(signer.mint(id, gen));
    expect(tokens.size).toBe(200);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_U64 }), fc.bigInt({ min: 0n, max: MAX_U64 }), (a, b) => {
        fc.pre(a !== b);
        expect(signer.mint(id, a)).not.toBe(signer.mint(id, b));
      }),
    );
  });

  it("refuses every single-bit flip of the decoded token", () => {
    const signer = new BatonSigner({ key: KEY });
    const token = signer.mint(newSessionId(), 42n);
    const bytes = toBytes(token);
    let refused = 0;
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = bytes.slice();
        flipped[byte]! ^= 1 << bit;
        const text = fromBytes(flipped);
        expect(text).toHaveLength(BATON_TEXT_LENGTH);
        // A flip in the version byte or anywhere else: the MAC no longer matches.
        expect(refusal(() => signer.verify(text))).toBe("BATON_FORGED");
        refused++;
      }
    }
    expect(refused).toBe(61 * 8);
  });

  it("refuses every single-character change of the text token", () => {
    const signer = new BatonSigner({ key: KEY });
    const token = signer.mint(newSessionId(), 7n);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .\n\u00e9";
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      for (const c of alphabet) {
        if (c === token[i]) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        const code = refusal(() => signer.verify(changed));
        expect(["BATON_FORGED", "BATON_MALFORMED"]).toContain(code);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(token.length * 64);
  });

  it("refuses truncations and extensions", () => {
    const signer = new BatonSigner({ key: KEY });
    const token = signer.mint(newSessionId(), 1n);
    for (let length = 0; length < token.length; length++) {
      expect(refusal(() => signer.verify(token.slice(0, length)))).toBe("BATON_MALFORMED");
      expect(refusal(() => signer.verify(token.slice(token.length - length)))).toBe("BATON_MALFORMED");
    }
    expect(refusal(() => signer.verify(token + "A"))).toBe("BATON_MALFORMED");
    expect(refusal(() => signer.verify(token + token))).toBe("BATON_MALFORMED");
  });

  it("refuses huge inputs without decoding them", () => {
    const signer = new BatonSigner({ key: KEY });
    expect(refusal(() => signer.verify("A".repeat(50_000_000)))).toBe("BATON_MALFORMED");
  });

  it("refuses a token signed with another key", () => {
    const minter = new BatonSigner({ key: OTHER_KEY, epoch: 5 });
    const verifier = new BatonSigner({ key: KEY, epoch: 5 });
    const token = minter.mint(newSessionId(), 3n);
    expect(minter.verify(token).generation).toBe(3n);
    expect(refusal(() => verifier.verify(token))).toBe("BATON_FORGED");
    // Two default signers have two random keys.
    expect(refusal(() => new BatonSigner().verify(new BatonSigner().mint(newSessionId(), 0n)))).toBe("BATON_FORGED");
  });

  it("verifies a token of another epoch with currentEpoch false", () => {
    const before = new BatonSigner({ key: KEY, epoch: 1 });
    const after = new BatonSigner({ key: KEY, epoch: 2 });
    const id = newSessionId();
    const claims = after.verify(before.mint(id, 9n));
    expect(claims).toMatchObject({ epoch: 1, currentEpoch: false, generation: 9n });
    expect(claims.sessionId).toEqual(id);
    expect(before.verify(before.mint(id, 9n)).currentEpoch).toBe(true);
  });

  it("refuses re-encodings of a valid token", () => {
    const signer = new BatonSigner({ key: KEY });
    const token = signer.mint(newSessionId(), 123n);
    expect(signer.verify(token).generation).toBe(123n);
    const standard = Buffer.from(toBytes(token)).toString("base64");
    const variants = [
      token + "==",
      token + "=",
      standard,
      standard.replace(/=+$/, ""),
      " " + token,
      token + "\n",
      token.slice(0, 40) + " " + token.slice(41),
      token.slice(0, 40) + "\t" + token.slice(40, -1),
    ];
    // Setting the 4 unused trailing bits of the last character decodes (leniently) to the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token[token.length - 1]!);
    expect(last & 15).toBe(0);
    for (let low = 1; low < 16; low++) {
      const reencoded = token.slice(0, -1) + alphabet[last | low]!;
      expect(toBytes(reencoded)).toEqual(toBytes(token)); // Node's lenient decoder cannot tell them apart...
      variants.push(reencoded);
    }
    for (const variant of variants) {
      if (variant === token) continue;
      expect(refusal(() => signer.verify(variant))).toBe("BATON_MALFORMED"); // ...but verify can.
    }
  });

  it("throws only BatonError for arbitrary strings and values", () => {
    const signer = new BatonSigner({ key: KEY });
    const token = signer.mint(newSessionId(), 0n);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary", minLength: 80, maxLength: 84 }),
          fc.string({ unit: fc.constantFrom(..."AZaz09-_+/=".split("")), minLength: 82, maxLength: 82 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{82}$/),
          fc.uint8Array({ minLength: 0, maxLength: 80 }).map((b) => Buffer.from(b).toString("base64url")),
          fc.tuple(fc.nat({ max: 81 }), fc.string({ maxLength: 3 })).map(([i, s]) => token.slice(0, i) + s + token.slice(i + 1)),
        ),
        (input) => {
          fc.pre(input !== token);
          expect(["BATON_FORGED", "BATON_MALFORMED"]).toContain(refusal(() => signer.verify(input)));
        },
      ),
      { numRuns: 2000 },
    );
    for (const value of [undefined, null, 42, {}, [], Symbol("x"), 10n, new Uint8Array(61)]) {
      expect(refusal(() => signer.verify(value as unknown as string))).toBe("BATON_MALFORMED");
    }
  });

  it("refuses a correctly signed token of an unknown format version as malformed", () => {
    const signer = new BatonSigner({ key: KEY });
    const bytes = toBytes(signer.mint(newSessionId(), 1n));
    bytes[0] = 2;
    bytes.set(hmac(sha256, KEY, bytes.subarray(0, 29)), 29);
    expect(refusal(() => signer.verify(fromBytes(bytes)))).toBe("BATON_MALFORMED");
  });

  it("refuses bad mint arguments as caller bugs, not as BatonError", () => {
    const signer = new BatonSigner({ key: KEY });
    expect(() => signer.mint(new Uint8Array(15), 0n)).toThrow(RangeError);
    expect(() => signer.mint(new Uint8Array(17), 0n)).toThrow(RangeError);
    expect(() => signer.mint("x".repeat(16) as unknown as Uint8Array, 0n)).toThrow(TypeError);
    expect(() => signer.mint(newSessionId(), -1n)).toThrow(RangeError);
    expect(() => signer.mint(newSessionId(), MAX_U64 + 1n)).toThrow(RangeError);
    expect(() => signer.mint(newSessionId(), 1 as unknown as bigint)).toThrow(TypeError);
    expect(signer.verify(signer.mint(newSessionId(), MAX_U64)).generation).toBe(MAX_U64);
  });

  it("validates its options", () => {
    expect(() => new BatonSigner({ key: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => new BatonSigner({ key: "k".repeat(40) as unknown as Uint8Array })).toThrow(TypeError);
    expect(() => new BatonSigner({ epoch: -1 })).toThrow(RangeError);
    expect(() => new BatonSigner({ epoch: 2 ** 32 })).toThrow(RangeError);
    expect(() => new BatonSigner({ epoch: 1.5 })).toThrow(RangeError);
    expect(new BatonSigner({ epoch: 0xffffffff }).epoch).toBe(0xffffffff);
    const epoch = new BatonSigner().epoch;
    expect(Number.isInteger(epoch) && epoch >= 0 && epoch <= 0xffffffff).toBe(true);
  });

  it("copies its key, so later mutation of the caller's array changes nothing", () => {
    const key = new Uint8Array(32).fill(1);
    const signer = new BatonSigner({ key });
    const token = signer.mint(newSessionId(), 5n);
    key.fill(2);
    expect(signer.verify(token).generation).toBe(5n);
  });
});

describe("session ids", () => {
  it("are 16 random bytes", () => {
    const a = newSessionId();
    const b = newSessionId();
    expect(a).toHaveLength(16);
    expect(a).not.toEqual(b);
  });

  it("round-trip through their text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (id) => {
        const text = sessionIdToText(id);
        expect(text).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(sessionIdFromText(text)).toEqual(id);
      }),
    );
  });

  it("parse only canonical 22-character texts", () => {
    const text = sessionIdToText(newSessionId());
    expect(sessionIdFromText(text + "==")).toBeUndefined();
    expect(sessionIdFromText(text.slice(1))).toBeUndefined();
    expect(sessionIdFromText(text.slice(0, 21) + "+")).toBeUndefined();
    expect(sessionIdFromText("A".repeat(21) + "B")).toBeUndefined(); // trailing bits set
    expect(sessionIdFromText("A".repeat(22))).toEqual(new Uint8Array(16));
    expect(sessionIdFromText(42 as unknown as string)).toBeUndefined();
    expect(() => sessionIdToText(new Uint8Array(8))).toThrow(RangeError);
  });
});
