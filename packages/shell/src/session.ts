import { LibsqlError, type Client, type InStatement, type ResultSet, type Transaction, type TransactionMode } from "@libsql/client";

/** What a failed statement means for the exit code: an SQL error (1) or a connection or server error (2). */
export type FailureKind = "sql" | "connection";

export class ShellError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
    this.name = "ShellError";
  }
}

/** Codes of @libsql/client errors that are about reaching the server, not about the SQL. */
const CONNECTION_CODES = new Set([
  "URL_INVALID",
  "URL_SCHEME_NOT_SUPPORTED",
  "URL_PARAM_NOT_SUPPORTED",
  "WEBSOCKETS_NOT_SUPPORTED",
  "HRANA_WEBSOCKET_ERROR",
  "HRANA_CLOSED_ERROR",
  "HRANA_PROTO_ERROR",
  "SERVER_ERROR",
  "PROTOCOL_VERSION_ERROR",
  "HTTP_ERROR",
]);

function rootMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let cause: unknown = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 4; depth += 1) {
    // fetch's "fetch failed" hides the reason (ECONNREFUSED…) in its cause
    if (cause.message && !message.includes(cause.message)) message = `${message}: ${cause.message}`;
    cause = cause.cause;
  }
  return message;
}

/** Turns anything a call threw into a one-line message and its kind (never a stack trace). */
export function describeError(error: unknown): ShellError {
  if (error instanceof ShellError) return error;
  if (error instanceof LibsqlError) {
    const kind: FailureKind = CONNECTION_CODES.has(error.code) ? "connection" : "sql";
    // a transaction's errors repeat their code ("SQLITE_ERROR: SQLITE_ERROR: no such table: t")
    const message = rootMessage(error).replace(/^([A-Z_]+): \1: /, "$1: ");
    return new ShellError(message.startsWith(error.code) ? message : `${error.code}: ${message}`, kind);
  }
  return new ShellError(rootMessage(error), "connection");
}

/** The first keywords of a statement, upper-cased (`BEGIN IMMEDIATE TRANSACTION` → ["BEGIN", "IMMEDIATE", …]). */
function keywords(sql: string): string[] {
  return sql
    .replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, "")
    .split(/[^A-Za-z_]+/, 3)
    .map((w) => w.toUpperCase());
}

/**
 * Runs statements on one client the way a user expects from a shell: every statement in autocommit, except between
 * `BEGIN` and `COMMIT`/`END`/`ROLLBACK`, which run on one interactive transaction (@libsql/client runs each
 * `execute` on its own stream, so a bare `BEGIN` would otherwise end with its stream).
 */
export class Session {
  #tx: Transaction | null = null;

  constructor(readonly client: Client) {}

  get inTransaction(): boolean {
    return this.#tx !== null;
  }

  async begin(mode: TransactionMode): Promise<void> {
    if (this.#tx) throw new ShellError("SQLITE_ERROR: cannot start a transaction within a transaction", "sql");
    this.#tx = await this.client.transaction(mode);
  }

  async commit(): Promise<void> {
    const tx = this.#take();
    try {
      await tx.commit();
    } finally {
      tx.close();
    }
  }

  async rollback(): Promise<void> {
    const tx = this.#tx;
    this.#tx = null;
    if (!tx) return;
    try {
      await tx.rollback();
    } catch {
      // the stream is gone (it was rolled back with it)
    } finally {
      tx.close();
    }
  }

  /** Runs one statement; `BEGIN`, `COMMIT`, `END` and `ROLLBACK` drive the session's transaction. */
  async execute(statement: InStatement): Promise<ResultSet | null> {
    const [first, second] = keywords(typeof statement === "string" ? statement : statement.sql);
    if (first === "BEGIN") {
      await this.begin(second === "IMMEDIATE" || second === "EXCLUSIVE" ? "write" : "deferred");
      return null;
    }
    if (first === "COMMIT" || first === "END") {
      await this.commit();
      return null;
    }
    if (first === "ROLLBACK" && second !== "TO") {
      if (!this.#tx) throw new ShellError("SQLITE_ERROR: cannot rollback - no transaction is active", "sql");
      await this.rollback();
      return null;
    }
    if (this.#tx) {
      try {
        return await this.#tx.execute(statement);
      } catch (error) {
        const failure = describeError(error);
        // a transaction whose stream the server ended cannot go on
        if (failure.kind === "connection" || this.#tx.closed) await this.rollback();
        throw failure;
      }
    }
    return this.client.execute(statement);
  }

  #take(): Transaction {
    const tx = this.#tx;
    if (!tx) throw new ShellError("SQLITE_ERROR: cannot commit - no transaction is active", "sql");
    this.#tx = null;
    return tx;
  }

  async close(): Promise<void> {
    await this.rollback();
    this.client.close();
  }
}
