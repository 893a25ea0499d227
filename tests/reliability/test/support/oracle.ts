import { json as serverJson, protobuf as serverProtobuf } from "@hranad/hrana-protocol";
import { json, protobuf, type PipelineReqBody, type PipelineRespBody } from "@hranad/hrana-protocol/client";
import type { RawResponse } from "./raw-http.js";

/** What the client sent, as far as the judge needs to know. */
export interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
}

/** Tallies of what the server answered, by status and by error code. */
export class Verdicts {
  readonly byStatus = new Map<number, number>();
  readonly byCode = new Map<string, number>();
  readonly failures: string[] = [];
  total = 0;

  record(status: number, code?: string): void {
    this.total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (code !== undefined) this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }

  fail(message: string): void {
    if (process.env.HRANAD_DEBUG) console.log(`FAIL ${new Date().toISOString()} ${message}`);
    if (this.failures.length < 20) this.failures.push(message);
    else if (this.failures.length === 20) this.failures.push("… (more failures not shown)");
  }

  summary(): string {
    const statuses = [...this.byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(" ");
    const codes = [...this.byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`).join(" ");
    return `${this.total} answers: ${statuses}; codes: ${codes}`;
  }
}

type Endpoint = "pipeline-json" | "pipeline-protobuf" | "cursor-json" | "cursor-protobuf" | "other";

/** Databases the suites' servers declare (`default` is addressed without a prefix). */
const KNOWN_DATABASE_PREFIXES = new Set(["", "/other"]);

export function endpointOf(path: string): { endpoint: Endpoint; version: 2 | 3; prefix: string } {
  const match = /^(\/[^/]+)?(\/v[23][^/]*\/[^/]+)$/.exec(path);
  const prefix = match?.[1] ?? "";
  const bare = match !== null && KNOWN_DATABASE_PREFIXES.has(prefix) && !/^\/v[23]/.test(prefix) ? match[2]! : "";
  if (bare === "/v2/pipeline") return { endpoint: "pipeline-json", version: 2, prefix };
  if (bare === "/v3/pipeline") return { endpoint: "pipeline-json", version: 3, prefix };
  if (bare === "/v3-protobuf/pipeline") return { endpoint: "pipeline-protobuf", version: 3, prefix };
  if (bare === "/v3/cursor") return { endpoint: "cursor-json", version: 3, prefix };
  if (bare === "/v3-protobuf/cursor") return { endpoint: "cursor-protobuf", version: 3, prefix };
  return { endpoint: "other", version: 3, prefix };
}

/** Decodes the request the way the server must: `undefined` when the body is not a valid Hrana request. */
function decodeRequest(endpoint: Endpoint, version: 2 | 3, body: Uint8Array): PipelineReqBody | "cursor" | undefined {
  try {
    switch (endpoint) {
      case "pipeline-json":
        return serverJson.decodePipelineReqBody(body, version);
      case "pipeline-protobuf":
        return serverProtobuf.decodePipelineReqBody(body);
      case "cursor-json":
        serverJson.decodeCursorReqBody(body);
        return "cursor";
      case "cursor-protobuf":
        serverProtobuf.decodeCursorReqBody(body);
        return "cursor";
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Reads an error body: JSON `{message, code}`, or a protobuf `Error` on the protobuf endpoints. */
function errorBody(response: RawResponse): { message: string; code: string } | string {
  const type = response.headers.get("content-type");
  try {
    if (type === "application/json") {
      const body = JSON.parse(response.body.toString("utf8")) as { message?: unknown; code?: unknown };
      if (typeof body.message === "string" && body.message.length > 0 && typeof body.code === "string" && body.code.length > 0) {
        return { message: body.message, code: body.code };
      }
      return `JSON error body without {message, code}: ${response.body.toString("utf8").slice(0, 200)}`;
    }
    if (type === "application/x-protobuf") {
      const error = protobuf.decodeError(response.body);
      if (error.message.length > 0 && error.code !== null && error.code.length > 0) return { message: error.message, code: error.code };
      return "protobuf error body without message and code";
    }
  } catch (error) {
    return `undecodable error body (${type}): ${(error as Error).message}`;
  }
  return `error body with Content-Type ${type}`;
}

function checkPipelineResults(request: PipelineReqBody, response: PipelineRespBody): string | undefined {
  if (response.results.length !== request.requests.length) {
    return `${request.requests.length} requests but ${response.results.length} results`;
  }
  let closed = false;
  for (let i = 0; i < response.results.length; i++) {
    const result = response.results[i]!;
    const sent = request.requests[i]!;
    if (result.type === "ok") {
      if (result.response.type !== sent.type) return `result ${i} is a ${result.response.type} response to a ${sent.type} request`;
      if (sent.type === "close") closed = true;
    } else if (typeof result.error.message !== "string") {
      return `result ${i} is an error without a message`;
    }
  }
  if (closed && response.baton !== null) return "the stream was closed but a baton came back";
  if (!closed && response.baton === null) return "the stream is open but no baton came back";
  return undefined;
}

/** A failure (undefined when the answer is right) and the baton of a stream the request left open. */
export interface Judgement {
  readonly failure: string | undefined;
  readonly baton: string | null;
}

/**
 * Judges one answer: never a 5xx; a request the protocol decoder refuses gets 400 PROTOCOL_ERROR; every 4xx has a
 * `{message, code}` body; every 200 is a well-formed Hrana response with one result per request; nothing leaks
 * `secret` (the data directory). Returns the failure, or undefined.
 */
export function judge(sent: SentRequest, response: RawResponse, verdicts: Verdicts, secret: string): Judgement {
  const open: { baton: string | null } = { baton: null };
  const failure = judgeAnswer(sent, response, verdicts, secret, open);
  return { failure, baton: open.baton };
}

function judgeAnswer(sent: SentRequest, response: RawResponse, verdicts: Verdicts, secret: string, open: { baton: string | null }): string | undefined {
  const { endpoint, version } = endpointOf(sent.path);
  const status = response.status;
  const describe = () => `${sent.method} ${sent.path} (${sent.body.length} bytes: ${Buffer.from(sent.body.subarray(0, 120)).toString("latin1")}…) → ${status}`;
  if (response.body.includes(secret)) return `${describe()}: the answer leaks the data directory`;
  if (response.truncated) return `${describe()}: the answer is larger than the client keeps (the statement deadline should bound it)`;
  if (status >= 500) {
    verdicts.record(status);
    return `${describe()}: server error ${response.body.toString("utf8").slice(0, 300)}`;
  }
  if (status >= 400) {
    const error = errorBody(response);
    if (typeof error === "string") {
      verdicts.record(status);
      return `${describe()}: ${error}`;
    }
    verdicts.record(status, error.code);
    // A refusal other than PROTOCOL_ERROR (a bad baton, a full pool…) is right only for a well-formed request.
    if (endpoint !== "other" && sent.method === "POST" && status !== 413 && !(status === 400 && error.code === "PROTOCOL_ERROR")) {
      const decoded = decodeRequest(endpoint, version, sent.body);
      if (decoded === undefined) {
        return `${describe()}: a malformed request must get 400 PROTOCOL_ERROR, got ${status} ${error.code}`;
      }
    }
    return undefined;
  }
  verdicts.record(status);
  if (endpoint === "other" || sent.method !== "POST") return undefined;
  const decoded = decodeRequest(endpoint, version, sent.body);
  if (decoded === undefined) return `${describe()}: a request the decoder refuses was answered ${status}`;
  if (status !== 200) return `${describe()}: unexpected status`;
  try {
    if (endpoint === "pipeline-json" || endpoint === "pipeline-protobuf") {
      const body = endpoint === "pipeline-json" ? json.decodePipelineRespBody(response.body) : protobuf.decodePipelineRespBody(response.body);
      const problem = checkPipelineResults(decoded as PipelineReqBody, body);
      if (problem !== undefined) return `${describe()}: ${problem}`;
      open.baton = body.baton;
    } else if (endpoint === "cursor-json") {
      open.baton = json.decodeCursorRespStream(response.body).body.baton;
    } else {
      open.baton = protobuf.decodeCursorRespStream(response.body).body.baton;
    }
  } catch (error) {
    return `${describe()}: the 200 body is not a valid Hrana response: ${(error as Error).message}`;
  }
  return undefined;
}
