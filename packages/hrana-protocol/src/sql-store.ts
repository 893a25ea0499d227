import type { ByteBudget } from "./budget.js";
import type { HranaError } from "./messages.js";
import { ProtocolError } from "./protocol-error.js";

/** Where stored SQL texts (`store_sql`) live: per HTTP stream, or per WebSocket connection. */
export interface SqlStore {
  storeSql(id: number, sql: string): void;
  lookupSql(id: number): string | undefined;
  dropSql(id: number): void;
  readonly sqlCount: number;
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
 * A bounded `SqlStore` (a WebSocket connection's): at most `maxCount` texts and `maxBytes` UTF-8 bytes, held in the
 * server's memory pool while stored. `tryStore` applies the limits the way `store_sql` answers them.
 */
export class SizedSqlStore extends MapSqlStore {
  #bytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
    readonly pool?: ByteBudget,
  ) {
    super();
  }

  /** UTF-8 bytes stored. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores a text, or says why not (`SQL_STORE_TOO_MANY`, `SQL_STORE_TOO_LARGE`, `SERVER_OVERLOADED`). A duplicate
   * id is a protocol error (`PROTO_SQL_EXISTS`).
   */
  tryStore(id: number, sql: string): HranaError | undefined {
    if (this.lookupSql(id) !== undefined) {
      throw new ProtocolError("PROTO_SQL_EXISTS", `SQL text ${id} is already stored (close it with close_sql first)`);
    }
    if (this.sqlCount >= this.maxCount) {
      return { message: `At most ${this.maxCount} SQL texts can be stored on one connection`, code: "SQL_STORE_TOO_MANY" };
    }
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
    this.storeSql(id, sql);
    return undefined;
  }

  /** Stores a text without the limit checks (the caller checked them), still accounting its bytes. */
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
