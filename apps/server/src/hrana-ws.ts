import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { HranaWsConnection, refuseSubprotocols } from "@hranad/hrana-protocol";
import { sendError } from "./errors.js";
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
        const refused = refuseSubprotocols(request.headers["sec-websocket-protocol"]);
        if (refused !== undefined) return sendError(reply, 400, "WEBSOCKET_PROTOCOL_UNSUPPORTED", refused);
        return undefined;
      },
      handler: async (request: FastifyRequest<{ Params: DbParams }>, reply: FastifyReply) => {
        if (request.params.db !== undefined) context.resolveDatabase(request, request.params.db);
        return sendError(reply, 404, "NOT_FOUND", "Connect with a WebSocket, or POST to /v2/pipeline or /v3/pipeline");
      },
      wsHandler: (socket: WebSocket, request: FastifyRequest<{ Params: DbParams }>) => {
        const database = context.resolveDatabase(request, request.params.db);
        sockets.add(socket);
        const connection = new HranaWsConnection(socket, wsStreamHost(context, database, request.ip), context.config.limits, request.log);
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
