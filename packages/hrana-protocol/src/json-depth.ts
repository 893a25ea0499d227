/**
 * A linear, allocation-free scan of JSON nesting depth, run before `JSON.parse`.
 *
 * `JSON.parse` is iterative in V8, so deep input does not overflow the stack, but it is superlinear in the nesting
 * depth: a 10 MiB body of 5 million nested `[` (even inside a field the decoder ignores) keeps the main thread busy
 * for seconds. This scan refuses such input in one pass over the bytes (or UTF-16 code units) before anything is
 * parsed or allocated.
 */
import { ProtocolError } from "./protocol-error.js";

/**
 * How deep arrays and objects may nest in a JSON message (the top-level value is depth 1).
 *
 * The deepest legitimate Hrana message is a `/v2|v3/pipeline` body whose batch conditions nest the full
 * `MAX_CONDITION_DEPTH` (100) levels of `and`/`or` (each of which adds two levels, the condition object and its
 * `conds` array) and ends in an empty `conds` array:
 *
 * ```text
 * { "requests": [ { "batch": { "steps": [ { "condition": {"conds": [ … {"conds": []} … ]} } ] } } ] }
 * 1             2 3           4          5 6               7 .. 7 + 2·99 = 205       206
 * ```
 *
 * that is `2 * MAX_CONDITION_DEPTH + 6` = 206 levels (a WebSocket `request` or a `/v3/cursor` body is one or two
 * levels shallower; statements and values stay under 10). 256 leaves 50 levels of margin for unknown fields that a
 * future client may add at any depth, and is far too shallow for the nesting itself to cost anything (sqld parses
 * with serde_json, whose default recursion limit is 128). `test/nesting.test.ts` checks that the deepest message fits.
 */
export const MAX_JSON_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The deepest array/object nesting in `input`, counting `[` and `{` outside strings (a string ends at an unescaped
 * `"`; a backslash escapes the next unit). Stops as soon as the depth exceeds `limit` and returns `limit + 1`.
 *
 * UTF-8 bytes are scanned as they are: every byte of a multi-byte sequence is ≥ 0x80, so it can never be mistaken
 * for a quote, backslash or bracket. The scan does not validate the JSON; for a valid prefix its depth is exact, and
 * `JSON.parse` stops at the first invalid character, so it never nests deeper than this scan counted. A closing
 * bracket with nothing open makes the input invalid JSON at that point; the depth is clamped at 0 there, so a run
 * of closers cannot hide openers that follow.
 */
export function jsonDepth(input: string | Uint8Array, limit: number = Number.POSITIVE_INFINITY): number {
  return scan(input, limit).depth;
}

interface Scan {
  /** The deepest nesting (`limit + 1` once past the limit: the scan stops there). */
  readonly depth: number;
  /** Arrays and objects opened (up to where the scan stopped). */
  readonly containers: number;
}

/**
 * How many arrays and objects a JSON message may hold for its size: `JSON.parse` time grows with their number, not
 * with the bytes, so a 10 MiB body of `[[],[],…]` (3.5 M containers) blocks the main thread 3–6 times longer than
 * the densest legitimate body of that size. Legitimate Hrana messages spend at least ~10 bytes per array or object
 * (`{"stmt":{"sql":"","args":[]}}` is 3 in 30 bytes; a `{"type":"null"}` value 1 in 15), so one per 8 bytes, plus a
 * constant for small messages, refuses only junk.
 */
const JSON_BYTES_PER_CONTAINER = 8;
const JSON_CONTAINER_ALLOWANCE = 1024;

/**
 * Throws `PROTO_NESTING_TOO_DEEP` if `input` nests arrays/objects deeper than {@link MAX_JSON_DEPTH}, and
 * `PROTO_TOO_COMPLEX` if it holds more arrays and objects than its size allows ({@link JSON_BYTES_PER_CONTAINER}).
 */
export function checkJsonDepth(input: string | Uint8Array): void {
  const { depth, containers } = scan(input, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) {
    throw new ProtocolError(
      "PROTO_NESTING_TOO_DEEP",
      `the message nests JSON arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  const allowed = JSON_CONTAINER_ALLOWANCE + Math.floor(input.length / JSON_BYTES_PER_CONTAINER);
  if (containers > allowed) {
    throw new ProtocolError(
      "PROTO_TOO_COMPLEX",
      `the message holds ${containers} JSON arrays and objects in ${input.length} bytes; at most ${allowed} are accepted`,
    );
  }
}

/** One pass over text or UTF-8 bytes (two loops only so that neither pays a call per character). */
function scan(input: string | Uint8Array, limit: number): Scan {
  return typeof input === "string" ? scanString(input, limit) : scanBytes(input, limit);
}

function scanString(input: string, limit: number): Scan {
  const length = input.length;
  let depth = 0;
  let max = 0;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = input.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      containers++;
      if (++depth > max) {
        max = depth;
        if (max > limit) return { depth: limit + 1, containers };
      }
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return { depth: max, containers };
}

function scanBytes(input: Uint8Array, limit: number): Scan {
  const length = input.length;
  let depth = 0;
  let max = 0;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = input[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      containers++;
      if (++depth > max) {
        max = depth;
        if (max > limit) return { depth: limit + 1, containers };
      }
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return { depth: max, containers };
}
