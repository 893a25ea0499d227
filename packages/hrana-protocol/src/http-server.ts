/**
 * Hrana over HTTP, transport-free: one pipeline request (`/v2/pipeline`, `/v3/pipeline`, `/v3-protobuf/pipeline`)
 * and one cursor request (`/v3/cursor`, `/v3-protobuf/cursor`) on a stream that a host opens or resumes by baton.
 * The host is the server's session store and registry; the HTTP framework only moves bytes and maps the errors these
 * functions throw (`ProtocolError`, or the host's coded errors) to statuses.
 */
import { isInlineRedirect, isTransactionControl, leadingWords, type Connection, type InlineLease } from "@hranad/driver";
import type { ResponseBudget } from "./budget.js";
import type { HttpCodec } from "./endpoints.js";
import { cursorEntries, executeStreamRequest, type ExecutorOptions } from "./executor.js";
import type {
  CursorEntry,
  CursorReqBody,
  HranaError,
  PipelineReqBody,
  PipelineRespBody,
  ProtocolVersion,
  Stmt,
  StreamRequest,
  StreamResult,
} from "./messages.js";
import { HTTP_MAX_STORED_SQL, HTTP_MAX_STORED_SQL_LENGTH, MapSqlStore, type SqlStore } from "./sql-store.js";

/** An HTTP stream as the protocol sees it: its connection, its stored SQL, and a signal for being ended under it. */
export interface HttpStreamHandle extends SqlStore {
  readonly connection: Connection;
  /** Aborts when the server ends the stream while a request runs on it (killed, stalled, client gone). */
  readonly signal: AbortSignal;
}

/** What the server does for HTTP streams (the session store, in hranad). Errors it throws carry a `code`. */
export interface HttpStreamHost<S extends HttpStreamHandle> {
  /** Opens a new stream; `signal` aborts the wait for a connection when the client goes away. */
  open(signal: AbortSignal): Promise<S>;
  /** The stream a baton names, consuming the baton (the stream is busy until `baton` or `close`). */
  resume(baton: string): S;
  /** Ends the request and returns the stream's next baton; throws the stream's end reason if it was ended. */
  baton(stream: S): string;
  /** The baton the stream will have once this request ends (a cursor body's first line). */
  peekBaton(stream: S): string;
  /** Closes the stream, rolling back its transaction. Idempotent. */
  close(stream: S): Promise<void>;
  /**
   * Optional: a main-thread connection for a one-shot pipeline (see `runPipeline`), or undefined when there is none
   * free now. Resolves quickly: it never waits for a connection.
   */
  inline?(signal: AbortSignal): Promise<InlineStream | undefined>;
  /** Ends the stream now, interrupting the statement it runs. Idempotent. */
  terminate(stream: S, reason: "closed" | "stalled"): Promise<void>;
  /** Why the stream was ended under its request, as the client should see it; undefined while it lives. */
  endedError(stream: S): HranaError | undefined;
}

/** A main-thread connection lent to one pipeline request. */
export interface InlineStream {
  readonly connection: InlineLease;
  /** Gives the connection back (rolling back whatever is open). Called once, before the response is sent. */
  release(): Promise<void>;
}

export interface HttpRequestOptions {
  /** Hrana version of the endpoint. */
  readonly version: ProtocolVersion;
  readonly baseUrl: string | null;
  /**
   * Aborts when the client goes away before the answer is sent: opening the stream stops waiting, a pipeline's
   * stream is ended at once (interrupting its statement: it would never receive the next baton, so nobody could
   * resume it), and a cursor stops reading.
   */
  readonly clientGone: AbortSignal;
  readonly onInternalError?: (error: unknown) => void;
}

export interface PipelineOptions extends HttpRequestOptions {
  /** The response's memory budget (release it once the response is sent). */
  readonly budget: ResponseBudget;
}

/**
 * Runs a pipeline: opens or resumes the stream, runs the requests in order (`close` closes the stream; requests
 * after it fail with `STREAM_CLOSED`), and returns the response body with the next baton. A malformed request
 * (`ProtocolError`) closes the stream, rolling back, and is rethrown, as are the host's errors (bad baton…).
 */
export async function runPipeline<S extends HttpStreamHandle>(
  host: HttpStreamHost<S>,
  body: PipelineReqBody,
  options: PipelineOptions,
): Promise<PipelineRespBody> {
  const executor = executorOptions(options);
  let results: StreamResult[] = [];
  let rest = body.requests;
  // Stored SQL of a stream that begins inline and ends on a worker: the inline part's texts stay visible.
  let sqlStore: SqlStore | undefined;
  if (body.baton === null && host.inline !== undefined && inlineEligible(body.requests)) {
    const inline = await host.inline(options.clientGone);
    if (inline !== undefined) {
      sqlStore = new MapSqlStore();
      const done = await runInline(inline, sqlStore, body.requests, options.clientGone, executor);
      results = done.results;
      if (done.redirectedAt === undefined) return { baton: null, baseUrl: options.baseUrl, results };
      rest = body.requests.slice(done.redirectedAt);
    }
  }
  const stream = body.baton !== null ? host.resume(body.baton) : await host.open(options.clientGone);
  let settled = false;
  const onGone = (): void => {
    if (!settled) void host.terminate(stream, "closed");
  };
  if (options.clientGone.aborted) onGone();
  else options.clientGone.addEventListener("abort", onGone, { once: true });
  try {
    let closed = false;
    for (const request of rest) {
      if (closed) {
        results.push({ type: "error", error: { message: "The stream was closed by an earlier request", code: "STREAM_CLOSED" } });
      } else if (request.type === "close") {
        closed = true;
        results.push({ type: "ok", response: { type: "close" } });
      } else {
        if (stream.signal.aborted) break;
        results.push(await executeStreamRequest(stream.connection, sqlStore ?? stream, request, executor));
      }
    }
    let baton: string | null = null;
    if (closed) await host.close(stream);
    // Throws the stream's end reason when it was ended under the request (killed, client gone).
    else baton = host.baton(stream);
    settled = true;
    return { baton, baseUrl: options.baseUrl, results };
  } catch (error) {
    settled = true;
    // A malformed request drops the stream (as sqld): its transaction is rolled back.
    await host.close(stream).catch(() => undefined);
    throw error;
  }
}

function executorOptions(options: PipelineOptions): ExecutorOptions {
  return {
    version: options.version,
    maxStoredSql: HTTP_MAX_STORED_SQL,
    maxStoredSqlLength: HTTP_MAX_STORED_SQL_LENGTH,
    budget: options.budget,
    ...(options.onInternalError !== undefined ? { onInternalError: options.onInternalError } : {}),
  };
}

/**
 * Runs a one-shot pipeline on the main-thread connection, one unit per request. A unit the connection hands back
 * (`InlineRedirect`: it met a lock or outlived its budget, and was rolled back whole) and every request after it
 * are left to a worker stream: `redirectedAt` is the first of them.
 */
async function runInline(
  inline: InlineStream,
  sqlStore: SqlStore,
  requests: readonly StreamRequest[],
  clientGone: AbortSignal,
  executor: ExecutorOptions,
): Promise<{ results: StreamResult[]; redirectedAt: number | undefined }> {
  const { connection } = inline;
  const results: StreamResult[] = [];
  try {
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (request.type === "close") {
        results.push({ type: "ok", response: { type: "close" } });
        continue;
      }
      const key = unitKey(request, sqlStore);
      if (key !== undefined && connection.knownSlow(key)) return { results, redirectedAt: i };
      if (clientGone.aborted) return { results, redirectedAt: i };
      connection.beginUnit(key ?? "");
      try {
        results.push(await executeStreamRequest(connection, sqlStore, request, executor));
        connection.endUnit();
      } catch (error) {
        if (isInlineRedirect(error)) return { results, redirectedAt: i };
        throw error;
      }
    }
    return { results, redirectedAt: undefined };
  } finally {
    await inline.release();
  }
}

/** A statement's SQL text, given or stored (`lookup`); undefined when neither. */
function stmtSql(stmt: Stmt, lookup: (id: number) => string | undefined): string | undefined {
  return typeof stmt.sql === "string" ? stmt.sql : typeof stmt.sqlId === "number" ? lookup(stmt.sqlId) : undefined;
}

/** The SQL a unit runs, naming it for the slow-statement memory. */
function unitKey(request: StreamRequest, sqlStore: SqlStore): string | undefined {
  const lookup = (id: number): string | undefined => sqlStore.lookupSql(id);
  switch (request.type) {
    case "execute":
      return stmtSql(request.stmt, lookup);
    case "batch":
      return request.batch.steps.map((step) => stmtSql(step.stmt, lookup) ?? "").join("\u0000");
    default:
      return undefined;
  }
}

/**
 * Whether a pipeline may begin on the main-thread connection: a new stream that the pipeline closes, made of
 * requests each of which is a unit that can be undone and re-run whole. `execute` of one statement that does not
 * control a transaction (it runs in autocommit), a `batch` that is one transaction (an unconditional BEGIN first,
 * no other BEGIN, SAVEPOINT or RELEASE, and after its COMMIT/END/ROLLBACK only ROLLBACKs), and requests that touch
 * no data. `sequence` (a script that may commit midway) keeps the pipeline on a worker.
 */
export function inlineEligible(requests: readonly StreamRequest[]): boolean {
  if (requests.length < 2 || requests[requests.length - 1]!.type !== "close") return false;
  // A new stream's stored SQL is what this pipeline stores before using it.
  let stored: Map<number, string> | undefined;
  const lookup = (id: number): string | undefined => stored?.get(id);
  for (let i = 0; i < requests.length - 1; i++) {
    const request = requests[i]!;
    switch (request.type) {
      case "execute": {
        const sql = stmtSql(request.stmt, lookup);
        if (sql === undefined || isTransactionControl(sql)) return false;
        break;
      }
      case "batch":
        if (!transactionalBatch(request.batch.steps.map((step) => ({ condition: step.condition ?? null, sql: stmtSql(step.stmt, lookup) })))) {
          return false;
        }
        break;
      case "store_sql":
        (stored ??= new Map()).set(request.sqlId, request.sql);
        break;
      case "close_sql":
        stored?.delete(request.sqlId);
        break;
      case "describe":
      case "get_autocommit":
        break;
      default:
        return false;
    }
  }
  return true;
}

/** What a batch step does to the batch's transaction, by its first keywords (comments skipped). */
function stepRole(sql: string): "begin" | "end" | "rollback" | "control" | "statement" {
  const [first, second, third, fourth] = leadingWords(sql, 4);
  // `BEGIN TRANSACTION READONLY` (libSQL's read batches) is the session store's to interpret: it stays on a worker.
  if (first === "BEGIN") return [second, third, fourth].includes("READONLY") ? "control" : "begin";
  if (first === "ROLLBACK") return second === undefined || (second === "TRANSACTION" && third === undefined) ? "rollback" : "end";
  if (first === "COMMIT" || first === "END") return "end";
  return isTransactionControl(sql) ? "control" : "statement";
}

function transactionalBatch(steps: readonly { readonly condition: unknown; readonly sql: string | undefined }[]): boolean {
  const first = steps[0];
  if (first === undefined || first.condition !== null || first.sql === undefined || stepRole(first.sql) !== "begin") return false;
  let ended = false;
  for (let i = 1; i < steps.length; i++) {
    const sql = steps[i]!.sql;
    if (sql === undefined) return false;
    const role = stepRole(sql);
    if (ended) {
      if (role !== "rollback") return false;
    } else if (role === "end" || role === "rollback") {
      ended = true;
    } else if (role !== "statement") {
      return false;
    }
  }
  return ended;
}

export interface CursorOptions extends HttpRequestOptions {
  readonly codec: HttpCodec;
  /** A client that reads nothing of the body this long has its stream ended (`stalled`) and the body cut. */
  readonly sendTimeoutMs: number;
  /** Cuts the body off (destroys the response): the client stopped reading, or the stream was ended under it. */
  readonly abort: () => void;
  readonly log: { error(object: object, message: string): void; warn(object: object, message: string): void };
}

/** Rows fetched from the connection per cursor chunk. */
const CURSOR_CHUNK_ROWS = 256;
/** A coalesced cursor body chunk is written once it reaches this size, even within a burst of rows. */
const CURSOR_FLUSH_BYTES = 64 * 1024;
/** How long a body whose stream was ended under it may take to finish before it is cut off. */
const ENDED_GRACE_MS = 1000;
const IDLE = Symbol("idle");

/**
 * Opens a cursor request: validates the batch and opens or resumes its stream (everything that can fail before
 * the first byte throws here), then returns the body's encoded chunks: the head with the baton first (honoured
 * once the body is finished), then the entries, coalesced. The body ends with an error entry when the stream is
 * ended under it, and is cut off when its client reads nothing for `sendTimeoutMs`.
 */
export async function openCursorBody<S extends HttpStreamHandle>(
  host: HttpStreamHost<S>,
  body: CursorReqBody,
  options: CursorOptions,
): Promise<AsyncIterable<string | Uint8Array>> {
  const clientGone = options.clientGone;
  const stream = body.baton !== null ? host.resume(body.baton) : await host.open(clientGone);
  let entries: AsyncIterable<CursorEntry>;
  let head: string | Uint8Array;
  try {
    entries = cursorEntries(stream.connection, stream, body.batch, {
      version: 3,
      maxStoredSql: HTTP_MAX_STORED_SQL,
      maxStoredSqlLength: HTTP_MAX_STORED_SQL_LENGTH,
      cursorChunkRows: CURSOR_CHUNK_ROWS,
      ...(options.onInternalError !== undefined ? { onInternalError: options.onInternalError } : {}),
    });
    head = options.codec.encodeCursorHead({ baton: host.peekBaton(stream), baseUrl: options.baseUrl });
  } catch (error) {
    await host.close(stream).catch(() => undefined);
    throw error;
  }
  // Ended under the body (admin kill, stalled client): the body stops; one nobody reads is cut off.
  const onEnded = () => unref(setTimeout(options.abort, ENDED_GRACE_MS));
  stream.signal.addEventListener("abort", onEnded, { once: true });
  const { codec, log } = options;
  return (async function* (): AsyncGenerator<string | Uint8Array> {
    let stall: ReturnType<typeof setTimeout> | undefined;
    try {
      yield head;
      for await (const chunk of coalesce(entries, codec, clientGone, stream.signal, log)) {
        // A consumer that reads nothing for sendTimeoutMs pins a connection and the WAL: end its stream.
        stall = setTimeout(() => {
          log.warn({}, "cursor client stopped reading; ending its stream");
          void host.terminate(stream, "stalled");
          options.abort();
        }, options.sendTimeoutMs);
        unref(stall);
        yield chunk;
        clearTimeout(stall);
        stall = undefined;
      }
      const ended = host.endedError(stream);
      if (ended !== undefined) yield codec.encodeCursorEntry({ type: "error", error: ended });
    } finally {
      if (stall !== undefined) clearTimeout(stall);
      stream.signal.removeEventListener("abort", onEnded);
      // Also when the client went away mid-body: the stream stays resumable, and the reaper rolls it back if
      // nobody comes back for it. A stream ended under the body has no next baton.
      if (host.endedError(stream) === undefined) {
        try {
          host.baton(stream);
        } catch {
          // ended meanwhile
        }
      }
    }
  })();
}

/**
 * Encodes cursor entries and yields them in chunks rather than one per row: a socket write per row made the
 * stream spend most of its time in writev and promoted enough short-lived write requests to grow the heap by
 * tens of MiB over a million rows. Rows arrive from the driver in bursts (one worker round trip each); a chunk is
 * yielded when the burst ends (the next entry is not ready by the next macrotask) or when it is large enough, so
 * no row waits for the next burst.
 */
async function* coalesce(
  entries: AsyncIterable<CursorEntry>,
  codec: HttpCodec,
  clientGone: AbortSignal,
  ended: AbortSignal,
  log: { error(object: object, message: string): void },
): AsyncGenerator<string | Uint8Array> {
  const iterator = entries[Symbol.asyncIterator]();
  let texts = "";
  let bytes: Uint8Array[] = [];
  let size = 0;
  let idle: Promise<typeof IDLE> | undefined;
  const add = (encoded: string | Uint8Array): void => {
    if (typeof encoded === "string") texts += encoded;
    else bytes.push(encoded);
    size += encoded.length;
  };
  const take = (): string | Uint8Array => {
    const chunk = bytes.length === 0 ? texts : concat(bytes);
    texts = "";
    bytes = [];
    size = 0;
    idle = undefined;
    return chunk;
  };
  try {
    for (;;) {
      const next = iterator.next();
      let result: IteratorResult<CursorEntry> | typeof IDLE;
      if (size === 0) {
        result = await next;
      } else {
        idle ??= new Promise((resolve) => setImmediate(resolve, IDLE));
        result = await Promise.race([next, idle]);
        if (result === IDLE) {
          yield take();
          result = await next;
        }
      }
      if (result.done || clientGone.aborted || ended.aborted) break;
      try {
        add(codec.encodeCursorEntry(result.value));
      } catch (error) {
        // Past what can be encoded (a string longer than V8 allows…): say so in the body and stop, never end it
        // silently.
        log.error({ err: error }, "a cursor entry could not be encoded");
        add(
          codec.encodeCursorEntry({
            type: "error",
            error: { message: "A row is too large to be sent: read its large values in parts (substr)", code: "RESPONSE_TOO_LARGE" },
          }),
        );
        break;
      }
      if (size >= CURSOR_FLUSH_BYTES) yield take();
    }
    if (size > 0) yield take();
  } finally {
    // Closes the driver cursor when the client went away (or the consumer stopped) mid-body.
    await iterator.return?.();
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
