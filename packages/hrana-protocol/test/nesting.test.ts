// Deeply nested input: the JSON depth scan before `JSON.parse`, and the protobuf decoder's nesting behaviour.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { json, MAX_CONDITION_DEPTH, ProtocolError, protobuf, type ProtocolErrorCode } from "../src/index.js";
import type { Batch, BatchCond, ClientMsg, CursorReqBody, PipelineReqBody, Stmt } from "../src/index.js";
import { json as clientJson, protobuf as clientProtobuf } from "../src/client.js";
import { jsonDepth, MAX_JSON_DEPTH } from "../src/json-depth.js";
import * as arb from "./arbitraries.js";

const utf8 = new TextEncoder();

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function rejects(run: () => unknown, code: ProtocolErrorCode, message?: RegExp): void {
  const thrown = thrownBy(run);
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
  if (message) expect((thrown as ProtocolError).message).toMatch(message);
}

/** Every JSON entry point a server uses, under every protocol version it is used with. */
const serverEntryPoints: [string, (input: string | Uint8Array) => unknown, string][] = [
  ["decodePipelineReqBody v2", (input) => json.decodePipelineReqBody(input, 2), `{"requests":[],"ignored":`],
  ["decodePipelineReqBody v3", (input) => json.decodePipelineReqBody(input, 3), `{"requests":[],"ignored":`],
  ["decodeCursorReqBody", (input) => json.decodeCursorReqBody(input), `{"batch":{"steps":[]},"ignored":`],
  ["decodeClientMsg v1", (input) => json.decodeClientMsg(input, 1), `{"type":"hello","ignored":`],
  ["decodeClientMsg v2", (input) => json.decodeClientMsg(input, 2), `{"type":"hello","ignored":`],
  ["decodeClientMsg v3", (input) => json.decodeClientMsg(input, 3), `{"type":"hello","ignored":`],
];

/** `prefix` (an object with an open `"ignored":` field) followed by `depth` nested arrays and the closing brace. */
function withNestedArrays(prefix: string, depth: number): string {
  return `${prefix}${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

const SELECT: Required<Stmt> = { sql: "SELECT 1", sqlId: null, args: [], namedArgs: [], wantRows: true };

/** `levels` nested conditions of `type`, the innermost `and`/`or` with no operands, the innermost `not` of `ok 0`. */
function nestedCond(type: "not" | "and" | "or", levels: number): BatchCond {
  let cond: BatchCond = type === "not" ? { type: "ok", step: 0 } : { type, conds: [] };
  for (let i = 1; i < levels; i++) cond = type === "not" ? { type, cond } : { type, conds: [cond] };
  return cond;
}

function batchWith(condition: BatchCond): Batch {
  return { steps: [{ condition: null, stmt: SELECT }, { condition, stmt: SELECT }] };
}

const pipelineWith = (condition: BatchCond): PipelineReqBody => ({ baton: null, requests: [{ type: "batch", batch: batchWith(condition) }] });
const cursorWith = (condition: BatchCond): CursorReqBody => ({ baton: null, batch: batchWith(condition) });
const clientMsgWith = (condition: BatchCond): ClientMsg => ({
  type: "request",
  requestId: 1,
  request: { type: "batch", streamId: 0, batch: batchWith(condition) },
});

describe("jsonDepth", () => {
  const cases: [string, number][] = [
    ["", 0],
    ["1", 0],
    ["[]", 1],
    ["{}", 1],
    [`{"a":[1,{"b":[]}],"c":{}}`, 4],
    [`["[[[", "{{{"]`, 1],
    [`["\\"[[[", "]"]`, 1],
    [`["\\\\", [[]]]`, 3],
    [`"\\\\\\"[[["`, 0],
    [`["\\u005b\\u007b", "€[😀{"]`, 1],
    ["]]]]]][[", 2],
    ["[[[]]]]]]]][", 3],
  ];
  test.each(cases)("%s has depth %i, as a string and as UTF-8 bytes", (input, depth) => {
    expect(jsonDepth(input)).toBe(depth);
    expect(jsonDepth(utf8.encode(input))).toBe(depth);
  });

  test("the scan stops one level past the limit", () => {
    expect(jsonDepth("[[[[[[]]]]]]", 3)).toBe(4);
    expect(jsonDepth(utf8.encode("[[[[[[]]]]]]"), 3)).toBe(4);
    expect(jsonDepth("[[[]]]", 3)).toBe(3);
  });

  test("equals the depth of random JSON documents, with any Unicode and any escapes, as text and as bytes", () => {
    const depthOf = (value: unknown): number =>
      typeof value === "object" && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), (document) => {
        const text = JSON.stringify(document);
        expect(jsonDepth(text)).toBe(depthOf(document));
        expect(jsonDepth(utf8.encode(text))).toBe(depthOf(document));
      }),
    );
  });

  test("strings made only of brackets, quotes and backslashes add nothing", () => {
    // `[strings, {"k": strings}]` nests three levels: the outer array, the object, the array in it.
    const hostile = fc.string({ unit: fc.constantFrom("[", "{", "]", "}", '"', "\\", "é", "😀", "a") });
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 5 }), (strings) => {
        const text = JSON.stringify([strings, { k: strings }]);
        expect(jsonDepth(text)).toBe(3);
        expect(jsonDepth(utf8.encode(text))).toBe(3);
      }),
    );
  });
});

describe("JSON nesting bound", () => {
  test(`the deepest legitimate message (${MAX_CONDITION_DEPTH} nested and/or conditions) needs 2 * ${MAX_CONDITION_DEPTH} + 6 levels, within MAX_JSON_DEPTH`, () => {
    for (const type of ["and", "or", "not"] as const) {
      const cond = nestedCond(type, MAX_CONDITION_DEPTH);
      const pipeline = clientJson.encodePipelineReqBody(pipelineWith(cond));
      const cursor = clientJson.encodeCursorReqBody(cursorWith(cond));
      const msg = clientJson.encodeClientMsg(clientMsgWith(cond));
      if (type !== "not") {
        expect(jsonDepth(pipeline)).toBe(2 * MAX_CONDITION_DEPTH + 6);
        expect(jsonDepth(msg)).toBe(2 * MAX_CONDITION_DEPTH + 5);
        expect(jsonDepth(cursor)).toBe(2 * MAX_CONDITION_DEPTH + 4);
      }
      expect(jsonDepth(pipeline)).toBeLessThan(MAX_JSON_DEPTH);
      for (const input of [pipeline, utf8.encode(pipeline)]) {
        expect(json.decodePipelineReqBody(input, 2)).toEqual(pipelineWith(cond));
        expect(json.decodePipelineReqBody(input, 3)).toEqual(pipelineWith(cond));
      }
      for (const input of [cursor, utf8.encode(cursor)]) expect(json.decodeCursorReqBody(input)).toEqual(cursorWith(cond));
      for (const version of [1, 2, 3] as const) {
        for (const input of [msg, utf8.encode(msg)]) expect(json.decodeClientMsg(input, version)).toEqual(clientMsgWith(cond));
      }
    }
  });

  test("one condition level more is still refused by the condition bound, not by the scan", () => {
    const pipeline = clientJson.encodePipelineReqBody(pipelineWith(nestedCond("and", MAX_CONDITION_DEPTH + 1)));
    expect(jsonDepth(pipeline)).toBeLessThanOrEqual(MAX_JSON_DEPTH);
    rejects(() => json.decodePipelineReqBody(pipeline, 3), "PROTO_NESTING_TOO_DEEP", /batch conditions nest deeper than 100/);
  });

  test.each(serverEntryPoints)(`%s: an ignored field nested exactly to MAX_JSON_DEPTH decodes, one more is refused`, (_, decode, prefix) => {
    const fits = withNestedArrays(prefix, MAX_JSON_DEPTH - 1);
    const tooDeep = withNestedArrays(prefix, MAX_JSON_DEPTH);
    expect(jsonDepth(fits)).toBe(MAX_JSON_DEPTH);
    for (const input of [fits, utf8.encode(fits)]) expect(() => decode(input)).not.toThrow();
    for (const input of [tooDeep, utf8.encode(tooDeep)]) {
      rejects(() => decode(input), "PROTO_NESTING_TOO_DEEP", new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    }
  });

  describe("five million nested arrays in an ignored field (a 10 MB body)", () => {
    const depth = 5_000_000;
    test.each(serverEntryPoints)("%s refuses it, as text and as bytes", (_, decode, prefix) => {
      const text = withNestedArrays(prefix, depth);
      expect(text.length).toBeGreaterThan(10_000_000);
      rejects(() => decode(text), "PROTO_NESTING_TOO_DEEP", new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      rejects(() => decode(utf8.encode(text)), "PROTO_NESTING_TOO_DEEP", new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    });

    test("as do the client-side decoders", () => {
      const text = withNestedArrays(`{"results":[],"ignored":`, depth);
      rejects(() => clientJson.decodePipelineRespBody(text), "PROTO_NESTING_TOO_DEEP");
      rejects(() => clientJson.decodeServerMsg(text), "PROTO_NESTING_TOO_DEEP");
      rejects(() => clientJson.decodeCursorRespStream(`{}\n${text}\n`), "PROTO_NESTING_TOO_DEEP");
    });

    test("nested objects count as well as arrays, mixed", () => {
      const text = `{"requests":[],"ignored":${'{"a":['.repeat(depth / 2)}${"]}".repeat(depth / 2)}}`;
      rejects(() => json.decodePipelineReqBody(text, 3), "PROTO_NESTING_TOO_DEEP");
    });
  });

  test("brackets inside strings, escaped quotes and escaped backslashes are scanned as JSON reads them", () => {
    const many = MAX_JSON_DEPTH * 4;
    // Brackets in the SQL text and in an ignored string, behind an escaped quote: the string goes on.
    const sql = `SELECT '${"[{".repeat(many)}"\\'`;
    const body = JSON.stringify({ requests: [{ type: "execute", stmt: { sql } }], ignored: `\\"${"[".repeat(many)}` });
    for (const input of [body, utf8.encode(body)]) {
      expect(json.decodePipelineReqBody(input, 3)).toEqual({ baton: null, requests: [{ type: "execute", stmt: { ...SELECT, sql } }] });
    }
    // An escaped backslash ends in the string's real closing quote: the brackets after it are structure.
    const deep = `{"requests":[],"a":"\\\\",${`"b":${"[".repeat(many)}${"]".repeat(many)}`}}`;
    expect(() => JSON.parse(deep) as unknown).not.toThrow();
    rejects(() => json.decodePipelineReqBody(deep, 3), "PROTO_NESTING_TOO_DEEP");
    // An escaped quote (`\"`) inside a string does not end it; the quote after it does.
    const quoted = `{"requests":[],"a":"\\"[[[[","b":${"[".repeat(many)}${"]".repeat(many)}}`;
    rejects(() => json.decodePipelineReqBody(quoted, 3), "PROTO_NESTING_TOO_DEEP");
  });

  test("multi-byte UTF-8 around and inside strings does not disturb the scan", () => {
    const sql = `SELECT '€ 😀 ${"[".repeat(MAX_JSON_DEPTH * 2)} ü'`;
    const body = JSON.stringify({ requests: [{ type: "execute", stmt: { sql } }], 𝔵: ["é", ["😀"]] });
    expect(json.decodePipelineReqBody(utf8.encode(body), 2)).toEqual({ baton: null, requests: [{ type: "execute", stmt: { ...SELECT, sql } }] });
  });

  test("invalid UTF-8 and invalid JSON within the bound are still reported as such", () => {
    rejects(() => json.decodePipelineReqBody(new Uint8Array([0x7b, 0x5b, 0xff, 0x5d, 0x7d]), 2), "PROTO_INVALID_JSON", /UTF-8/);
    rejects(() => json.decodePipelineReqBody(`]]]]${"[".repeat(10)}`, 2), "PROTO_INVALID_JSON");
    rejects(() => json.decodePipelineReqBody(`{"requests":[],"x":"${"[".repeat(MAX_JSON_DEPTH * 2)}`, 2), "PROTO_INVALID_JSON");
  });

  test("random valid client messages decode the same from text and from bytes, and stay within the bound", () => {
    fc.assert(
      fc.property(arb.pipelineReqBody, (body) => {
        const text = clientJson.encodePipelineReqBody(body);
        expect(jsonDepth(text)).toBeLessThanOrEqual(MAX_JSON_DEPTH);
        expect(json.decodePipelineReqBody(text, 3)).toEqual(body);
        expect(json.decodePipelineReqBody(utf8.encode(text), 3)).toEqual(body);
      }),
    );
    fc.assert(
      fc.property(arb.batch, (batch) => {
        const text = clientJson.encodeCursorReqBody({ baton: null, batch });
        expect(json.decodeCursorReqBody(utf8.encode(text))).toEqual({ baton: null, batch });
      }),
    );
    fc.assert(
      fc.property(arb.clientMsg, (msg) => {
        const text = clientJson.encodeClientMsg(msg);
        expect(json.decodeClientMsg(text, 3)).toEqual(msg);
        expect(json.decodeClientMsg(utf8.encode(text), 3)).toEqual(msg);
      }),
    );
  });
});

describe("protobuf nesting", () => {
  /**
   * `levels` nested length-delimited fields around `inner`, built back to front in one buffer: level `i` (from the
   * inside) prepends the one-byte key `keys[i % keys.length]` and the varint length of what it wraps.
   */
  function nestBackToFront(levels: number, keys: number | number[], inner: ArrayLike<number>): Uint8Array {
    const cycle = typeof keys === "number" ? [keys] : keys;
    const buf = new Uint8Array(inner.length + levels * 6);
    let start = buf.length - inner.length;
    buf.set(inner, start);
    for (let i = 0; i < levels; i++) {
      let length = buf.length - start;
      const varint: number[] = [];
      while (length >= 0x80) {
        varint.push((length & 0x7f) | 0x80);
        length >>>= 7;
      }
      varint.push(length);
      start -= varint.length;
      buf.set(varint, start);
      buf[--start] = cycle[i % cycle.length] as number;
    }
    return buf.subarray(start);
  }

  function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  test("a million nested sub-messages in an unknown field are skipped as opaque bytes", () => {
    // Field 15, LEN (key 0x7a), nested a million deep inside a PipelineReqBody with no requests.
    const body = nestBackToFront(1_000_000, 0x7a, []);
    expect(body.length).toBeGreaterThan(4_000_000);
    expect(protobuf.decodePipelineReqBody(body)).toEqual({ baton: null, requests: [] });
    expect(protobuf.decodeCursorReqBody(concat(body, [0x12, 0x00]))).toEqual({ baton: null, batch: { steps: [] } });
  });

  test("groups (wire types 3 and 4) are refused at the first key, however many follow", () => {
    for (const key of [0x7b /* 15:SGROUP */, 0x7c /* 15:EGROUP */]) {
      const body = new Uint8Array(5_000_000).fill(key);
      rejects(() => protobuf.decodePipelineReqBody(body), "PROTO_INVALID_PROTOBUF", /groups/);
      rejects(() => protobuf.decodeCursorReqBody(body), "PROTO_INVALID_PROTOBUF", /groups/);
      rejects(() => protobuf.decodeClientMsg(body), "PROTO_INVALID_PROTOBUF", /groups/);
    }
    // A group inside a known sub-message (a BatchCond) is refused there too.
    const stepWithGroup = [0x0a, 0x04, 0x0a, 0x02, 0x7b, 0x7c];
    rejects(() => protobuf.decodeCursorReqBody(concat([0x12, 0x06], stepWithGroup)), "PROTO_INVALID_PROTOBUF", /groups/);
  });

  /** A cursor body of one step whose condition is `cond`, a BatchCond's encoding. */
  function cursorBodyWithCond(cond: Uint8Array): Uint8Array {
    const stmt = [0x12, 0x02, 0x0a, 0x00]; // 2:LEN Stmt { 1:LEN sql: "" }
    const step = concat(stmt, nestBackToFront(1, 0x0a, cond)); // the stmt, then 1:LEN condition
    return nestBackToFront(2, [0x0a, 0x12], step); // CursorReqBody { 2:LEN Batch { 1:LEN BatchStep } }
  }

  test("a million nested `not`, `and` and `or` conditions are refused at the condition bound, without deep recursion", () => {
    const okStep0 = [0x08, 0x00];
    const nots = nestBackToFront(1_000_000, 0x1a /* 3:LEN not */, okStep0);
    rejects(() => protobuf.decodeCursorReqBody(cursorBodyWithCond(nots)), "PROTO_NESTING_TOO_DEEP", /deeper than 100/);
    // `and`/`or` (4:LEN or 5:LEN CondList { 1:LEN BatchCond }): two sub-messages per level, innermost an empty list.
    for (const key of [0x22 /* and */, 0x2a /* or */]) {
      const conds = nestBackToFront(1_000_000, [0x0a, key], [key, 0x00]);
      rejects(() => protobuf.decodeCursorReqBody(cursorBodyWithCond(conds)), "PROTO_NESTING_TOO_DEEP", /deeper than 100/);
    }
  });

  test(`the deepest legitimate conditions (${MAX_CONDITION_DEPTH} levels) round-trip through protobuf`, () => {
    for (const type of ["and", "or", "not"] as const) {
      const cond = nestedCond(type, MAX_CONDITION_DEPTH);
      expect(protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(pipelineWith(cond)))).toEqual(pipelineWith(cond));
      expect(protobuf.decodeCursorReqBody(clientProtobuf.encodeCursorReqBody(cursorWith(cond)))).toEqual(cursorWith(cond));
      expect(protobuf.decodeClientMsg(clientProtobuf.encodeClientMsg(clientMsgWith(cond)))).toEqual(clientMsgWith(cond));
      const deeper = nestedCond(type, MAX_CONDITION_DEPTH + 1);
      rejects(() => protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(pipelineWith(deeper))), "PROTO_NESTING_TOO_DEEP");
    }
  });
});

describe("container count bound (PROTO_TOO_COMPLEX)", () => {
  test("refuses junk with more arrays and objects than its size allows, in every entry point", () => {
    const junk = `{"requests":[],"x":[${"[],".repeat(400_000)}[]]}`;
    expect(() => json.decodePipelineReqBody(junk, 3)).toThrow(expect.objectContaining({ code: "PROTO_TOO_COMPLEX" }));
    expect(() => json.decodePipelineReqBody(Buffer.from(junk), 3)).toThrow(expect.objectContaining({ code: "PROTO_TOO_COMPLEX" }));
    const cursor = `{"batch":{"steps":[]},"x":[${"{},".repeat(400_000)}{}]}`;
    expect(() => json.decodeCursorReqBody(cursor)).toThrow(expect.objectContaining({ code: "PROTO_TOO_COMPLEX" }));
    const message = `{"type":"hello","jwt":null,"x":[${"[],".repeat(400_000)}[]]}`;
    expect(() => json.decodeClientMsg(message, 3)).toThrow(expect.objectContaining({ code: "PROTO_TOO_COMPLEX" }));
  });

  test("accepts the densest legitimate bodies: many statements with empty arguments, many null values", () => {
    const steps = Array.from({ length: 50_000 }, () => ({ stmt: { sql: "", args: [] } }));
    const batch = JSON.stringify({ requests: [{ type: "batch", batch: { steps } }] });
    expect(json.decodePipelineReqBody(batch, 3).requests).toHaveLength(1);
    const args = Array.from({ length: 100_000 }, () => ({ type: "null" }));
    const execute = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1", args } }] });
    expect(json.decodePipelineReqBody(execute, 3).requests).toHaveLength(1);
  });
});
