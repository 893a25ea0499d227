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
}
