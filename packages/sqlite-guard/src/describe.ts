import { GUARD_FUNCTIONS } from "./extension.js";
import type { QueryOne } from "./query.js";

export interface GuardColumn {
  /** `sqlite3_column_name`. */
  readonly name: string;
  /** `sqlite3_column_decltype`: the declared type, or null for an expression. */
  readonly decltype: string | null;
}

/** What `hranad_describe(sql)` reports about the first statement of `sql`. */
export interface GuardDescription {
  /** One entry per parameter index (index = position + 1): the name with its prefix, or null for a plain `?`. */
  readonly params: readonly (string | null)[];
  readonly columns: readonly GuardColumn[];
  /** `sqlite3_stmt_readonly`. */
  readonly readonly: boolean;
  /** `sqlite3_stmt_isexplain`: 0, 1 for EXPLAIN, 2 for EXPLAIN QUERY PLAN. */
  readonly explain: 0 | 1 | 2;
  /** True when another statement (anything but whitespace, `;` and comments) follows the first one. */
  readonly tail: boolean;
  /** True when `sql` holds no statement at all (only whitespace, `;` and comments). */
  readonly empty: boolean;
}

/**
 * Describes `sql` without running it, on the guarded connection (so with its schema, and under its read-only
 * guard: describing a write while the guard is on fails with SQLITE_AUTH). A statement SQLite cannot prepare
 * throws the driver's error with SQLite's own code and message, e.g. SQLITE_ERROR "no such table: t".
 */
export function describe(query: QueryOne, sql: string): GuardDescription {
  const json = query(`SELECT ${GUARD_FUNCTIONS.describe}(?) AS value`, sql);
  if (typeof json !== "string") throw new Error("sqlite-guard: hranad_describe() returned no text");
  return parseDescription(json);
}

/** Parses and checks the JSON text of `hranad_describe`. */
export function parseDescription(json: string): GuardDescription {
  const value: unknown = JSON.parse(json);
  if (!isRecord(value)) throw malformed("not an object");
  const { params, columns, readonly, explain, tail, empty } = value;
  if (!Array.isArray(params) || !params.every((p) => p === null || typeof p === "string")) {
    throw malformed("params");
  }
  if (!Array.isArray(columns)) throw malformed("columns");
  const parsedColumns = columns.map((column: unknown): GuardColumn => {
    if (!isRecord(column) || typeof column.name !== "string") throw malformed("column name");
    if (column.decltype !== null && typeof column.decltype !== "string") throw malformed("column decltype");
    return { name: column.name, decltype: column.decltype };
  });
  if (typeof readonly !== "boolean") throw malformed("readonly");
  if (explain !== 0 && explain !== 1 && explain !== 2) throw malformed("explain");
  if (typeof tail !== "boolean") throw malformed("tail");
  if (empty !== undefined && typeof empty !== "boolean") throw malformed("empty");
  return {
    params: params as (string | null)[],
    columns: parsedColumns,
    readonly,
    explain,
    tail,
    empty: empty === true,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function malformed(what: string): Error {
  return new Error(`sqlite-guard: malformed hranad_describe() result (${what})`);
}
