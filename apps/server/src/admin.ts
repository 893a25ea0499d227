import { createReadStream } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { replicationMetrics, takeSnapshot } from "@hranad/replication";
import { sendError, ServerError } from "./errors.js";
import { isLoopback, type ServerContext } from "./server-context.js";
import { VERSION } from "./version.js";

/**
 * The admin API: list and kill streams, database statistics, checkpoints, backups, server information.
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

  app.get("/admin/info", { onRequest: gate }, async () => ({
    version: VERSION,
    uptimeSeconds: Math.floor((Date.now() - context.startedAt) / 1000),
    databases: context.registry.names(),
    replication: context.replication?.status() ?? null,
  }));

  // Prometheus' text format: replication for now (streams, pools and requests come with the operations work).
  app.get("/metrics", { onRequest: gate }, async (_request, reply) =>
    reply.type("text/plain; version=0.0.4").send(`hranad_info{version="${VERSION}"} 1\n${context.replication ? replicationMetrics(context.replication.status()) : ""}`),
  );

  // A consistent copy of the database file (one committed state) while writers go on.
  app.get<{ Params: { name: string } }>("/admin/databases/:name/backup", { onRequest: gate }, async (request, reply) => {
    const name = context.resolveDatabase(request, request.params.name);
    const handle = await context.registry.get(name);
    const snapshot = await takeSnapshot(handle.database.pool.path, name)
      .catch((error: unknown) => {
        request.log.error({ err: error, database: name }, "backup failed");
        throw new ServerError(500, "BACKUP_FAILED", `The backup of database "${name}" failed`);
      })
      .finally(() => handle.release());
    const stream = createReadStream(snapshot.path).once("close", snapshot.remove);
    return reply.type("application/vnd.sqlite3").header("content-disposition", `attachment; filename="${name}.db"`).send(stream);
  });

  app.post<{ Params: { name: string } }>("/admin/databases/:name/checkpoint", { onRequest: gate }, async (request) => {
    const name = context.resolveDatabase(request, request.params.name);
    // Litestream holds a read transaction on a replicated database: a TRUNCATE would stall writers, then fail.
    if (context.replication?.databases().some((d) => d.name === name)) {
      throw new ServerError(409, "CHECKPOINT_REPLICATED", `Database "${name}" is replicated: Litestream runs its checkpoints`);
    }
    return context.registry.checkpoint(name);
  });
}
