import fc from "fast-check";
import { json, protobuf, type BatchCond, type PipelineReqBody, type Stmt, type StreamRequest, type Value } from "@hranad/hrana-protocol/client";
import { Random, mutateBytes, mutateJsonStructure } from "./mutate.js";
import { httpSeeds, type Seed } from "./seeds.js";
import type { SentRequest } from "./oracle.js";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// --- fast-check arbitraries -------------------------------------------------------------------------------------

const SAFE_SQL = ["SELECT ?", "SELECT ?, ?", "SELECT :a", "SELECT typeof(?)", "SELECT length(?)", "SELECT 1", "VALUES (1), (2)", "SELECT * FROM sqlite_master"];

const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }),
);

const stmtArb: fc.Arbitrary<Stmt> = fc.record({
  sql: fc.constantFrom(...SAFE_SQL),
  args: fc.array(valueArb, { maxLength: 3 }),
  wantRows: fc.boolean(),
});

const condArb: fc.Arbitrary<BatchCond> = fc.letrec<{ cond: BatchCond }>((tie) => ({
  cond: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ type: fc.constant("ok" as const), step: fc.nat(3) }),
    fc.record({ type: fc.constant("error" as const), step: fc.nat(3) }),
    fc.record({ type: fc.constant("not" as const), cond: tie("cond") }),
    fc.record({ type: fc.constantFrom("and" as const, "or" as const), conds: fc.array(tie("cond"), { maxLength: 3 }) }),
    fc.constant({ type: "is_autocommit" as const }),
  ),
})).cond;

const requestArb: fc.Arbitrary<StreamRequest> = fc.oneof(
  fc.record({ type: fc.constant("execute" as const), stmt: stmtArb }),
  fc.record({
    type: fc.constant("batch" as const),
    batch: fc.record({ steps: fc.array(fc.record({ condition: fc.option(condArb), stmt: stmtArb }), { maxLength: 4 }) }),
  }),
  fc.record({ type: fc.constant("describe" as const), sql: fc.constantFrom(...SAFE_SQL) }),
  fc.record({ type: fc.constant("sequence" as const), sql: fc.constantFrom("SELECT 1; SELECT 2", "SELECT 1") }),
  fc.record({ type: fc.constant("store_sql" as const), sqlId: fc.integer({ min: -3, max: 60 }), sql: fc.constantFrom(...SAFE_SQL) }),
  fc.record({ type: fc.constant("close_sql" as const), sqlId: fc.integer({ min: -3, max: 60 }) }),
  fc.constant({ type: "get_autocommit" as const }),
);

/** Typed Hrana 3 pipelines that always end with `close` (so they hold no stream), encoded by the protocol package. */
export const validPipelineArb: fc.Arbitrary<PipelineReqBody> = fc
  .array(requestArb, { maxLength: 5 })
  .map((requests) => ({ baton: null, requests: [...requests, { type: "close" as const }] }));

const jsonScalar = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.integer(), fc.string({ maxLength: 30 }), fc.constantFrom(...SAFE_SQL));

/** Hrana-shaped JSON with the wrong types in random places. */
export const hranaShapedArb: fc.Arbitrary<unknown> = fc.record(
  {
    baton: fc.oneof(fc.constant(null), fc.string({ maxLength: 100 }), jsonScalar),
    requests: fc.oneof(
      fc.array(
        fc.oneof(
          fc.record(
            {
              type: fc.oneof(fc.constantFrom("execute", "batch", "close", "sequence", "describe", "store_sql", "close_sql", "get_autocommit"), fc.string()),
              stmt: fc.oneof(
                fc.record({ sql: fc.oneof(fc.string(), jsonScalar), sql_id: jsonScalar, args: fc.array(fc.oneof(jsonScalar, fc.record({ type: fc.string(), value: jsonScalar })), { maxLength: 4 }), named_args: fc.jsonValue({ maxDepth: 2 }), want_rows: jsonScalar }, { requiredKeys: [] }),
                jsonScalar,
              ),
              batch: fc.oneof(fc.record({ steps: fc.array(fc.record({ condition: fc.jsonValue({ maxDepth: 3 }), stmt: fc.record({ sql: fc.string() }) }, { requiredKeys: [] }), { maxLength: 4 }) }), jsonScalar),
              sql: fc.oneof(fc.string(), jsonScalar),
              sql_id: jsonScalar,
            },
            { requiredKeys: ["type"] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        { maxLength: 6 },
      ),
      jsonScalar,
    ),
  },
  { requiredKeys: [] },
);

// --- the request stream -----------------------------------------------------------------------------------------

const JSON_PATHS = ["/v2/pipeline", "/v3/pipeline", "/other/v3/pipeline", "/v3/cursor", "/other/v2/pipeline"];
const PROTOBUF_PATHS = ["/v3-protobuf/pipeline", "/v3-protobuf/cursor", "/other/v3-protobuf/pipeline"];
const CONTENT_TYPES = [undefined, "application/json", "text/plain", "application/x-protobuf", "application/octet-stream", "multipart/form-data; boundary=x", "application/json; charset=latin1", "x/\u00ff"];
const ODD_PATHS = ["/", "/v2", "/v3", "/nope/v2/pipeline", "/v2/pipeline/extra", "/v1/execute", "/health", "/version", "/%00/v2/pipeline", "/other", "/admin", "/v2/cursor", "/v3-protobuf", "/a/b/c/v2/pipeline"];
const ODD_METHODS = ["GET", "PUT", "DELETE", "PATCH", "POST"];

/** Kinds of generated request, for the report. */
export type Kind = "json-bytes" | "json-structure" | "protobuf-bytes" | "fc-json" | "fc-bytes" | "fc-hrana" | "fc-valid" | "seed" | "baton" | "route";

export interface Generated extends SentRequest {
  readonly kind: Kind;
  readonly headers: Record<string, string>;
}

/**
 * Produces the request stream: mostly mutated seeds (trace bodies and encoder output, both codecs), plus
 * fast-check values drawn in blocks, valid bodies, forged batons and odd routes.
 */
export class RequestFactory {
  readonly #random: Random;
  readonly #seed: number;
  readonly #json: Seed[];
  readonly #protobuf: Seed[];
  readonly #jsonBodies: Uint8Array[];
  readonly #protobufBodies: Uint8Array[];
  readonly #pools = new Map<string, { values: Uint8Array[]; next: number; block: number }>();
  readonly counts = new Map<Kind, number>();

  constructor(seed: number) {
    this.#seed = seed;
    this.#random = new Random(seed);
    const seeds = httpSeeds();
    this.#json = seeds.json;
    this.#protobuf = seeds.protobuf;
    this.#jsonBodies = this.#json.map((s) => s.body);
    this.#protobufBodies = this.#protobuf.map((s) => s.body);
  }

  /** Draws fast-check values in blocks of 500 (one `fc.sample` call each), so that drawing stays cheap. */
  #fromPool(name: string, make: (seed: number) => Uint8Array[]): Uint8Array {
    let pool = this.#pools.get(name);
    if (pool === undefined || pool.next >= pool.values.length) {
      const block = (pool?.block ?? 0) + 1;
      pool = { values: make(this.#seed + block * 7919 + name.length), next: 0, block };
      this.#pools.set(name, pool);
    }
    return pool.values[pool.next++]!;
  }

  next(): Generated {
    const r = this.#random;
    const roll = r.next();
    const headers: Record<string, string> = {};
    const contentType = r.pick(CONTENT_TYPES);
    if (contentType !== undefined) headers["content-type"] = contentType;
    let kind: Kind;
    let path: string;
    let body: Uint8Array;
    let method = "POST";
    if (roll < 0.33) {
      kind = "json-bytes";
      const seed = r.pick(this.#json);
      path = r.chance(0.8) ? seed.path : r.pick(JSON_PATHS);
      body = mutateBytes(seed.body, r, this.#jsonBodies);
    } else if (roll < 0.52) {
      kind = "json-structure";
      const seed = r.pick(this.#json);
      path = r.chance(0.8) ? seed.path : r.pick(JSON_PATHS);
      body = mutateJsonStructure(seed.body, r);
    } else if (roll < 0.72) {
      kind = "protobuf-bytes";
      const seed = r.pick(this.#protobuf);
      path = r.chance(0.8) ? seed.path : r.pick(PROTOBUF_PATHS);
      body = mutateBytes(seed.body, r, this.#protobufBodies);
    } else if (roll < 0.76) {
      kind = "fc-json";
      path = r.pick(JSON_PATHS);
      body = this.#fromPool("fc-json", (seed) => fc.sample(fc.json({ maxDepth: 3 }), { numRuns: 500, seed }).map(utf8));
    } else if (roll < 0.8) {
      kind = "fc-bytes";
      path = r.pick([...JSON_PATHS, ...PROTOBUF_PATHS]);
      body = this.#fromPool("fc-bytes", (seed) => fc.sample(fc.uint8Array({ maxLength: 300 }), { numRuns: 500, seed }));
    } else if (roll < 0.86) {
      kind = "fc-hrana";
      path = r.pick(JSON_PATHS);
      body = this.#fromPool("fc-hrana", (seed) => fc.sample(hranaShapedArb, { numRuns: 500, seed }).map((v) => utf8(JSON.stringify(v))));
    } else if (roll < 0.9) {
      kind = "fc-valid";
      const protobufEncoding = r.chance(0.4);
      path = protobufEncoding ? r.pick(["/v3-protobuf/pipeline", "/other/v3-protobuf/pipeline"]) : r.pick(["/v3/pipeline", "/other/v3/pipeline"]);
      const bodies = this.#fromPool(protobufEncoding ? "fc-valid-protobuf" : "fc-valid-json", (seed) =>
        fc.sample(validPipelineArb, { numRuns: 500, seed }).map((b) => (protobufEncoding ? protobuf.encodePipelineReqBody(b) : utf8(json.encodePipelineReqBody(b)))),
      );
      body = bodies;
    } else if (roll < 0.92) {
      kind = "seed";
      const seed = r.chance(0.5) ? r.pick(this.#json) : r.pick(this.#protobuf);
      path = seed.path;
      body = seed.body;
    } else if (roll < 0.97) {
      kind = "baton";
      path = r.pick(["/v2/pipeline", "/v3/pipeline", "/other/v2/pipeline"]);
      const baton = r.pick([
        "",
        "A".repeat(1 + r.int(200)),
        Buffer.from(Array.from({ length: 48 }, () => r.int(256))).toString("base64url"),
        Buffer.from(Array.from({ length: 48 }, () => r.int(256))).toString("base64"),
        "%%%%",
        "\u0000",
        "x".repeat(5000),
      ]);
      body = utf8(JSON.stringify({ baton, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] }));
    } else {
      kind = "route";
      method = r.pick(ODD_METHODS);
      path = r.pick(ODD_PATHS);
      body = r.chance(0.5) ? r.pick(this.#jsonBodies) : new Uint8Array(0);
    }
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return { kind, method, path, body, headers };
  }
}

// --- hostile shapes that need no randomness --------------------------------------------------------------------

/** `{"type":"not","cond": … }` nested `depth` times, inside a batch step, as JSON text (no recursion). */
export function deepNotJson(depth: number): string {
  return `{"requests":[{"type":"batch","batch":{"steps":[{"stmt":{"sql":"SELECT 1"}},{"condition":${'{"type":"not","cond":'.repeat(depth)}{"type":"ok","step":0}${"}".repeat(depth)},"stmt":{"sql":"SELECT 2"}}]}},{"type":"close"}]}`;
}

/** An argument value that is `[` nested `depth` times. */
export function deepArrayJson(depth: number): string {
  return `{"requests":[{"type":"execute","stmt":{"sql":"SELECT ?","args":[${"[".repeat(depth)}${"]".repeat(depth)}]}},{"type":"close"}]}`;
}

/** A stmt object nested `depth` times under an unknown key. */
export function deepObjectJson(depth: number): string {
  return `{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1","x":${'{"x":'.repeat(depth)}1${"}".repeat(depth)}}},{"type":"close"}]}`;
}

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** Wraps `inner` in `depth` length-delimited layers of field `field`, built from the inside out. */
function nestProtobuf(inner: Uint8Array, field: number, depth: number): Uint8Array {
  // Sizes grow by a few bytes per layer: compute all lengths first, then write once.
  const tag = (field << 3) | 2;
  const lengths: number[] = [];
  let size = inner.length;
  for (let i = 0; i < depth; i++) {
    lengths.push(size);
    size += 1 + varint(size).length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = depth - 1; i >= 0; i--) {
    out[at++] = tag;
    for (const b of varint(lengths[i]!)) out[at++] = b;
  }
  out.set(inner, at);
  return out;
}

/**
 * A protobuf pipeline whose batch step condition is `not` (field 3 of BatchCond) nested `depth` times. Wire layout:
 * PipelineReqBody.requests(2) → StreamRequest.batch(3) → BatchStreamReq.batch(1) → Batch.steps(1) →
 * BatchStep.condition(1) → BatchCond.not(3)….
 */
export function deepNotProtobuf(depth: number): Uint8Array {
  const okStep0 = new Uint8Array([0x08, 0x00]); // BatchCond.step_ok = 0
  const conds = nestProtobuf(okStep0, 3, depth);
  const stmt = new Uint8Array([0x0a, 0x08, ...utf8("SELECT 1")]); // Stmt.sql
  // Step 0 has no condition; step 1's condition refers back to it.
  const first = new Uint8Array([0x12, stmt.length, ...stmt]);
  const second = new Uint8Array([...nestProtobuf(conds, 1, 1), 0x12, stmt.length, ...stmt]);
  const batch = new Uint8Array([...nestProtobuf(first, 1, 1), ...nestProtobuf(second, 1, 1)]);
  const batchReq = nestProtobuf(batch, 1, 1);
  const streamRequest = nestProtobuf(batchReq, 3, 1);
  return nestProtobuf(streamRequest, 2, 1);
}

/** `depth` unknown length-delimited fields nested inside each other (a decoder that recurses into them dies). */
export function deepUnknownProtobuf(depth: number): Uint8Array {
  return nestProtobuf(new Uint8Array(0), 15, depth);
}

/** `depth` start-group tags of an unknown field (the deprecated group wire type). */
export function deepGroupsProtobuf(depth: number): Uint8Array {
  return new Uint8Array(depth).fill((15 << 3) | 3);
}
