import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  cursorEntries,
  executeStreamRequest,
  type CursorEntry,
  isProtocolError,
  type ProtocolVersion,
  type StreamResult,
} from "@hranad/hrana-protocol";
import type { Session } from "@hranad/session-store";
import { httpCodecs, type HttpCodec } from "@hranad/hrana-protocol";
import { ServerError, toErrorReply } from "./errors.js";
import { ANONYMOUS, type ServerContext } from "./server-context.js";

/** sqld's limits for SQL texts stored on an HTTP stream (clients size their caches to them). */
const HTTP_MAX_STORED_SQL = 50;
const HTTP_MAX_STORED_SQL_LENGTH = 5000;

/** Rows fetched from the connection per cursor chunk. */
const CURSOR_CHUNK_ROWS = 256;

interface DbParams {
  db?: string;
}

/** Hrana over HTTP: `/v2`, `/v3`, `/v3-protobuf` pipelines and cursors, with and without a `/<db>` prefix. */
export function registerHranaHttp(app: FastifyInstance, context: ServerContext): void {
  const hello = (version: string) => async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
    if (request.params.db !== undefined) context.resolveDatabase(request, request.params.db);
    return reply.type("text/plain").send(`Hello, this is HTTP API ${version} (Hrana over HTTP)`);
  };
  for (const prefix of ["", "/:db"]) {
    app.get(`${prefix}/v2`, hello("v2"));
    app.get(`${prefix}/v3`, hello("v3"));
    app.get(`${prefix}/v3-protobuf`, hello("v3"));
    app.post(`${prefix}/v2/pipeline`, pipeline(context, 2, httpCodecs.json));
    app.post(`${prefix}/v3/pipeline`, pipeline(context, 3, httpCodecs.json));
    app.post(`${prefix}/v3-protobuf/pipeline`, pipeline(context, 3, httpCodecs.protobuf));
    app.post(`${prefix}/v3/cursor`, cursor(context, httpCodecs.json));
    app.post(`${prefix}/v3-protobuf/cursor`, cursor(context, httpCodecs.protobuf));
  }
}

/** Opens a new stream (no baton) or resumes the one the baton names. */
async function openOrResume(
  context: ServerContext,
  database: string,
  baton: string | null,
  signalFor: () => AbortSignal,
): Promise<Session> {
  if (baton !== null) return context.store.resume(baton, database, ANONYMOUS);
  if (context.closing) throw new ServerError(503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
  // Only opening waits (for the database and a connection): a resumed stream needs no abort signal.
  const signal = signalFor();
  const handle = await context.registry.get(database, signal);
  let session: Session;
  try {
    session = await context.store.open(handle.database, handle, ANONYMOUS, handle.database.readOnly, signal);
  } catch (error) {
    handle.release(); // idempotent: the store may already have dropped it
    throw error;
  }
  if (context.closing) {
    // Shutdown began while this stream waited for a connection: shutdown has already rolled the other streams
    // back, and a stream opened now could take the write lock that the requests being drained wait for.
    await context.store.close(session);
    throw new ServerError(503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
  }
  return session;
}

/** Aborts when the client goes away before the answer is sent. */
function requestSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

function sendFailure(reply: FastifyReply, codec: HttpCodec, error: unknown): FastifyReply {
  const answer = isProtocolError(error) ? { status: 400, message: error.message, code: "PROTOCOL_ERROR" } : toErrorReply(error);
  if (answer.status >= 500) reply.log.error({ err: error }, "pipeline failed");
  // Buffer bodies keep the Content-Type exact (see sendError).
  const body = codec.encodeError({ message: answer.message, code: answer.code });
  return reply.code(answer.status).header("content-type", codec.contentType).send(Buffer.from(body));
}

function pipeline(context: ServerContext, version: ProtocolVersion, codec: HttpCodec) {
  return async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
    let session: Session | undefined;
    // Everything this response holds counts against the server's pool until it has been sent (or dropped).
    const budget = context.responseBudget();
    reply.raw.once("close", () => budget.release());
    try {
      const database = context.resolveDatabase(request, request.params.db);
      const body = codec.decodePipeline(bodyBytes(request), version);
      session = await openOrResume(context, database, body.baton, () => requestSignal(reply));
      const running = session;
      // A client that goes away mid-request never receives the next baton: nobody can resume the stream, so end it
      // now (interrupting its statement, rolling back, freeing the connection) rather than at the idle timeout.
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) void context.store.terminate(running, "closed");
      });
      const connection = session.connection;
      const results: StreamResult[] = [];
      let closed = false;
      for (const streamRequest of body.requests) {
        if (closed) {
          results.push({ type: "error", error: { message: "The stream was closed by an earlier request", code: "STREAM_CLOSED" } });
        } else if (streamRequest.type === "close") {
          closed = true;
          results.push({ type: "ok", response: { type: "close" } });
        } else {
          if (running.signal.aborted) break;
          results.push(
            await executeStreamRequest(connection, session, streamRequest, {
              version,
              maxStoredSql: HTTP_MAX_STORED_SQL,
              maxStoredSqlLength: HTTP_MAX_STORED_SQL_LENGTH,
              budget,
              onInternalError: (error) => reply.log.error({ err: error }, "statement failed"),
            }),
          );
        }
      }
      let baton: string | null = null;
      if (closed) {
        const ending = session;
        session = undefined;
        await context.store.close(ending);
      } else {
        // Throws the stream's end reason when it was ended under the request (killed, client gone).
        baton = context.store.baton(session);
        session = undefined;
      }
      return reply
        .type(codec.contentType)
        .send(codec.encodePipeline({ baton, baseUrl: context.config.baseUrl, results }));
    } catch (error) {
      // A malformed request drops the stream (as sqld): its transaction is rolled back.
      if (session !== undefined) await context.store.close(session).catch(() => undefined);
      return sendFailure(reply, codec, error);
    }
  };
}

function cursor(context: ServerContext, codec: HttpCodec) {
  return async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
    let session: Session | undefined;
    try {
      const database = context.resolveDatabase(request, request.params.db);
      const body = codec.decodeCursor(bodyBytes(request));
      const signal = requestSignal(reply);
      session = await openOrResume(context, database, body.baton, () => signal);
      const owned = session;
      const connection = owned.connection;
      // The baton goes out first, while the batch still runs: it is honoured only once this body is finished.
      const head = codec.encodeCursorHead({ baton: context.store.peekBaton(owned), baseUrl: context.config.baseUrl });
      const entries = cursorEntries(connection, owned, body.batch, {
        version: 3,
        maxStoredSql: HTTP_MAX_STORED_SQL,
        maxStoredSqlLength: HTTP_MAX_STORED_SQL_LENGTH,
        cursorChunkRows: CURSOR_CHUNK_ROWS,
        onInternalError: (error) => reply.log.error({ err: error }, "cursor statement failed"),
      });
      const sendTimeoutMs = context.config.limits.sendTimeoutMs;
      // Ended under the body (admin kill, stalled client): stop; a body nobody reads is cut off.
      const onEnded = () => {
        setTimeout(() => {
          if (!reply.raw.writableFinished) reply.raw.destroy();
        }, 1000).unref();
      };
      owned.signal.addEventListener("abort", onEnded, { once: true });
      async function* lines(): AsyncGenerator<string | Uint8Array> {
        let stall: NodeJS.Timeout | undefined;
        try {
          yield head;
          for await (const chunk of coalesce(entries, codec, signal, owned.signal, reply.log)) {
            // A consumer that reads nothing for sendTimeoutMs pins a connection and the WAL: end its stream.
            stall = setTimeout(() => {
              reply.log.warn({ stream: owned.id }, "cursor client stopped reading; ending its stream");
              void context.store.terminate(owned, "stalled");
              reply.raw.destroy();
            }, sendTimeoutMs);
            yield chunk;
            clearTimeout(stall);
            stall = undefined;
          }
          if (owned.signal.aborted) yield codec.encodeCursorEntry({ type: "error", error: endedError(owned) });
        } finally {
          if (stall !== undefined) clearTimeout(stall);
          owned.signal.removeEventListener("abort", onEnded);
          // Also when the client went away mid-body: the stream stays resumable, and the reaper rolls it back
          // if nobody comes back for it. A stream ended under the body has no next baton.
          if (owned.endReason === undefined) context.store.baton(owned);
        }
      }
      session = undefined;
      return reply.type(codec.cursorContentType).send(Readable.from(lines(), { objectMode: false }));
    } catch (error) {
      if (session !== undefined) await context.store.close(session).catch(() => undefined);
      return sendFailure(reply, codec, error);
    }
  };
}

/** The error a stream ended under its request reports (as its baton would). */
function endedError(session: Session): { message: string; code: string } {
  switch (session.endReason) {
    case "killed":
      return { message: "The stream was killed by an administrator", code: "STREAM_KILLED" };
    case "stalled":
      return { message: "The stream was ended because its client stopped reading", code: "STREAM_STALLED" };
    case "shutdown":
      return { message: "The server is shutting down", code: "SERVER_SHUTTING_DOWN" };
    default:
      return { message: "The stream was closed", code: "STREAM_CLOSED" };
  }
}

/** A coalesced cursor body chunk is written once it reaches this size, even within a burst of rows. */
const CURSOR_FLUSH_BYTES = 64 * 1024;
const IDLE = Symbol("idle");

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
  signal: AbortSignal,
  ended: AbortSignal,
  log: { error(object: object, message: string): void },
): AsyncGenerator<string | Uint8Array> {
  const iterator = entries[Symbol.asyncIterator]();
  let texts = "";
  let bytes: Uint8Array[] = [];
  let size = 0;
  let idle: Promise<typeof IDLE> | undefined;
  const take = (): string | Uint8Array => {
    const chunk = bytes.length === 0 ? texts : Buffer.concat(bytes);
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
      if (result.done || signal.aborted || ended.aborted) break;
      let encoded: string | Uint8Array;
      try {
        encoded = codec.encodeCursorEntry(result.value);
      } catch (error) {
        // Past what can be encoded (a string longer than V8 allows…): say so in the body and stop, never end it
        // silently.
        log.error({ err: error }, "a cursor entry could not be encoded");
        encoded = codec.encodeCursorEntry({
          type: "error",
          error: { message: "A row is too large to be sent: read its large values in parts (substr)", code: "RESPONSE_TOO_LARGE" },
        });
        if (typeof encoded === "string") texts += encoded;
        else bytes.push(encoded);
        size += encoded.length;
        break;
      }
      if (typeof encoded === "string") texts += encoded;
      else bytes.push(encoded);
      size += encoded.length;
      if (size >= CURSOR_FLUSH_BYTES) yield take();
    }
    if (size > 0) yield take();
  } finally {
    // Closes the driver cursor when the client went away (or the consumer stopped) mid-body.
    await iterator.return?.();
  }
}

function bodyBytes(request: FastifyRequest): Uint8Array {
  const body = request.body;
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(0);
}
