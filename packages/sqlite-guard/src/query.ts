/** A SQL argument the guard helpers bind. */
export type GuardArgument = string | number | bigint | null;

/**
 * Runs one SQL statement on the guarded connection and returns the first column of its first row. Every helper of
 * this package takes one, so that any synchronous driver (inside its worker thread) can reuse them.
 */
export type QueryOne = (sql: string, ...args: GuardArgument[]) => unknown;

/** The smallest synchronous database shape the helpers need: better-sqlite3 and libsql both fit. */
export interface GuardableDatabase {
  prepare(sql: string): { get(...args: never[]): unknown };
}

/**
 * Adapts a synchronous database to `QueryOne`. The helpers alias their single result column `value`, and rows may
 * be arrays (raw mode) or objects (libsql adds a `_metadata` key).
 */
export function queryOneFrom(db: GuardableDatabase): QueryOne {
  return (sql, ...args) => {
    const statement = db.prepare(sql) as { get(...args: GuardArgument[]): unknown };
    return firstValue(statement.get(...args));
  };
}

function firstValue(row: unknown): unknown {
  if (Array.isArray(row)) return row[0];
  if (typeof row === "object" && row !== null) {
    const record = row as Record<string, unknown>;
    if ("value" in record) return record.value;
    const key = Object.keys(record).find((name) => name !== "_metadata");
    return key === undefined ? undefined : record[key];
  }
  return row;
}
