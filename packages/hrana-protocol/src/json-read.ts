/**
 * The JSON reading both decoders share (requests on the server, responses on a client): parsing behind the depth
 * scan, strict field readers, and `Value`.
 *
 * Every reader checks type, integer range and presence and throws `ProtocolError` whose message names the offending
 * field (`path`, joined with `join`); nothing else is ever thrown for malformed input.
 */
import type { Value } from "@hranad/driver";
import { decodeBase64 } from "./base64.js";
import { checkJsonDepth } from "./json-depth.js";
import { ProtocolError } from "./protocol-error.js";

export type JsonObject = { readonly [key: string]: unknown };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

/** Decodes one `Value` from an already parsed JSON value. */
export function decodeValue(json: unknown): Value {
  return value(json, "value");
}

export function value(json: unknown, path: string): Value {
  const o = object(json, path);
  const type = o["type"];
  switch (type) {
    case "null":
      return null;
    case "integer": {
      const digits = o["value"];
      if (typeof digits !== "string") bad(join(path, "value"), `expected a decimal integer in a string, got ${kind(digits)}`);
      return int64(digits, join(path, "value"));
    }
    case "float": {
      const number = o["value"];
      if (typeof number !== "number") bad(join(path, "value"), `expected a number, got ${kind(number)}`);
      return number;
    }
    case "text":
      return text(o["value"], join(path, "value"));
    case "blob": {
      const encoded = o["base64"];
      if (typeof encoded !== "string") bad(join(path, "base64"), `expected a base64 string, got ${kind(encoded)}`);
      const bytes = decodeBase64(encoded);
      if (bytes === undefined) bad(join(path, "base64"), "not valid base64");
      return bytes;
    }
    default:
      return unknownType(type, path, "Value");
  }
}

/** A signed 64-bit decimal integer, as Rust's `i64::from_str` accepts it (optional sign, leading zeros allowed). */
function int64(text: string, path: string): bigint {
  if (!DECIMAL.test(text)) bad(path, `expected a decimal integer, got ${JSON.stringify(text.slice(0, 40))}`);
  const parsed = BigInt(text);
  if (parsed < INT64_MIN || parsed > INT64_MAX) bad(path, "integer out of the signed 64-bit range");
  return parsed;
}

export function optInt64String(o: JsonObject, key: string, path: string): bigint | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  if (typeof json !== "string") bad(join(path, key), `expected a decimal integer in a string or null, got ${kind(json)}`);
  return int64(json, join(path, key));
}

/**
 * `JSON.parse` behind a depth scan: input nested deeper than `MAX_JSON_DEPTH` is refused with
 * `PROTO_NESTING_TOO_DEEP` before it is decoded or parsed (deep nesting makes `JSON.parse` superlinear, even in a
 * field that is ignored). Bytes are scanned before UTF-8 decoding.
 */
export function parse(input: string | Uint8Array): unknown {
  checkJsonDepth(input);
  const text = typeof input === "string" ? input : utf8Text(input);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError("PROTO_INVALID_JSON", "the message is not valid JSON");
  }
}

export function utf8Text(input: Uint8Array): string {
  try {
    return utf8.decode(input);
  } catch {
    throw new ProtocolError("PROTO_INVALID_JSON", "the message is not valid UTF-8");
  }
}

export function object(json: unknown, path: string): JsonObject {
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad(path, `expected an object, got ${kind(json)}`);
  return json as JsonObject;
}

export function array(json: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(json)) bad(path, `expected an array, got ${kind(json)}`);
  return json;
}

export function string(json: unknown, path: string): string {
  if (typeof json !== "string") bad(path, `expected a string, got ${kind(json)}`);
  return json;
}

/** A string that must be well-formed Unicode (JSON escapes can smuggle lone surrogates; sqld rejects them). */
export function text(json: unknown, path: string): string {
  const result = string(json, path);
  if (!(result as unknown as WellFormedString).isWellFormed()) bad(path, "the string contains a lone surrogate");
  return result;
}

export function optString(o: JsonObject, key: string, path: string): string | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  return string(json, join(path, key));
}

export function boolean(json: unknown, path: string): boolean {
  if (typeof json !== "boolean") bad(path, `expected a boolean, got ${kind(json)}`);
  return json;
}

export function int32(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isInteger(json) || json < -2147483648 || json > 2147483647) {
    bad(path, `expected a 32-bit signed integer, got ${kind(json)}`);
  }
  return json;
}

export function optInt32(o: JsonObject, key: string, path: string): number | null {
  const json = o[key];
  if (json === undefined || json === null) return null;
  return int32(json, join(path, key));
}

export function uint32(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isInteger(json) || json < 0 || json > 4294967295) {
    bad(path, `expected a 32-bit unsigned integer, got ${kind(json)}`);
  }
  return json;
}

/** A non-negative count such as `affected_row_count` (a JSON number, at most 2^53 - 1). */
export function count(json: unknown, path: string): number {
  if (typeof json !== "number" || !Number.isSafeInteger(json) || json < 0) {
    bad(path, `expected a non-negative integer, got ${kind(json)}`);
  }
  return json;
}

export function unknownType(type: unknown, path: string, structure: string): never {
  if (typeof type !== "string") bad(join(path, "type"), `expected the ${structure} type tag (a string), got ${kind(type)}`);
  throw new ProtocolError("PROTO_UNKNOWN_TYPE", `${where(path)}: unknown ${structure} type ${JSON.stringify(type.slice(0, 40))}`);
}

export function bad(path: string, message: string): never {
  throw new ProtocolError("PROTO_BAD_REQUEST", `${where(path)}: ${message}`);
}

export function where(path: string): string {
  return path === "" ? "the message" : `field \`${path}\``;
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function kind(json: unknown): string {
  if (json === undefined) return "nothing (the field is missing)";
  if (json === null) return "null";
  if (Array.isArray(json)) return "an array";
  if (typeof json === "string") return "a string";
  if (typeof json === "number") return Number.isInteger(json) ? `the number ${json}` : "a non-integer number";
  return `a ${typeof json}`;
}

// `String.prototype.isWellFormed` is in Node 20 but not in TypeScript's ES2023 lib.
interface WellFormedString {
  isWellFormed(): boolean;
}
