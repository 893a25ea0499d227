import type { ByteBudget } from "./budget.js";
import type { HranaError } from "./messages.js";

/** Where stored SQL texts (`store_sql`) live: per HTTP stream, or per WebSocket connection. */
export interface SqlStore {
  storeSql(id: number, sql: string): void;
  lookupSql(id: number): string | undefined;
  dropSql(id: number): void;
  readonly sqlCount: number;
  /** A store with bounds of its own says why it cannot take this text (checked by `executeStoreSql`). */
  admit?(sql: string): HranaError | undefined;
}

/** sqld's limits: an HTTP stream stores at most 50 texts of at most 5000 bytes; a WebSocket connection 150. */
export const HTTP_MAX_STORED_SQL = 50;
export const HTTP_MAX_STORED_SQL_LENGTH = 5000;
export const WS_MAX_STORED_SQL = 150;

/** A `SqlStore` on a `Map`. */
export class MapSqlStore implements SqlStore {
  readonly #texts = new Map<number, string>();

  storeSql(id: number, sql: string): void {
    this.#texts.set(id, sql);
  }

  lookupSql(id: number): string | undefined {
    return this.#texts.get(id);
  }

  dropSql(id: number): void {
    this.#texts.delete(id);
  }

  get sqlCount(): number {
    return this.#texts.size;
  }

  /** Drops every text. */
  clear(): void {
    this.#texts.clear();
  }
}

/**
 * A `SqlStore` bounded in bytes (a WebSocket connection's): at most `maxBytes` UTF-8 bytes of text, held in the
 * server's memory pool while stored. `executeStoreSql` asks it to `admit` a text after its own count checks.
 */
export class SizedSqlStore extends MapSqlStore {
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly pool?: ByteBudget,
  ) {
    super();
  }

  /** UTF-8 bytes stored. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Refuses a text past the connection's byte bound or while the server's pool has no room for it. */
  admit(sql: string): HranaError | undefined {
    const bytes = Buffer.byteLength(sql, "utf8");
    if (this.#bytes + bytes > this.maxBytes) {
      return {
        message: `The SQL texts stored on this connection would take ${this.#bytes + bytes} bytes; the limit is ${this.maxBytes} (limits.maxSocketSqlBytes)`,
        code: "SQL_STORE_TOO_LARGE",
      };
    }
    if (this.pool !== undefined && this.pool.available < bytes) {
      return { message: "The server holds too much in memory right now (limits.maxBufferedBytes): retry later", code: "SERVER_OVERLOADED" };
    }
    return undefined;
  }

  /** Stores a text (`admit` said yes), accounting its bytes. */
  override storeSql(id: number, sql: string): void {
    this.dropSql(id);
    const bytes = Buffer.byteLength(sql, "utf8");
    super.storeSql(id, sql);
    this.#bytes += bytes;
    this.pool?.take(bytes);
  }

  override dropSql(id: number): void {
    const sql = this.lookupSql(id);
    if (sql === undefined) return;
    const bytes = Buffer.byteLength(sql, "utf8");
    super.dropSql(id);
    this.#bytes -= bytes;
    this.pool?.give(bytes);
  }

  /** Drops every text (the connection is gone), giving their bytes back to the pool. */
  override clear(): void {
    this.pool?.give(this.#bytes);
    this.#bytes = 0;
    super.clear();
  }
}
