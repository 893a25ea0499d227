import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  HTTP_ENDPOINTS,
  HTTP_VERSION_PROBES,
  isProtocolError,
  openCursorBody,
  runPipeline,
  type HttpCodec,
  type HttpEndpoint,
} from "@hranad/hrana-protocol";
import { toErrorReply } from "./errors.js";
import type { ServerContext } from "./server-context.js";
import { httpStreamHost } from "./streams.js";

interface DbParams {
  db?: string;
}

/** Hrana over HTTP: the protocol's endpoints and version probes, with and without a `/<db>` prefix. */
export function registerHranaHttp(app: FastifyInstance, context: ServerContext): void {
  for (const prefix of ["", "/:db"]) {
    for (const probe of HTTP_VERSION_PROBES) {
      app.get(`${prefix}${probe.path}`, async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
        if (request.params.db !== undefined) context.resolveDatabase(request, request.params.db);
        return reply.type("text/plain").send(probe.body);
      });
    }
    for (const endpoint of HTTP_ENDPOINTS) {
      app.post(`${prefix}${endpoint.path}`, endpoint.kind === "pipeline" ? pipeline(context, endpoint) : cursor(context, endpoint));
    }
  }
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
  if (answer.status >= 500) reply.log.error({ err: error }, "request failed");
  // Buffer bodies keep the Content-Type exact (see sendError).
  const body = codec.encodeError({ message: answer.message, code: answer.code });
  return reply.code(answer.status).header("content-type", codec.contentType).send(Buffer.from(body));
}

function pipeline(context: ServerContext, endpoint: HttpEndpoint) {
  const { codec, version } = endpoint;
  return async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
    // Everything this response holds counts against the server's pool until it has been sent (or dropped).
    const budget = context.responseBudget();
    // One listener per request: it gives the budget back, and tells the stream when its client went away mid-request.
    let onGone: (() => void) | undefined;
    reply.raw.once("close", () => {
      budget.release();
      if (!reply.raw.writableFinished) onGone?.();
    });
    try {
      const database = context.resolveDatabase(request, request.params.db);
      const body = codec.decodePipeline(bodyBytes(request), version);
      const response = await runPipeline(httpStreamHost(context, database), body, {
        version,
        baseUrl: context.config.baseUrl,
        budget,
        clientGone: () => requestSignal(reply),
        onClientGone: (listener) => {
          onGone = listener;
        },
        onInternalError: (error) => reply.log.error({ err: error }, "statement failed"),
      });
      return reply.type(codec.contentType).send(codec.encodePipeline(response));
    } catch (error) {
      return sendFailure(reply, codec, error);
    }
  };
}

function cursor(context: ServerContext, endpoint: HttpEndpoint) {
  const { codec, version } = endpoint;
  return async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
    try {
      const database = context.resolveDatabase(request, request.params.db);
      const body = codec.decodeCursor(bodyBytes(request));
      const chunks = await openCursorBody(httpStreamHost(context, database), body, {
        version,
        codec,
        baseUrl: context.config.baseUrl,
        sendTimeoutMs: context.config.limits.sendTimeoutMs,
        clientGone: () => requestSignal(reply),
        abort: () => {
          if (!reply.raw.writableFinished) reply.raw.destroy();
        },
        log: reply.log,
        onInternalError: (error) => reply.log.error({ err: error }, "cursor statement failed"),
      });
      return reply.type(codec.cursorContentType).send(Readable.from(chunks, { objectMode: false }));
    } catch (error) {
      return sendFailure(reply, codec, error);
    }
  };
}

function bodyBytes(request: FastifyRequest): Uint8Array {
  const body = request.body;
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(0);
}
