import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64urlLength, decodeBase64url, encodeBase64url } from "../src/base64url.js";

describe("base64url", () => {
  it("encodes exactly like Node's base64url and decodes back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
        expect(text).toHaveLength(base64urlLength(bytes.length));
        expect(decodeBase64url(text)).toEqual(bytes);
      }),
    );
  });

  it("decodes only canonical texts: every accepted text re-encodes to itself", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."AQgw/_-+=Z9 ".split("")), maxLength: 12 }), (text) => {
        const bytes = decodeBase64url(text);
        if (bytes !== undefined) expect(encodeBase64url(bytes)).toBe(text);
      }),
    );
    expect(decodeBase64url("QQ")).toEqual(new Uint8Array([0x41]));
    expect(decodeBase64url("QR")).toBeUndefined();
    expect(decodeBase64url("QUE")).toEqual(new Uint8Array([0x41, 0x41]));
    expect(decodeBase64url("QUF")).toBeUndefined();
    expect(decodeBase64url("QQ==")).toBeUndefined();
    expect(decodeBase64url("Q")).toBeUndefined();
    expect(decodeBase64url("")).toEqual(new Uint8Array(0));
  });
});
