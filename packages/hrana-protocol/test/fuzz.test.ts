import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { json, ProtocolError, protobuf } from "../src/index.js";
import { json as clientJson, protobuf as clientProtobuf } from "../src/client.js";
import * as arb from "./arbitraries.js";

/** Runs a decoder: it may succeed or throw a ProtocolError, nothing else. */
function onlyProtocolErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
}

const jsonDecoders: ((input: string | Uint8Array) => unknown)[] = [
  (input) => json.decodePipelineReqBody(input, 2),
  (input) => json.decodePipelineReqBody(input, 3),
  (input) => json.decodeCursorReqBody(input),
  (input) => json.decodeClientMsg(input, 1),
  (input) => json.decodeClientMsg(input, 2),
  (input) => json.decodeClientMsg(input, 3),
  (input) => clientJson.decodePipelineRespBody(input),
  (input) => clientJson.decodeServerMsg(input),
  (input) => clientJson.decodeCursorRespStream(input),
];

const protobufDecoders: ((input: Uint8Array) => unknown)[] = [
  protobuf.decodePipelineReqBody,
  protobuf.decodeCursorReqBody,
  protobuf.decodeClientMsg,
  clientProtobuf.decodePipelineRespBody,
  clientProtobuf.decodeServerMsg,
  clientProtobuf.decodeCursorRespStream,
  clientProtobuf.decodeError,
];

/** Replaces the `index`-th node (pre-order, modulo the node count) of a JSON tree with `replacement`. */
function replaceNode(tree: unknown, index: number, replacement: unknown): unknown {
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    for (const [key, child] of Object.entries(node)) {
      nodes.push({ parent: node as Record<string, unknown>, key: Array.isArray(node) ? Number(key) : key });
      walk(child);
    }
  };
  walk(tree);
  if (nodes.length === 0) return replacement;
  const { parent, key } = nodes[index % nodes.length]!;
  (parent as Record<string | number, unknown>)[key] = replacement;
  return tree;
}

/** BigInts and byte arrays as JSON-compatible placeholders, so a generated message survives JSON.parse(JSON.stringify). */
const hostileJson = fc.jsonValue({ maxDepth: 3 });

describe("malformed input never throws anything but ProtocolError", () => {
  test("random bytes, to every JSON and protobuf decoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        for (const decode of jsonDecoders) onlyProtocolErrors(() => decode(bytes));
        for (const decode of protobufDecoders) onlyProtocolErrors(() => decode(bytes));
      }),
      { numRuns: 500 },
    );
  });

  test("random JSON documents, to every JSON decoder", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (document) => {
        const text = JSON.stringify(document) ?? "null";
        for (const decode of jsonDecoders) onlyProtocolErrors(() => decode(text));
      }),
      { numRuns: 300 },
    );
  });

  test("valid messages with one subtree replaced by random JSON", () => {
    const encoded = fc.oneof(
      arb.pipelineReqBody.map(clientJson.encodePipelineReqBody),
      arb.clientMsg.map(clientJson.encodeClientMsg),
      arb.pipelineRespBody.map(json.encodePipelineRespBody),
      arb.serverMsg.map(json.encodeServerMsg),
    );
    fc.assert(
      fc.property(encoded, fc.nat(), hostileJson, (text, index, replacement) => {
        const mutated = JSON.stringify(replaceNode(JSON.parse(text), index, replacement));
        for (const decode of jsonDecoders) onlyProtocolErrors(() => decode(mutated));
      }),
      { numRuns: 500 },
    );
  });

  test("valid protobuf encodings with bytes overwritten, truncated or inserted", () => {
    const encoded = fc.oneof(
      arb.pipelineReqBody.map(clientProtobuf.encodePipelineReqBody),
      arb.clientMsg.map(clientProtobuf.encodeClientMsg),
      arb.pipelineRespBody.map(protobuf.encodePipelineRespBody),
      arb.serverMsg.map(protobuf.encodeServerMsg),
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(encoded, fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, mutations) => {
        let current = Array.from(bytes);
        for (const m of mutations) {
          const at = current.length === 0 ? 0 : m.at % current.length;
          if (m.kind === "set") current[at] = m.byte;
          else if (m.kind === "cut") current = current.slice(0, at);
          else current.splice(at, 0, ...m.bytes);
        }
        const input = new Uint8Array(current);
        for (const decode of protobufDecoders) onlyProtocolErrors(() => decode(input));
      }),
      { numRuns: 1000 },
    );
  });
});

/** A protobuf BatchResult carries no step count: the slots after the last executed step are not on the wire. */
function withoutTrailingSkips<T>(message: T): T {
  return JSON.parse(JSON.stringify(message, replacer), reviver) as T;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: Array.from(value) };
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (typeof value === "number" && Object.is(value, -0)) return { $number: "-0" };
  if (value !== null && typeof value === "object" && "stepResults" in value && "stepErrors" in value) {
    const { stepResults, stepErrors } = value as { stepResults: unknown[]; stepErrors: unknown[] };
    let length = stepResults.length;
    while (length > 0 && stepResults[length - 1] === null && stepErrors[length - 1] === null) length--;
    return { stepResults: stepResults.slice(0, length), stepErrors: stepErrors.slice(0, length) };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object") {
    if ("$bigint" in value) return BigInt((value as { $bigint: string }).$bigint);
    if ("$bytes" in value) return new Uint8Array((value as { $bytes: number[] }).$bytes);
    if ("$number" in value) return Number((value as { $number: string }).$number);
  }
  return value;
}

describe("round trips of generated messages", () => {
  test("JSON: client messages", () => {
    fc.assert(
      fc.property(arb.pipelineReqBody, (body) => {
        expect(json.decodePipelineReqBody(clientJson.encodePipelineReqBody(body), 3)).toEqual(body);
      }),
    );
    fc.assert(
      fc.property(arb.clientMsg, (msg) => {
        expect(json.decodeClientMsg(clientJson.encodeClientMsg(msg), 3)).toEqual(msg);
      }),
    );
  });

  test("JSON: server messages", () => {
    fc.assert(
      fc.property(arb.pipelineRespBody, (body) => {
        expect(clientJson.decodePipelineRespBody(json.encodePipelineRespBody(body))).toEqual(body);
      }),
    );
    fc.assert(
      fc.property(arb.serverMsg, (msg) => {
        expect(clientJson.decodeServerMsg(json.encodeServerMsg(msg))).toEqual(msg);
      }),
    );
    fc.assert(
      fc.property(fc.record({ baton: fc.option(arb.text, { nil: null }), baseUrl: fc.constant(null) }), fc.array(arb.cursorEntry, { maxLength: 5 }), (body, entries) => {
        const text = json.encodeCursorRespLine(body) + entries.map(json.encodeCursorEntryLine).join("");
        expect(clientJson.decodeCursorRespStream(text)).toEqual({ body, entries });
      }),
    );
  });

  test("protobuf: client messages", () => {
    fc.assert(
      fc.property(arb.pipelineReqBody, (body) => {
        expect(protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(body))).toEqual(body);
      }),
    );
    fc.assert(
      fc.property(arb.clientMsg, (msg) => {
        expect(protobuf.decodeClientMsg(clientProtobuf.encodeClientMsg(msg))).toEqual(msg);
      }),
    );
    fc.assert(
      fc.property(fc.option(arb.text, { nil: null }), arb.batch, (baton, batch) => {
        expect(protobuf.decodeCursorReqBody(clientProtobuf.encodeCursorReqBody({ baton, batch }))).toEqual({ baton, batch });
      }),
    );
  });

  test("protobuf: server messages", () => {
    fc.assert(
      fc.property(arb.pipelineRespBody, (body) => {
        expect(clientProtobuf.decodePipelineRespBody(protobuf.encodePipelineRespBody(body))).toEqual(withoutTrailingSkips(body));
      }),
    );
    fc.assert(
      fc.property(arb.serverMsg, (msg) => {
        expect(clientProtobuf.decodeServerMsg(protobuf.encodeServerMsg(msg))).toEqual(withoutTrailingSkips(msg));
      }),
    );
    fc.assert(
      fc.property(fc.record({ baton: fc.option(arb.text, { nil: null }), baseUrl: fc.option(arb.text, { nil: null }) }), fc.array(arb.cursorEntry, { maxLength: 5 }), (body, entries) => {
        const parts = [protobuf.encodeCursorRespDelimited(body), ...entries.map(protobuf.encodeCursorEntryDelimited)];
        const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let offset = 0;
        for (const part of parts) {
          stream.set(part, offset);
          offset += part.length;
        }
        expect(clientProtobuf.decodeCursorRespStream(stream)).toEqual({ body, entries });
      }),
    );
  });

  test("the JSON and protobuf codecs agree on client requests", () => {
    fc.assert(
      fc.property(arb.pipelineReqBody, (body) => {
        const viaJson = json.decodePipelineReqBody(clientJson.encodePipelineReqBody(body), 3);
        const viaProtobuf = protobuf.decodePipelineReqBody(clientProtobuf.encodePipelineReqBody(body));
        expect(viaProtobuf).toEqual(viaJson);
      }),
    );
  });
});
