/**
 * The protobuf pieces both directions share (server and client halves of the codec): the known-field masks passed to
 * `ProtobufReader.skip`, the empty-oneof error, nested messages written with a length prefix, and `Value` read and
 * written.
 */
import type { Value } from "@hranad/driver";
import type { ProtobufReader } from "./protobuf-reader.js";
import type { ProtobufWriter } from "./protobuf-writer.js";
import { ProtocolError } from "./protocol-error.js";

// Field keys are written as literals `field << 3 | wireType`, with the field and wire type in a comment.
export const bits = (...fields: number[]): number => fields.reduce((mask, field) => mask | (1 << field), 0);

/** A oneof with no known member set. */
export function noneOf(name: string): never {
  throw new ProtocolError("PROTO_UNKNOWN_TYPE", `${name} has no known variant set`);
}

/** A `Value` message: exactly one of null, integer, float, text, blob (the last one wins). */
export function value(r: ProtobufReader): Value {
  let result: Value | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case 10 /* 1:LEN */:
        r.skipMessage();
        result = null;
        break;
      case 16 /* 2:VARINT */:
        result = r.sint64();
        break;
      case 25 /* 3:I64 */:
        result = r.double();
        break;
      case 34 /* 4:LEN */:
        result = r.string();
        break;
      case 42 /* 5:LEN */:
        result = r.bytes();
        break;
      default:
        r.skip(tag, bits(1, 2, 3, 4, 5), "Value");
    }
  }
  if (result === undefined) {
    throw new ProtocolError("PROTO_BAD_REQUEST", "a Value has none of null, integer, float, text, blob");
  }
  return result;
}

/** `value` as a sub-message at `field`, prefixed with its length. */
export function message<T>(w: ProtobufWriter, field: number, value: T, write: (w: ProtobufWriter, value: T) => void): void {
  const mark = w.beginMessage(field);
  write(w, value);
  w.endLength(mark);
}

/** The fields of a `Value` message (the caller writes the enclosing tag and length). */
export function valueContent(w: ProtobufWriter, value: Value): void {
  switch (typeof value) {
    case "bigint":
      return w.sint64Field(2, value);
    case "number":
      return w.doubleField(3, value);
    case "string":
      return w.stringField(4, value);
    default:
      if (value === null) return w.emptyMessage(1);
      return w.bytesField(5, value);
  }
}
