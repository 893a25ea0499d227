import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { Driver } from "@hranad/driver";
import { WorkerPool } from "@hranad/runtime";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { libsqlDriver } from "@hranad/driver-libsql";
import { Registry, resolveDatabasePath, WalGuard } from "@hranad/registry";
import { addressedDatabase, ByteBudget, chooseSubprotocol, printableName, ResponseBudget } from "@hranad/hrana-protocol";
import { SessionStore } from "@hranad/session-store";
import { Replicator, replicatedNames } from "@hranad/replication";
import type { ServerConfig } from "./config.js";
import { registerAdmin } from "./admin.js";
import { sendError, ServerError, toErrorReply } from "./errors.js";
import { registerHranaHttp } from "./hrana-http.js";
import { registerHranaWebSocket, type WebSocketRegistry } from "./hrana-ws.js";
import type { ServerContext } from "./server-context.js";
import { VERSION } from "./version.js";

export interface HranadServer {
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly store: SessionStore;
  /** The Litestream supervisor when `replication:` is configured. */
  readonly replication: Replicator | null;
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** Graceful shutdown: stops listening, closes every stream (rolling back), checkpoints and closes databases. */
  close(): Promise<void>;
}

const DRIVERS: readonly Driver[] = [betterSqlite3Driver, libsqlDriver];

/** Builds the server (routes, registry, session store) and starts listening. */
export async function startServer(config: ServerConfig): Promise<HranadServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const startedAt = Date.now();
  // Litestream checkpoints the databases it replicates: theirs stand down (registry `externalCheckpoints`).
  const replicated = new Set(config.replication ? replicatedNames(config.replication, config.databases.map((d) => d.name)) : []);
  const { busyTimeoutMs, statementTimeoutMs, maxConnections, maxResultBytes, inlineBudgetMs } = config.limits;
  const registry = new Registry({
    dataDir: config.dataDir,
    drivers: DRIVERS,
    defaultDriver: "better-sqlite3",
    databases: config.databases.map((d) => ({
      ...d,
      mode: d.mode ?? "create",
      ...(replicated.has(d.name) ? { externalCheckpoints: true } : {}),
    })),
    defaults: { busyTimeoutMs, statementTimeoutMs, maxConnections, maxResultBytes, inlineBudgetMs },
  });
  // The limits carry the store's option names (idleTimeoutMs, maxLifetimeMs, maxSessionsPer…, transactionTimeoutMs).
  const store = new SessionStore(config.limits);
  // A worker takes ~100 ms to start: have a few warm before the first request needs one.
  await WorkerPool.shared().prewarm(Math.min(4, config.databases.length + 1));
  const reaper = new AbortController();
  store.startReaper(1000, reaper.signal);

  const app = Fastify({
    logger: config.logLevel === "silent" ? false : { level: config.logLevel },
    bodyLimit: config.limits.maxBodyBytes,
    // Hrana clients pipeline on keep-alive connections; do not let a slow client hold a socket forever.
    requestTimeout: 120_000,
    logController: new LogController({ disableRequestLogging: config.logLevel !== "debug" }),
    // Our onRequest hook answers 503 during shutdown with {message, code}: Fastify's own 503 body has no `code`,
    // so @libsql/client reported it as UNKNOWN.
    return503OnClosing: false,
    // `createClient({url: "ws://host/db/"})` connects to `/db/`.
    routerOptions: { ignoreTrailingSlash: true },
    forceCloseConnections: "idle",
  });

  const replication =
    config.replication === null
      ? null
      : new Replicator({
          config: config.replication,
          databases: config.databases
            .filter((d) => replicated.has(d.name))
            .map((d) => ({ name: d.name, path: resolveDatabasePath(config.dataDir, d.name, d.path) })),
          log: app.log,
        });

  let closing = false;
  const buffered = new ByteBudget(config.limits.maxBufferedBytes);
  const context: ServerContext = {
    config,
    registry,
    store,
    replication,
    startedAt,
    buffered,
    // maxResponseBytes and maxResultBytes, drawing on the server's pool.
    responseBudget: () => new ResponseBudget({ ...config.limits, pool: buffered }),
    get closing() {
      return closing;
    },
    resolveDatabase(request, pathName) {
      const name = addressedDatabase(request.hostname, pathName, (db) => registry.has(db));
      if (registry.has(name)) return name;
      throw new ServerError(404, "DATABASE_NOT_FOUND", `Database "${printableName(name)}" does not exist`);
    },
  };

  // Every body is read as raw bytes: clients send JSON as text/plain (fetch's default) or with no type at all,
  // and the Hrana codecs do their own strict decoding.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  // Permissive CORS, as sqld: browsers use @libsql/client directly.
  app.addHook("onRequest", async (request, reply) => {
    reply.header("access-control-allow-origin", "*");
    if (request.method === "OPTIONS") {
      const allowHeaders = request.headers["access-control-request-headers"] ?? "*";
      const preflight = { "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": allowHeaders };
      return reply.headers({ ...preflight, "access-control-max-age": "86400" }).code(204).send();
    }
    if (closing) return sendError(reply.header("connection", "close"), 503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
    return undefined;
  });

  // During shutdown, answers tell the client not to reuse the connection.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const fastifyCode = (error as { code?: unknown }).code;
    if (fastifyCode === "FST_ERR_CTP_BODY_TOO_LARGE") {
      // Fastify asks for `connection: close`, but closing a socket with the unread rest of the body in it resets the
      // connection and the client never sees this 413. Keep it open: Node discards the rest of the body (bounded
      // by requestTimeout), then the connection serves the next request.
      reply.removeHeader("connection");
      return sendError(reply, 413, "BODY_TOO_LARGE", `The request body is larger than ${config.limits.maxBodyBytes} bytes`);
    }
    if (typeof fastifyCode === "string" && fastifyCode.startsWith("FST_ERR_CTP")) {
      return sendError(reply, 400, "PROTOCOL_ERROR", "The request body could not be read");
    }
    const answer = toErrorReply(error);
    if (answer.status >= 500) request.log.error({ err: error }, "request failed");
    return sendError(reply, answer.status, answer.code, answer.message);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, "NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}`),
  );

  app.get("/health", async (_request, reply) => {
    if (closing) return sendError(reply, 503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
    return reply.code(200).type("text/plain").send("");
  });
  app.get("/version", async (_request, reply) => reply.type("text/plain").send(`hranad ${VERSION}`));

  const sockets: WebSocketRegistry = new Set();
  await app.register(websocket, {
    // The default handler logs an error and terminates the socket on every `ws` error, cutting off the close frame
    // that `ws` has just queued for a client's bad frame (1007 invalid UTF-8, 1009 too big…): the client then sees
    // 1006. A client's bad frame is not a server error; a handler that throws is, and gets 1011.
    errorHandler: (error, socket, request) => {
      request.log.debug({ err: error }, "WebSocket error");
      if (socket.readyState === socket.OPEN) socket.close(1011, "Internal server error");
    },
    options: {
      maxPayload: config.limits.maxBodyBytes,
      handleProtocols: (protocols) => chooseSubprotocol(protocols) ?? false,
    },
  });
  registerHranaHttp(app, context);
  registerHranaWebSocket(app, context, sockets);
  registerAdmin(app, context);

  const walGuard = new WalGuard(registry, config.limits.walTruncateBytes, app.log);
  walGuard.start();

  await replication?.start();
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await replication?.stop();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    app,
    registry,
    store,
    replication,
    url,
    port: address.port,
    close() {
      closed ??= (async () => {
        closing = true;
        walGuard.stop();
        for (const socket of sockets) socket.close(1001, "The server is shutting down");
        // Roll idle streams back before waiting for in-flight requests: an idle stream may hold the write lock that
        // those requests are queued on, and app.close() would then wait out the busy timeout for each of them.
        await store.closeAll();
        // app.close() waits for every connection to end, but closes idle keep-alive connections only once, at the
        // start: a connection whose request finishes later would then hold the shutdown until the client drops it.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        reaper.abort();
        // Streams opened by requests that were already past the `closing` check.
        await store.closeAll();
        // Litestream's final sync ships the last writes; only then may the databases be checkpointed.
        await replication?.stop();
        // Streams that were busy at closeAll end when their request finishes; give them the registry's bound.
        await registry.closeAll({ timeoutMs: 15_000 });
      })();
      return closed;
    },
  };
}
