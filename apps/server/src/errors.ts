/**
 * The server's error table: every error a client can see has a stable `code` and an HTTP status.
 * The README's error table is generated from the same facts; keep them in step.
 */
import type { FastifyReply } from "fastify";
import { isProtocolError } from "@hranad/hrana-protocol";

/** An error the server answers with `{message, code}` and `status`. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Codes of the errors raised by the packages below, by the HTTP status they are answered with. */
const CODES_BY_STATUS: Readonly<Record<number, readonly string[]>> = {
  // requests the server cannot parse; batons and streams that cannot be resumed (the session store's codes)
  400: ["PROTOCOL_ERROR", "BATON_INVALID", "BATON_REUSED", "BATON_DATABASE_MISMATCH", "STREAM_EXPIRED",
    "STREAM_LIFETIME_EXCEEDED", "STREAM_KILLED", "STREAM_STALLED", "STREAM_CLOSED", "SERVER_RESTARTED"],
  403: ["BATON_PRINCIPAL_MISMATCH"],
  404: ["DATABASE_NOT_FOUND", "DATABASE_NAME_INVALID", "STREAM_NOT_FOUND"],
  409: ["STREAM_BUSY", "TRANSACTION_ABORTED", "TRANSACTION_TIMEOUT"],
  429: ["TOO_MANY_SESSIONS", "TOO_MANY_CLIENT_SESSIONS"],
  // the client went away while its stream was being opened
  499: ["ABORTED"],
  // the database file cannot be opened (missing in readwrite mode, not a database…): the operator must act
  500: ["DATABASE_OPEN_FAILED", "OPEN_FAILED"],
  // capacity and availability: the request may succeed if retried
  503: ["POOL_TIMEOUT", "POOL_CLOSED", "SERVER_SHUTTING_DOWN", "REGISTRY_CLOSED", "DATABASE_BUSY", "WORKER_FAILED",
    "CONNECTION_CLOSED"],
};

const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(CODES_BY_STATUS).flatMap(([status, codes]) => codes.map((code) => [code, Number(status)])),
);

/** The answer for an error that ends a whole HTTP request: a status and a `{message, code}` body. */
export function toErrorReply(error: unknown): { status: number; message: string; code: string } {
  if (error instanceof ServerError) return { status: error.status, message: error.message, code: error.code };
  if (isProtocolError(error)) return { status: 400, message: error.message, code: "PROTOCOL_ERROR" };
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const status = typeof code === "string" ? STATUS_BY_CODE[code] : undefined;
  if (status !== undefined && typeof message === "string") return { status, message, code: code as string };
  return { status: 500, message: "Internal server error", code: "INTERNAL_ERROR" };
}

/**
 * Answers `{message, code}` with a Content-Type of exactly `application/json`: @libsql/client reads an error body
 * only then (a `; charset=…` suffix makes it fall back to a generic SERVER_ERROR). A Buffer body keeps Fastify
 * from appending the charset.
 */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header("content-type", "application/json").send(Buffer.from(JSON.stringify({ message, code })));
}
