import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { chooseSubprotocol, HranaWsConnection, SUBPROTOCOLS, type WsStreamHost, type WsTransport } from "@hranad/hrana-protocol";
import type { Session } from "@hranad/session-store";
import { toErrorReply } from "./errors.js";
import { sendError } from "./send-error.js";
import { ANONYMOUS, type ServerContext } from "./server-context.js";

/** Open sockets, so that shutdown can close them. */
export type WebSocketRegistry = Set<WebSocket>;

interface DbParams {
  db?: string;
}

export function registerHranaWebSocket(app: FastifyInstance, context: ServerContext, sockets: WebSocketRegistry): void {
  for (const url of ["/", "/:db"]) {
    app.route<{ Params: DbParams }>({
      method: "GET",
      url,
      // Checked before the upgrade so that a bad request gets a plain HTTP answer.
      preValidation: async (request, reply) => {
        if (request.headers.upgrade?.toLowerCase() !== "websocket") return;
        context.resolveDatabase(request, request.params.db);
        if (context.closing) return sendError(reply, 503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
        const offered = request.headers["sec-websocket-protocol"];
        if (offered !== undefined) {
          const protocols = new Set(offered.split(",").map((p) => p.trim()).filter((p) => p.length > 0));
          if (chooseSubprotocol(protocols) === undefined) {
            return sendError(
              reply,
              400,
              "WEBSOCKET_PROTOCOL_UNSUPPORTED",
              `Only these WebSocket subprotocols are supported: ${SUBPROTOCOLS.join(", ")}`,
            );
          }
        }
        return undefined;
      },
      handler: async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
        if (request.params.db !== undefined) context.resolveDatabase(request, request.params.db);
        return sendError(reply, 404, "NOT_FOUND", "Connect with a WebSocket, or POST to /v2/pipeline or /v3/pipeline");
      },
      wsHandler: (socket: WebSocket, request: FastifyRequest<{ Params: DbParams }>) => {
        const database = context.resolveDatabase(request, request.params.db);
        sockets.add(socket);
        const connection = new HranaWsConnection(transportOf(socket), streamHost(context, database), context.config.limits, request.log);
        socket.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
          connection.receive(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data), isBinary);
        });
        socket.on("error", () => undefined);
        socket.once("close", () => {
          sockets.delete(socket);
          void connection.dispose();
        });
      },
    });
  }
}

/** The `ws` socket as the Hrana state machine's transport. */
function transportOf(socket: WebSocket): WsTransport {
  return {
    get protocol() {
      return socket.protocol;
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    get open() {
      return socket.readyState === socket.OPEN;
    },
    send: (data, binary, written) => socket.send(data, { binary }, () => written()),
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

/** The session store and registry as the Hrana state machine's stream host: every WebSocket stream is a session. */
function streamHost(context: ServerContext, database: string): WsStreamHost<Session> {
  const { store, registry } = context;
  return {
    async open() {
      const handle = await registry.get(database);
      try {
        return await store.open(handle.database, handle, ANONYMOUS, handle.database.readOnly, AbortSignal.timeout(30_000));
      } catch (error) {
        handle.release();
        throw error;
      }
    },
    begin: (session) => store.markBusy(session),
    end: (session) => store.markIdle(session),
    close: (session) => store.close(session),
    terminate: (session, reason) => store.terminate(session, reason),
    get closing() {
      return context.closing;
    },
    buffered: context.buffered,
    responseBudget: () => context.responseBudget(),
    toError(error) {
      const answer = toErrorReply(error);
      return { message: answer.message, code: answer.code };
    },
  };
}
