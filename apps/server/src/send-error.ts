import type { FastifyReply } from "fastify";

/**
 * Answers `{message, code}` with a Content-Type of exactly `application/json`: @libsql/client reads an error body
 * only then (a `; charset=…` suffix makes it fall back to a generic SERVER_ERROR). A Buffer body keeps Fastify
 * from appending the charset.
 */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header("content-type", "application/json").send(Buffer.from(JSON.stringify({ message, code })));
}
