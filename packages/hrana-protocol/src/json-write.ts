/**
 * The JSON writing both encoders share (responses on the server, requests on a client): strings and `Value`.
 *
 * Integers are decimal strings, floats JSON numbers, blobs base64 without padding. JSON has no form for
 * ±Infinity: they are written as `9e999`/`-9e999`, as SQLite's own JSON functions do, which every JavaScript
 * `JSON.parse` reads back as ±Infinity (sqld writes `null`, which @libsql/client rejects). NaN (which SQLite
 * never returns: it stores NULL instead) is written as a null value.
 */
import type { Value } from "@hranad/driver";
import { encodeBase64 } from "./base64.js";

export const str = JSON.stringify;

export function encodeValue(value: Value): string {
  switch (typeof value) {
    case "bigint":
      return `{"type":"integer","value":"${value}"}`;
    case "string":
      return `{"type":"text","value":${str(value)}}`;
    case "number":
      return encodeFloat(value);
    default:
      if (value === null) return `{"type":"null"}`;
      return `{"type":"blob","base64":"${encodeBase64(value)}"}`;
  }
}

function encodeFloat(value: number): string {
  if (Number.isFinite(value)) {
    // -0 keeps its sign: JSON.parse("-0") is -0.
    return `{"type":"float","value":${value === 0 && 1 / value < 0 ? "-0" : value}}`;
  }
  if (value === Infinity) return `{"type":"float","value":9e999}`;
  if (value === -Infinity) return `{"type":"float","value":-9e999}`;
  return `{"type":"null"}`;
}

export function nullableString(value: string | null | undefined): string {
  return value === null || value === undefined ? "null" : str(value);
}
