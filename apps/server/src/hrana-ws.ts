import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { chooseSubprotocol, HranaWsConnection, SUBPROTOCOLS, type WsTransport } from "@hranad/hrana-protocol";
import { sendError } from "./send-error.js";
import type { ServerContext } from "./server-context.js";
import { wsStreamHost } from "./streams.js";

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
        const connection = new HranaWsConnection(transportOf(socket), wsStreamHost(context, database), context.config.limits, request.log);
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
