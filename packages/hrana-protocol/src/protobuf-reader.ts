/**
 * A strict protobuf wire-format reader: varints of at most 10 bytes (the 10th may only carry bit 63), lengths that
 * stay inside the enclosing message, valid UTF-8 strings, no groups. Every violation is a `ProtocolError`.
 */
import { ProtocolError } from "./protocol-error.js";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function invalid(message: string): never {
  throw new ProtocolError("PROTO_INVALID_PROTOBUF", `invalid protobuf: ${message}`);
}

export class ProtobufReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos = 0;
  /** End of the message being read (exclusive). */
  limit: number;
  /** Low and high 32 bits of the last varint read by `varint64`. */
  #lo = 0;
  #hi = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.limit = buf.length;
  }

  more(): boolean {
    return this.pos < this.limit;
  }

  /** Reads a field key; returns `field << 3 | wireType`. */
  tag(): number {
    this.#varint64();
    if (this.#hi !== 0) invalid("field key out of range");
    const tag = this.#lo >>> 0;
    if (tag >>> 3 === 0) invalid("field number 0");
    return tag;
  }

  uint32(): number {
    const b = this.#buf[this.pos];
    if (b !== undefined && b < 0x80 && this.pos < this.limit) {
      this.pos++;
      return b;
    }
    this.#varint64();
    return this.#lo >>> 0;
  }

  /** `int32` on the wire is a sign-extended 64-bit varint; the low 32 bits are the value. */
  int32(): number {
    this.#varint64();
    return this.#lo | 0;
  }

  bool(): boolean {
    this.#varint64();
    return this.#lo !== 0 || this.#hi !== 0;
  }

  /** A `uint64` that must fit a JavaScript safe integer (counts). */
  uint64Number(): number {
    this.#varint64();
    if (this.#hi > 0x1fffff) invalid("uint64 value larger than 2^53 - 1");
    return this.#hi * 4294967296 + this.#lo;
  }

  sint64(): bigint {
    this.#varint64();
    const lo = this.#lo;
    const hi = this.#hi;
    if (hi <= 0x1fffff) {
      const n = hi * 4294967296 + lo;
      return BigInt(n % 2 === 0 ? n / 2 : -(n + 1) / 2);
    }
    const u = (BigInt(hi) << 32n) | BigInt(lo);
    return (u >> 1n) ^ -(u & 1n);
  }

  double(): number {
    if (this.pos + 8 > this.limit) invalid("truncated fixed64");
    const value = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  bytes(): Uint8Array {
    const end = this.#lengthEnd();
    // A copy, so that the decoded value never aliases (and pins) the caller's buffer.
    const value = this.#buf.slice(this.pos, end);
    this.pos = end;
    return value;
  }

  string(): string {
    const end = this.#lengthEnd();
    const buf = this.#buf;
    const start = this.pos;
    this.pos = end;
    if (end - start < 64) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if ((buf[i] as number) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
    }
    try {
      return utf8.decode(buf.subarray(start, end));
    } catch {
      return invalid("string is not valid UTF-8");
    }
  }

  /** Reads a length-delimited sub-message with `decode`, which must consume it up to `limit`. */
  message<T>(decode: (reader: ProtobufReader) => T): T {
    const end = this.#lengthEnd();
    const saved = this.limit;
    this.limit = end;
    const value = decode(this);
    this.pos = end;
    this.limit = saved;
    return value;
  }

  /** Skips a sub-message's content (e.g. an empty `Null` or `CloseStreamReq`). */
  skipMessage(): void {
    this.pos = this.#lengthEnd();
  }

  /**
   * Skips an unknown field. A known field (`knownFields` bit `1 << field` set) that arrives here has the wrong
   * wire type, which is an error rather than something to ignore.
   */
  skip(tag: number, knownFields: number, messageName: string): void {
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field < 31 && (knownFields & (1 << field)) !== 0) {
      invalid(`${messageName} field ${field} has wire type ${wireType}`);
    }
    switch (wireType) {
      case WIRE_VARINT:
        this.#varint64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.limit) invalid("truncated fixed64");
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.#lengthEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.limit) invalid("truncated fixed32");
        this.pos += 4;
        return;
      case 3:
      case 4:
        return invalid(`${messageName} field ${field} uses groups, which Hrana does not use`);
      default:
        return invalid(`${messageName} field ${field} has the invalid wire type ${wireType}`);
    }
  }

  #lengthEnd(): number {
    this.#varint64();
    const end = this.pos + this.#lo;
    if (this.#hi !== 0 || end > this.limit) invalid("length-delimited field runs past the end of its message");
    return end;
  }

  #byte(): number {
    if (this.pos >= this.limit) invalid("truncated varint");
    return this.#buf[this.pos++] as number;
  }

  #varint64(): void {
    let b = this.#byte();
    let lo = b & 0x7f;
    if (b < 0x80) {
      this.#lo = lo;
      this.#hi = 0;
      return;
    }
    for (let shift = 7; shift < 28; shift += 7) {
      b = this.#byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.#lo = lo >>> 0;
        this.#hi = 0;
        return;
      }
    }
    b = this.#byte();
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >>> 4;
    if (b < 0x80) {
      this.#lo = lo >>> 0;
      this.#hi = hi;
      return;
    }
    for (let shift = 3; shift < 31; shift += 7) {
      b = this.#byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.#lo = lo >>> 0;
        this.#hi = hi >>> 0;
        return;
      }
    }
    b = this.#byte();
    if (b > 1) invalid("varint longer than 64 bits");
    this.#lo = lo >>> 0;
    this.#hi = (hi | (b << 31)) >>> 0;
  }
}
