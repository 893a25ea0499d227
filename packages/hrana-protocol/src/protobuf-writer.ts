/**
 * A protobuf wire-format writer into one growable buffer. Sub-messages are written in place behind a one-byte
 * length placeholder that is widened (by moving the content) only when the content reaches 128 bytes, so small
 * messages (values, rows, columns) cost no extra pass.
 */
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf-reader.js";

const encoder = new TextEncoder();
/** Scratch buffers above this size are not kept between encodings. */
const KEEP_BYTES = 1 << 20;

export class ProtobufWriter {
  #buf: Uint8Array;
  #view: DataView;
  pos = 0;

  constructor(initialSize = 1024) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Runs `write` on a shared scratch writer and returns a copy of what it wrote. */
  static encode(write: (writer: ProtobufWriter) => void): Uint8Array {
    const writer = scratch;
    writer.pos = 0;
    try {
      write(writer);
      return writer.#buf.slice(0, writer.pos);
    } finally {
      if (writer.#buf.length > KEEP_BYTES) writer.#reset(1024);
    }
  }

  #reset(size: number): void {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
    this.pos = 0;
  }

  #ensure(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.pos));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Writes a field key. */
  tag(field: number, wireType: number): void {
    this.varint32(((field << 3) | wireType) >>> 0);
  }

  /** An unsigned varint below 2^32. */
  varint32(value: number): void {
    this.#ensure(5);
    const buf = this.#buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** An unsigned varint of a non-negative safe integer. */
  varint53(value: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    let pos = this.pos;
    while (value > 0x7fffffff) {
      buf[pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** A 64-bit varint given as two unsigned 32-bit halves. */
  varint64(lo: number, hi: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  int32Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    // Negative int32 values are sign-extended to 64 bits on the wire.
    if (value < 0) this.varint64(value >>> 0, 0xffffffff);
    else this.varint32(value);
  }

  uint32Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint32(value >>> 0);
  }

  uint64Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint53(value);
  }

  boolField(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.#ensure(1);
    this.#buf[this.pos++] = value ? 1 : 0;
  }

  sint64Field(field: number, value: bigint): void {
    this.tag(field, WIRE_VARINT);
    const n = Number(value);
    if (n > -4503599627370496 && n < 4503599627370496) {
      // |n| < 2^52: the zigzag value stays a safe integer.
      this.varint53(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    const zigzag = ((value << 1n) ^ (value >> 63n)) & 0xffffffffffffffffn;
    this.varint64(Number(zigzag & 0xffffffffn), Number(zigzag >> 32n));
  }

  doubleField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.#ensure(8);
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  stringField(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    const length = value.length;
    this.#ensure(length * 3 + 5);
    const mark = this.pos;
    const buf = this.#buf;
    let pos = mark + 1;
    let ascii = length < 128;
    if (ascii) {
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) {
          ascii = false;
          break;
        }
        buf[pos++] = code;
      }
    }
    if (!ascii) pos = mark + 1 + encoder.encodeInto(value, buf.subarray(mark + 1)).written;
    this.pos = pos;
    this.endLength(mark);
  }

  bytesField(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint32(value.length);
    this.#ensure(value.length);
    this.#buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Starts a length-delimited sub-message of `field`; close it with `endLength`. */
  beginMessage(field: number): number {
    this.tag(field, WIRE_LEN);
    return this.beginLength();
  }

  /** Reserves a one-byte length prefix; returns its position for `endLength`. */
  beginLength(): number {
    this.#ensure(1);
    return this.pos++;
  }

  /** Writes the length of everything written since `mark`, widening the prefix when needed. */
  endLength(mark: number): void {
    const length = this.pos - mark - 1;
    if (length < 0x80) {
      this.#buf[mark] = length;
      return;
    }
    const size = length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
    this.#ensure(size - 1);
    const buf = this.#buf;
    buf.copyWithin(mark + size, mark + 1, this.pos);
    this.pos += size - 1;
    let value = length;
    let pos = mark;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos] = value;
  }

  /** An empty sub-message (`Value.Null`, `CloseStreamReq`, …): present, with no content. */
  emptyMessage(field: number): void {
    this.tag(field, WIRE_LEN);
    this.#ensure(1);
    this.#buf[this.pos++] = 0;
  }
}

const scratch = new ProtobufWriter(4096);
