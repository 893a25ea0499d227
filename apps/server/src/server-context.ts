import type { FastifyRequest } from "fastify";
import type { ByteBudget, ResponseBudget } from "@hranad/hrana-protocol";
import type { Registry } from "@hranad/registry";
import type { SessionStore } from "@hranad/session-store";
import type { Replicator } from "@hranad/replication";
import type { ServerConfig } from "./config.js";

/** Who a request is. Open mode has one principal with full access to every database. */
export const ANONYMOUS = "anonymous";

/** A loopback host name or address (`localhost`, `127.x.x.x`, `::1`, `::ffff:127.x.x.x`). */
export function isLoopback(address: string | undefined): boolean {
  return address === "localhost" || address === "::1" || /^(::ffff:)?127\./.test(address ?? "");
}

/** Everything a request handler needs, built once per server. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly store: SessionStore;
  /** The Litestream supervisor when replication is configured. */
  readonly replication: Replicator | null;
  /** When the server started (ms since the epoch). */
  readonly startedAt: number;
  /** Resolves the database a request addresses, or throws `DATABASE_NOT_FOUND`. */
  resolveDatabase(request: FastifyRequest, pathName: string | undefined): string;
  /** Bytes held by responses server-wide (`limits.maxBufferedBytes`). */
  readonly buffered: ByteBudget;
  /** A new budget for one response (`limits.maxResponseBytes`), drawing on `buffered`; release it once sent. */
  responseBudget(): ResponseBudget;
  /** Whether shutdown has begun: new streams are refused. */
  readonly closing: boolean;
}
