import type { HttpStreamHost, WsStreamHost } from "@hranad/hrana-protocol";
import type { Session } from "@hranad/session-store";
import { ServerError, toErrorReply } from "./errors.js";
import { ANONYMOUS, type ServerContext } from "./server-context.js";

/**
 * Opens a session on `database`: a handle on the database, then a pinned connection. Refused once shutdown began —
 * also when it began while this open waited, because shutdown has already rolled the other streams back and a
 * stream opened now could take the write lock that the requests being drained wait for.
 */
async function openSession(context: ServerContext, database: string, client: string, signal: AbortSignal): Promise<Session> {
  const shuttingDown = () => new ServerError(503, "SERVER_SHUTTING_DOWN", "The server is shutting down");
  if (context.closing) throw shuttingDown();
  const handle = await context.registry.get(database, signal);
  // The store owns the handle from here: it releases it when the open fails.
  const session = await context.store.open(handle.database, handle, ANONYMOUS, handle.database.readOnly, signal, { client });
  if (context.closing) {
    await context.store.close(session);
    throw shuttingDown();
  }
  return session;
}

/** The session store and registry as the protocol's HTTP stream host: every HTTP stream is a session of `client`. */
export function httpStreamHost(context: ServerContext, database: string, client: string): HttpStreamHost<Session> {
  const { store } = context;
  return {
    open: (signal) => openSession(context, database, client, signal),
    resume: (baton) => store.resume(baton, database, ANONYMOUS),
    // A one-shot pipeline may run on the database's main-thread connection: no session, nothing kept after it.
    async inline(signal) {
      if (context.closing) return undefined;
      const handle = await context.registry.get(database, signal);
      const lease = await handle.database.pool.inline?.();
      if (lease === undefined || context.closing) return void (await lease?.release(), handle.release());
      if (handle.database.readOnly) await lease.setReadOnly(true);
      return { connection: lease, release: () => lease.release().finally(() => handle.release()) };
    },
    baton: (session) => store.baton(session),
    peekBaton: (session) => store.peekBaton(session),
    close: (session) => store.close(session),
    terminate: (session, reason) => store.terminate(session, reason),
    endedError(session) {
      const error = store.endError(session);
      return error === undefined ? undefined : { message: error.message, code: error.code };
    },
  };
}

/** The session store and registry as the WebSocket state machine's stream host: every stream is a session of `client`. */
export function wsStreamHost(context: ServerContext, database: string, client: string): WsStreamHost<Session> {
  const { store } = context;
  return {
    // Opening may wait 30 s for the database and a connection.
    open: () => openSession(context, database, client, AbortSignal.timeout(30_000)),
    begin: (session) => store.markBusy(session),
    end: (session) => store.markIdle(session),
    close: (session) => store.close(session),
    terminate: (session, reason) => store.terminate(session, reason),
    buffered: context.buffered,
    responseBudget: () => context.responseBudget(),
    toError(error) {
      const answer = toErrorReply(error);
      return { message: answer.message, code: answer.code };
    },
  };
}
