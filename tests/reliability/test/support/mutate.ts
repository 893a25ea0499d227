/**
 * Hand mutators for request bodies: cheap enough to make 100 000 of them in a few seconds, and seeded so that a
 * failure can be replayed (`HRANAD_FUZZ_SEED`).
 */

/** mulberry32: a tiny, fast, seedable PRNG. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** [0, 1) */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const encoder = new TextEncoder();

/** Bytes that tend to matter to JSON and protobuf parsers and to UTF-8 validation. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xc1, 0xed, 0xf4, 0xf5, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x0a, 0x08, 0x12, 0x1a];
const INTERESTING_TEXT = [
  "99999999999999999999999999",
  "-9223372036854775809",
  "1e308",
  "-1e400",
  "0.0000001e-999",
  "NaN",
  "Infinity",
  "null",
  "true",
  '"\\ud800"',
  '"\\u0000"',
  "[]",
  "{}",
  '"' + "\u{10ffff}" + '"',
  "\uFEFF",
  '{"__proto__":{"x":1}}',
  '"constructor"',
];
/** Protobuf fragments: over-long varints, huge lengths, group wire types, unknown fields. */
const INTERESTING_PROTOBUF = [
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x0b],
  [0x0c],
  [0x13, 0x14],
  [0xfa, 0xff, 0xff, 0xff, 0x0f, 0x00],
  [0x0d, 0, 0, 0, 0],
  [0x09, 0, 0, 0, 0, 0, 0, 0, 0],
  [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
  [0x1a, 0x00],
  [0x12, 0x02, 0x1a, 0x00],
];

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export type ByteMutation = (bytes: Uint8Array, random: Random, others: readonly Uint8Array[]) => Uint8Array;

export const BYTE_MUTATIONS: Readonly<Record<string, ByteMutation>> = {
  flipBit(bytes, random) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    const at = random.int(out.length);
    out[at] = out[at]! ^ (1 << random.int(8));
    return out;
  },
  setByte(bytes, random) {
    if (bytes.length === 0) return new Uint8Array([random.int(256)]);
    const out = bytes.slice();
    out[random.int(out.length)] = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : random.int(256);
    return out;
  },
  truncate(bytes, random) {
    return bytes.subarray(0, random.int(bytes.length + 1));
  },
  deleteRange(bytes, random) {
    const from = random.int(bytes.length + 1);
    const to = Math.min(bytes.length, from + 1 + random.int(16));
    return concat(bytes.subarray(0, from), bytes.subarray(to));
  },
  insertBytes(bytes, random) {
    const at = random.int(bytes.length + 1);
    const insert = new Uint8Array(1 + random.int(8));
    for (let i = 0; i < insert.length; i++) insert[i] = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : random.int(256);
    return concat(bytes.subarray(0, at), insert, bytes.subarray(at));
  },
  insertText(bytes, random) {
    const at = random.int(bytes.length + 1);
    return concat(bytes.subarray(0, at), encoder.encode(random.pick(INTERESTING_TEXT)), bytes.subarray(at));
  },
  insertProtobuf(bytes, random) {
    const at = random.int(bytes.length + 1);
    return concat(bytes.subarray(0, at), new Uint8Array(random.pick(INTERESTING_PROTOBUF)), bytes.subarray(at));
  },
  duplicateRange(bytes, random) {
    if (bytes.length === 0) return bytes;
    const from = random.int(bytes.length);
    const to = Math.min(bytes.length, from + 1 + random.int(64));
    const times = 1 + random.int(random.chance(0.1) ? 200 : 4);
    const parts: Uint8Array[] = [bytes.subarray(0, to)];
    for (let i = 0; i < times; i++) parts.push(bytes.subarray(from, to));
    parts.push(bytes.subarray(to));
    return concat(...parts);
  },
  splice(bytes, random, others) {
    const other = random.pick(others);
    return concat(bytes.subarray(0, random.int(bytes.length + 1)), other.subarray(random.int(other.length + 1)));
  },
  swapDigits(bytes, random) {
    // Turns one number into a huge, negative or fractional one without breaking the JSON around it.
    const text = new TextDecoder().decode(bytes);
    const numbers = [...text.matchAll(/\d+/g)];
    if (numbers.length === 0) return bytes;
    const match = random.pick(numbers);
    const replacement = random.pick(["4294967296", "2147483648", "-1", "1e30", "9007199254740993", "0.5", "-0", "18446744073709551616"]);
    return encoder.encode(text.slice(0, match.index) + replacement + text.slice(match.index! + match[0].length));
  },
};

const BYTE_MUTATION_LIST = Object.values(BYTE_MUTATIONS);

/** Applies 1–4 random byte mutations. */
export function mutateBytes(bytes: Uint8Array, random: Random, others: readonly Uint8Array[]): Uint8Array {
  let out = bytes;
  const rounds = 1 + random.int(random.chance(0.2) ? 4 : 1);
  for (let i = 0; i < rounds; i++) out = random.pick(BYTE_MUTATION_LIST)(out, random, others);
  return out;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const REQUEST_TYPES = ["execute", "batch", "close", "sequence", "describe", "store_sql", "close_sql", "get_autocommit", "open_stream", "hello", "request", "fetch_cursor", "", "EXECUTE"];

/** A value of the wrong type, an extreme number, or a weird string. */
function strangeValue(random: Random): Json {
  switch (random.int(12)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 4294967296, -1, 0.5, -0, 2147483648, 1e-320]);
    case 3:
      return random.pick(["", "x".repeat(1 + random.int(20_000)), "\u0000", "\ud800", "99999999999999999999999", "-1", "1.5", "NaN"]);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return random.pick(REQUEST_TYPES);
    case 7:
      return { type: random.pick(["integer", "float", "text", "blob", "null", "bogus"]), value: strangeValue(random) };
    case 8:
      return { type: random.pick(["ok", "error", "not", "and", "or", "is_autocommit"]), step: random.pick([0, 1, -1, 1e9, 2 ** 32]) };
    case 9:
      return Array.from({ length: 1 + random.int(50) }, () => random.int(1000));
    case 10:
      return nestedArrays(1 + random.int(random.chance(0.1) ? 500 : 50));
    default:
      return { sql: random.pick(["SELECT 1", "", "SELECT", ";", "BEGIN", "COMMIT", "SELECT ?", "PRAGMA integrity_check"]), args: [] };
  }
}

function nestedArrays(depth: number): Json {
  let value: Json = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Every (parent, key) pair of a JSON tree, so that one node can be replaced. */
function slots(root: Json): { parent: Json[] | { [key: string]: Json }; key: string | number }[] {
  const out: { parent: Json[] | { [key: string]: Json }; key: string | number }[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0 && out.length < 5000) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        stack.push(child);
      });
    } else if (node !== null && typeof node === "object") {
      for (const key of Object.keys(node)) {
        out.push({ parent: node, key });
        stack.push(node[key]!);
      }
    }
  }
  return out;
}

/** Parses `bytes` as JSON and damages its structure: wrong types, extreme values, missing or unknown keys. */
export function mutateJsonStructure(bytes: Uint8Array, random: Random): Uint8Array {
  let root: Json;
  try {
    root = JSON.parse(new TextDecoder().decode(bytes)) as Json;
  } catch {
    return mutateBytes(bytes, random, [bytes]);
  }
  const rounds = 1 + random.int(3);
  for (let i = 0; i < rounds; i++) {
    const all = slots(root);
    if (all.length === 0) break;
    const { parent, key } = random.pick(all);
    const action = random.int(5);
    if (Array.isArray(parent)) {
      const index = key as number;
      if (action === 0) parent.splice(index, 1);
      else if (action === 1) parent.splice(index, 0, ...Array.from({ length: 1 + random.int(random.chance(0.05) ? 2000 : 3) }, () => structuredClone(parent[index]!)));
      else parent[index] = strangeValue(random);
    } else {
      const name = key as string;
      if (action === 0) delete parent[name];
      else if (action === 1) parent[random.pick(["extra", "sql_id", "baton", "type", "stmt", "cond", "steps", "__proto__", "stream_id"])] = strangeValue(random);
      else parent[name] = strangeValue(random);
    }
  }
  try {
    return encoder.encode(JSON.stringify(root));
  } catch {
    // Nested too deep for this process's stack (the deep shapes have their own cases): damage bytes instead.
    return mutateBytes(bytes, random, [bytes]);
  }
}
