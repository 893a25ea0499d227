import { DriverError } from "./errors.js";
import type { NamedArg, Statement, Value } from "./types.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A short human description of what a value is, for error messages (never the value itself). */
function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

/**
 * Checks that `value` is a hranad `Value`. Anything else (boolean, undefined, object, other typed arrays) is an
 * `ARGS_INVALID` error: some drivers abort the whole process when handed such a value.
 */
export function checkValue(value: unknown, where: string): Value {
  switch (typeof value) {
    case "string":
    case "number":
      return value;
    case "bigint":
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new DriverError("ARGS_INVALID", `${where} is an integer outside the 64-bit range`);
      }
      return value;
    case "object":
      if (value === null) return null;
      if (value instanceof Uint8Array) return value;
  }
  throw new DriverError(
    "ARGS_INVALID",
    `${where} has an unsupported type (${describeType(value)}); expected null, bigint, number, string or Uint8Array`,
  );
}

/** A blob that views only part of a larger buffer is copied, so that posting it does not copy the whole buffer. */
function compactBlob(value: Value): Value {
  if (value instanceof Uint8Array && (value.byteOffset !== 0 || value.byteLength !== value.buffer.byteLength)) {
    return value.slice();
  }
  return value;
}

/**
 * Validates every argument of a statement (before it leaves the caller's thread) and returns a plain copy
 * that is safe to post to a worker.
 */
export function checkStatement(statement: Statement): Statement {
  if (statement === null || typeof statement !== "object") {
    throw new DriverError("ARGS_INVALID", "The statement must be an object");
  }
  if (typeof statement.sql !== "string") {
    throw new DriverError("ARGS_INVALID", "The statement's sql must be a string");
  }
  const result: { sql: string; args?: Value[]; namedArgs?: NamedArg[]; wantRows?: boolean; maxResultBytes?: number } = {
    sql: statement.sql,
  };
  if (statement.args !== undefined && statement.args !== null) {
    if (!Array.isArray(statement.args)) throw new DriverError("ARGS_INVALID", "args must be an array");
    result.args = statement.args.map((value: unknown, i: number) => compactBlob(checkValue(value, `Argument ${i + 1}`)));
  }
  if (statement.namedArgs !== undefined && statement.namedArgs !== null) {
    if (!Array.isArray(statement.namedArgs)) throw new DriverError("ARGS_INVALID", "namedArgs must be an array");
    result.namedArgs = statement.namedArgs.map((arg: unknown) => {
      if (arg === null || typeof arg !== "object" || typeof (arg as NamedArg).name !== "string") {
        throw new DriverError("ARGS_INVALID", "Each named argument must be an object with a string name");
      }
      const { name, value } = arg as NamedArg;
      return { name, value: compactBlob(checkValue(value, `Named argument "${name}"`)) };
    });
  }
  if (statement.wantRows !== undefined) {
    if (typeof statement.wantRows !== "boolean") throw new DriverError("ARGS_INVALID", "wantRows must be a boolean");
    result.wantRows = statement.wantRows;
  }
  if (statement.maxResultBytes !== undefined) {
    const bound: unknown = statement.maxResultBytes;
    if (typeof bound !== "number" || !(bound >= 0)) {
      throw new DriverError("ARGS_INVALID", "maxResultBytes must be a non-negative number");
    }
    result.maxResultBytes = bound;
  }
  return result;
}

/**
 * What a row weighs in a result, roughly: text and blob lengths plus 16 per value. Enough to bound memory, cheap
 * enough for every row; `maxResultBytes` and the server's response budgets count in it.
 */
export function rowBytes(row: readonly Value[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === "string") bytes += value.length + 16;
    else if (value instanceof Uint8Array) bytes += value.byteLength + 16;
    else bytes += 16;
  }
  return bytes;
}
