import type { Connection, RowCursor, Statement, StatementResult } from "@hranad/driver";

/**
 * libSQL's `BEGIN TRANSACTION READONLY` (what `@libsql/client` sends for `batch(…, "read")` and
 * `transaction("read")`). Stock SQLite would parse `READONLY` as a transaction name and allow writes, so the
 * server runs `BEGIN DEFERRED` and switches the engine guard on until the transaction ends.
 */
const BEGIN_READONLY = /^\s*BEGIN\s+(?:DEFERRED\s+)?TRANSACTION\s+READONLY\s*;?\s*$/i;

export function isBeginReadOnly(sql: string): boolean {
  return sql.length < 128 && BEGIN_READONLY.test(sql);
}

/** Per-stream state: whether the guard is on because of a read-only transaction (not because of the stream). */
export interface ReadOnlyTransactionState {
  active: boolean;
}

/**
 * Wraps a stream's connection so that read-only transactions really are read-only. `streamReadOnly` streams keep
 * the guard on for their whole life; the wrapper never switches it off for them.
 */
export function withReadOnlyTransactions(
  connection: Connection,
  state: ReadOnlyTransactionState,
  streamReadOnly: boolean,
): Connection {
  const settle = async (): Promise<void> => {
    // The transaction ended (COMMIT, ROLLBACK, or an error that rolled it back): writes are allowed again.
    if (state.active && connection.autocommit) {
      state.active = false;
      if (!streamReadOnly) await connection.setReadOnly(false);
    }
  };
  const run = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } finally {
      await settle();
    }
  };
  return {
    get id() {
      return connection.id;
    },
    get autocommit() {
      return connection.autocommit;
    },
    get readOnly() {
      return connection.readOnly;
    },
    async execute(statement: Statement): Promise<StatementResult> {
      if (isBeginReadOnly(statement.sql)) {
        const result = await connection.execute({ ...statement, sql: "BEGIN DEFERRED" });
        if (!connection.readOnly) await connection.setReadOnly(true);
        state.active = true;
        return result;
      }
      return run(() => connection.execute(statement));
    },
    executeScript: (sql) => run(() => connection.executeScript(sql)),
    describe: (sql) => connection.describe(sql),
    async openCursor(statement: Statement): Promise<RowCursor> {
      if (isBeginReadOnly(statement.sql)) {
        const cursor = await connection.openCursor({ ...statement, sql: "BEGIN DEFERRED" });
        if (!connection.readOnly) await connection.setReadOnly(true);
        state.active = true;
        return cursor;
      }
      const cursor = await connection.openCursor(statement);
      return {
        get columns() {
          return cursor.columns;
        },
        get affectedRowCount() {
          return cursor.affectedRowCount;
        },
        get lastInsertRowid() {
          return cursor.lastInsertRowid;
        },
        async next(maxRows: number, maxBytes?: number) {
          try {
            const chunk = await cursor.next(maxRows, maxBytes);
            if (chunk.done) await settle();
            return chunk;
          } catch (error) {
            await settle();
            throw error;
          }
        },
        close: () => run(() => cursor.close()),
      };
    },
    isAutocommit: () => connection.isAutocommit(),
    interrupt: () => connection.interrupt(),
    setReadOnly: (on) => connection.setReadOnly(on),
    release: () => connection.release(),
  };
}
