import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  HTTP_ENDPOINTS,
  HTTP_VERSION_PROBES,
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

/** Aborts when the client goes away before the answer is sent; `onClose` runs when the response ends either way. */
function clientGone(reply: FastifyReply, onClose?: () => void): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    onClose?.();
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

function sendFailure(reply: FastifyReply, codec: HttpCodec, error: unknown): FastifyReply {
  const answer = toErrorReply(error);
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
    const gone = clientGone(reply, () => budget.release());
    try {
      const database = context.resolveDatabase(request, request.params.db);
      const body = codec.decodePipeline(bodyBytes(request), version);
      const response = await runPipeline(httpStreamHost(context, database, request.ip), body, {
        version,
        baseUrl: context.config.baseUrl,
        budget,
        clientGone: gone,
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
      const chunks = await openCursorBody(httpStreamHost(context, database, request.ip), body, {
        version,
        codec,
        baseUrl: context.config.baseUrl,
        sendTimeoutMs: context.config.limits.sendTimeoutMs,
        clientGone: clientGone(reply),
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
  return request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
}
