import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sendError } from "./errors.js";
import { isLoopback, type ServerContext } from "./server-context.js";

/**
 * The admin API: list and kill streams, database statistics, checkpoints.
 *
 * Open mode has no principals, so only requests from a loopback address count as a server admin; anything else is
 * refused with 403 `ADMIN_FORBIDDEN`.
 */
export function registerAdmin(app: FastifyInstance, context: ServerContext): void {
  const gate = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isLoopback(request.socket.remoteAddress)) {
      return sendError(reply, 403, "ADMIN_FORBIDDEN", "The admin API is only served to loopback clients in open mode");
    }
    return undefined;
  };

  app.get<{ Querystring: { database?: string } }>("/admin/sessions", { onRequest: gate }, async (request) => {
    const database = request.query.database;
    const sessions = context.store.list(database === undefined ? undefined : (name) => name === database);
    return { sessions };
  });

  app.delete<{ Params: { id: string } }>("/admin/sessions/:id", { onRequest: gate }, async (request, reply) => {
    const result = await context.store.kill(request.params.id);
    switch (result) {
      case "killed":
        return reply.code(200).send({ result });
      case "not-found":
        return sendError(reply, 404, "STREAM_NOT_FOUND", "No live stream has this id");
    }
  });

  app.get("/admin/databases", { onRequest: gate }, async () => context.registry.stats());

  app.post<{ Params: { name: string } }>("/admin/databases/:name/checkpoint", { onRequest: gate }, async (request) => {
    const name = context.resolveDatabase(request, request.params.name);
    return context.registry.checkpoint(name);
  });
}
