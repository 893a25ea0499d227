/**
 * Runs Hrana stream requests on one driver `Connection`.
 *
 * Three outcomes, never mixed: a `ProtocolError` is thrown (the request itself is malformed: unknown `sql_id`,
 * a condition that does not point backwards, a request the version lacks, a duplicate `store_sql` id); a statement
 * failure becomes a `StreamResult` of type `error` (or a step error inside a batch); anything else is a result.
 */
import { DriverError, isInlineRedirect, type Connection, type RowCursor, type Statement, type StatementResult } from "@hranad/driver";
import { ResponseBoundError, stmtResultBytes, type ResponseBudget, type RoomBound } from "./budget.js";
import { toHranaError } from "./hrana-error.js";
import type {
  Batch,
  BatchCond,
  BatchResult,
  CloseSqlStreamReq,
  CursorEntry,
  DescribeResult,
  ExecuteStreamReq,
  HranaError,
  ProtocolVersion,
  Stmt,
  StmtResult,
  StoreSqlStreamReq,
  StreamRequest,
  StreamResponse,
  StreamResult,
} from "./messages.js";
import { MAX_CONDITION_DEPTH, ProtocolError } from "./protocol-error.js";
import type { SqlStore } from "./sql-store.js";

export interface ExecutorOptions {
  readonly version: ProtocolVersion;
  /** How many SQL texts the store may hold: HTTP 50 (per stream), WebSocket 150 (per connection). */
  readonly maxStoredSql: number;
  /** Largest storable SQL text in UTF-8 bytes (HTTP: 5000); no limit when absent. */
  readonly maxStoredSqlLength?: number;
  /** Rows fetched from the driver per round trip by `cursorEntries`. Default 256. */
  readonly cursorChunkRows?: number;
  /**
   * Bytes a cursor chunk fetched from the driver may hold (at least one row is always fetched). Default 1 MiB: a
   * cursor holds at most this plus one row, whatever its rows weigh.
   */
  readonly cursorChunkBytes?: number;
  /**
   * The response this request's results belong to: each statement may return only as many bytes as the budget has
   * room for, and what it returns is charged to it. Past the room, the statement fails with `RESPONSE_TOO_LARGE`
   * (or `SERVER_OVERLOADED` when the server-wide pool is what is short). Without one, only the driver's
   * per-statement bound applies.
   */
  readonly budget?: ResponseBudget;
  /** Called with every error that is reported to the client only as `INTERNAL` (for logging). */
  readonly onInternalError?: (error: unknown) => void;
}

const DEFAULT_CURSOR_CHUNK_ROWS = 256;
const DEFAULT_CURSOR_CHUNK_BYTES = 1024 * 1024;

/** A batch whose SQL texts are resolved and whose conditions are validated. */
export interface PreparedBatch {
  readonly steps: readonly PreparedStep[];
}

export interface PreparedStep {
  readonly condition: BatchCond | null;
  readonly statement: Statement;
}

/**
 * Runs one stream request. `close` is answered without touching the connection: closing the stream is the
 * caller's job. Rejects only with `ProtocolError` (or whatever `SqlStore` itself throws).
 */
export async function executeStreamRequest(
  conn: Connection,
  store: SqlStore,
  request: StreamRequest,
  options: ExecutorOptions,
): Promise<StreamResult> {
  switch (request.type) {
    case "close":
      return ok({ type: "close" });
    case "execute":
      return executeStmt(conn, store, request, options);
    case "batch":
      return ok({ type: "batch", result: await executeBatch(conn, store, request.batch, options) });
    case "sequence": {
      requireVersion(options.version, 2, "The `sequence` request");
      const sql = resolveSql(store, request.sql, request.sqlId, options.version);
      try {
        await conn.executeScript(sql);
        return ok({ type: "sequence" });
      } catch (error) {
        return failure(error, options);
      }
    }
    case "describe": {
      requireVersion(options.version, 2, "The `describe` request");
      const sql = resolveSql(store, request.sql, request.sqlId, options.version);
      try {
        const described = await conn.describe(sql);
        const result: DescribeResult = {
          params: described.params.map((name) => ({ name })),
          cols: described.columns,
          isExplain: described.explain !== 0,
          isReadonly: described.readonly,
        };
        return ok({ type: "describe", result });
      } catch (error) {
        return failure(error, options);
      }
    }
    case "store_sql":
      return executeStoreSql(store, request, options);
    case "close_sql":
      return executeCloseSql(store, request, options);
    case "get_autocommit": {
      requireVersion(options.version, 3, "The `get_autocommit` request");
      try {
        return ok({ type: "get_autocommit", isAutocommit: await conn.isAutocommit() });
      } catch (error) {
        return failure(error, options);
      }
    }
    default:
      throw new ProtocolError("PROTO_UNKNOWN_TYPE", `unknown stream request type ${JSON.stringify((request as { type: unknown }).type)}`);
  }
}

async function executeStmt(conn: Connection, store: SqlStore, request: ExecuteStreamReq, options: ExecutorOptions): Promise<StreamResult> {
  const statement = prepareStmt(store, request.stmt, options.version);
  try {
    return ok({ type: "execute", result: await runBudgeted(conn, statement, options.budget) });
  } catch (error) {
    return failure(error, options);
  }
}

/**
 * Executes one statement within the room its response has left, and charges what it returned. A statement that
 * returns no rows always fits; one whose rows do not fails inside the driver before they are all collected.
 */
async function runBudgeted(conn: Connection, statement: Statement, budget: ResponseBudget | undefined): Promise<StmtResult> {
  if (budget === undefined) return toStmtResult(await conn.execute(statement), statement);
  const room = budget.room();
  // The driver's bound is exclusive of nothing: 0 would mean "no limit", so an exhausted budget still passes 1.
  const bounded: Statement = { ...statement, maxResultBytes: Math.max(1, Math.floor(room.bytes)) };
  let result: StmtResult;
  try {
    result = toStmtResult(await conn.execute(bounded), statement);
  } catch (error) {
    throw overBudget(error, room.bound);
  }
  budget.charge(stmtResultBytes(result));
  return result;
}

/** A RESPONSE_TOO_LARGE caused by the response's or the server's bound, said as such. */
function overBudget(error: unknown, bound: RoomBound): unknown {
  if (!(error instanceof DriverError) || error.code !== "RESPONSE_TOO_LARGE" || bound === "statement") return error;
  if (bound === "server") {
    return new ResponseBoundError(
      "SERVER_OVERLOADED",
      "The server holds too many results in memory right now (limits.maxBufferedBytes): retry later",
    );
  }
  return new ResponseBoundError(
    "RESPONSE_TOO_LARGE",
    "The response is larger than limits.maxResponseBytes: fewer statements per request, a LIMIT, or a cursor",
  );
}

/**
 * `store_sql`: a duplicate id is a protocol error; the count and size limits are per-request errors
 * (`SQL_STORE_TOO_MANY`, `SQL_STORE_TOO_LARGE`), as in sqld. Needs no connection (WebSocket stores are
 * connection-scoped).
 */
export function executeStoreSql(store: SqlStore, request: StoreSqlStreamReq, options: ExecutorOptions): StreamResult {
  requireVersion(options.version, 2, "The `store_sql` request");
  if (store.lookupSql(request.sqlId) !== undefined) {
    throw new ProtocolError("PROTO_SQL_EXISTS", `SQL text ${request.sqlId} is already stored (close it with close_sql first)`);
  }
  if (store.sqlCount >= options.maxStoredSql) {
    return {
      type: "error",
      error: {
        message: `The server already stores ${store.sqlCount} SQL texts, it cannot store more`,
        code: "SQL_STORE_TOO_MANY",
      },
    };
  }
  if (options.maxStoredSqlLength !== undefined) {
    const size = Buffer.byteLength(request.sql, "utf8");
    if (size > options.maxStoredSqlLength) {
      return {
        type: "error",
        error: {
          message: `The statement is too large to be stored: ${size} bytes, the limit is ${options.maxStoredSqlLength}`,
          code: "SQL_STORE_TOO_LARGE",
        },
      };
    }
  }
  const refused = store.admit?.(request.sql);
  if (refused !== undefined) return { type: "error", error: refused };
  store.storeSql(request.sqlId, request.sql);
  return ok({ type: "store_sql" });
}

/** `close_sql`: closing an id that is not stored is fine. */
export function executeCloseSql(store: SqlStore, request: CloseSqlStreamReq, options: ExecutorOptions): StreamResult {
  requireVersion(options.version, 2, "The `close_sql` request");
  store.dropSql(request.sqlId);
  return ok({ type: "close_sql" });
}

/**
 * Runs a batch: steps in order, each condition evaluated when its step is reached (`is_autocommit` reads the
 * connection's state after the previous steps), no implicit transaction. A skipped step is `null` in both arrays;
 * a failed step fills its error slot and the batch goes on.
 */
export async function executeBatch(conn: Connection, store: SqlStore, batch: Batch, options: ExecutorOptions): Promise<BatchResult> {
  const { steps } = prepareBatch(store, batch, options.version);
  const count = steps.length;
  const stepResults = new Array<StmtResult | null>(count).fill(null);
  const stepErrors = new Array<HranaError | null>(count).fill(null);
  const outcomes = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const step = steps[i] as PreparedStep;
    if (step.condition !== null && !evaluate(step.condition, outcomes, conn)) continue;
    try {
      stepResults[i] = await runBudgeted(conn, step.statement, options.budget);
      outcomes[i] = OK;
    } catch (error) {
      if (error instanceof ProtocolError || isInlineRedirect(error)) throw error;
      stepErrors[i] = toHranaError(error, options.onInternalError);
      outcomes[i] = FAILED;
    }
  }
  return { stepResults, stepErrors };
}

/**
 * Runs a batch through driver cursors and yields its entries one by one (`step_begin`, `row`…, `step_end` or
 * `step_error`; skipped steps yield nothing), holding at most one chunk of rows in memory. Validation happens
 * at the call, so a malformed batch throws `ProtocolError` before anything is sent. Stopping the iteration early
 * closes the open driver cursor. Hrana 3 only.
 */
export function cursorEntries(conn: Connection, store: SqlStore, batch: Batch, options: ExecutorOptions): AsyncIterable<CursorEntry> {
  requireVersion(options.version, 3, "A cursor");
  const prepared = prepareBatch(store, batch, options.version);
  return runCursor(conn, prepared, options);
}

async function* runCursor(conn: Connection, batch: PreparedBatch, options: ExecutorOptions): AsyncGenerator<CursorEntry> {
  const chunkRows = options.cursorChunkRows ?? DEFAULT_CURSOR_CHUNK_ROWS;
  const chunkBytes = options.cursorChunkBytes ?? DEFAULT_CURSOR_CHUNK_BYTES;
  const outcomes = new Uint8Array(batch.steps.length);
  try {
    for (let step = 0; step < batch.steps.length; step++) {
      const { condition, statement } = batch.steps[step] as PreparedStep;
      if (condition !== null && !evaluate(condition, outcomes, conn)) continue;

      let cursor: RowCursor;
      try {
        cursor = await conn.openCursor(statement);
      } catch (error) {
        outcomes[step] = FAILED;
        yield { type: "step_error", step, error: toHranaError(error, options.onInternalError) };
        continue;
      }

      try {
        yield { type: "step_begin", step, cols: cursor.columns };
        const wantRows = statement.wantRows !== false;
        for (;;) {
          const { rows, done } = await cursor.next(chunkRows, chunkBytes);
          if (wantRows) for (const row of rows) yield { type: "row", row };
          if (done) break;
        }
        outcomes[step] = OK;
        yield { type: "step_end", affectedRowCount: cursor.affectedRowCount, lastInsertRowid: cursor.lastInsertRowid };
      } catch (error) {
        outcomes[step] = FAILED;
        yield { type: "step_error", step, error: toHranaError(error, options.onInternalError) };
      } finally {
        await cursor.close().catch((error: unknown) => options.onInternalError?.(error));
      }
    }
  } catch (error) {
    // Outside any step (e.g. the connection vanished between steps): the whole batch failed; always the last entry.
    yield { type: "error", error: toHranaError(error, options.onInternalError) };
  }
}

/**
 * Resolves every step's SQL text and validates its condition: references must point to earlier steps,
 * `is_autocommit` needs Hrana 3, nesting is bounded. Throws `ProtocolError`.
 */
export function prepareBatch(store: SqlStore, batch: Batch, version: ProtocolVersion): PreparedBatch {
  const steps: PreparedStep[] = new Array<PreparedStep>(batch.steps.length);
  for (let i = 0; i < batch.steps.length; i++) {
    const step = batch.steps[i];
    if (step === undefined) throw new ProtocolError("PROTO_BAD_REQUEST", `batch step ${i} is missing`);
    const condition = step.condition ?? null;
    if (condition !== null) validateCondition(condition, i, version, 1);
    steps[i] = { condition, statement: prepareStmt(store, step.stmt, version) };
  }
  return { steps };
}

/** Turns a Hrana `Stmt` into a driver `Statement`, resolving `sql_id`. Throws `ProtocolError`. */
export function prepareStmt(store: SqlStore, stmt: Stmt, version: ProtocolVersion): Statement {
  return {
    sql: resolveSql(store, stmt.sql, stmt.sqlId, version),
    args: stmt.args ?? [],
    namedArgs: stmt.namedArgs ?? [],
    wantRows: stmt.wantRows ?? true,
  };
}

/**
 * Returns a copy of `request` whose statements carry their SQL text instead of a `sql_id`. Over WebSocket the
 * stored texts are connection-scoped and a later `close_sql` may overtake a request queued on a stream, so the
 * server resolves ids when a request arrives (as sqld does) and executes the inlined copy later.
 */
export function inlineStoredSql<R extends StreamRequest | { readonly type: "open_cursor"; readonly batch: Batch }>(
  store: SqlStore,
  request: R,
  version: ProtocolVersion,
): R {
  switch (request.type) {
    case "execute": {
      const { stmt } = request as ExecuteStreamReq;
      return { ...request, stmt: inlineStmt(store, stmt, version) };
    }
    case "batch":
    case "open_cursor": {
      const { batch } = request as { batch: Batch };
      return { ...request, batch: { steps: batch.steps.map((step) => ({ ...step, stmt: inlineStmt(store, step.stmt, version) })) } };
    }
    case "sequence":
    case "describe": {
      const { sql, sqlId } = request as { sql?: string | null; sqlId?: number | null };
      return { ...request, sql: resolveSql(store, sql, sqlId, version), sqlId: null };
    }
    default:
      return request;
  }
}

function inlineStmt(store: SqlStore, stmt: Stmt, version: ProtocolVersion): Stmt {
  if (stmt.sqlId === null || stmt.sqlId === undefined) {
    resolveSql(store, stmt.sql, stmt.sqlId, version);
    return stmt;
  }
  return { ...stmt, sql: resolveSql(store, stmt.sql, stmt.sqlId, version), sqlId: null };
}

// ---------------------------------------------------------------------------------------------------------------

const OK = 1;
const FAILED = 2;

function evaluate(cond: BatchCond, outcomes: Uint8Array, conn: Connection): boolean {
  switch (cond.type) {
    case "ok":
      return outcomes[cond.step] === OK;
    case "error":
      return outcomes[cond.step] === FAILED;
    case "not":
      return !evaluate(cond.cond, outcomes, conn);
    case "and":
      return cond.conds.every((inner) => evaluate(inner, outcomes, conn));
    case "or":
      return cond.conds.some((inner) => evaluate(inner, outcomes, conn));
    case "is_autocommit":
      return conn.autocommit;
  }
}

function validateCondition(cond: BatchCond, stepIndex: number, version: ProtocolVersion, depth: number): void {
  if (depth > MAX_CONDITION_DEPTH) {
    throw new ProtocolError("PROTO_NESTING_TOO_DEEP", `the condition of step ${stepIndex} nests deeper than ${MAX_CONDITION_DEPTH} levels`);
  }
  switch (cond.type) {
    case "ok":
    case "error":
      if (!Number.isInteger(cond.step) || cond.step < 0 || cond.step >= stepIndex) {
        throw new ProtocolError(
          "PROTO_BATCH_BAD_STEP",
          `the condition of step ${stepIndex} refers to step ${cond.step}; conditions may only refer to earlier steps`,
        );
      }
      return;
    case "not":
      return validateCondition(cond.cond, stepIndex, version, depth + 1);
    case "and":
    case "or":
      for (const inner of cond.conds) validateCondition(inner, stepIndex, version, depth + 1);
      return;
    case "is_autocommit":
      requireVersion(version, 3, "BatchCond of type `is_autocommit`");
      return;
    default:
      throw new ProtocolError("PROTO_UNKNOWN_TYPE", `unknown batch condition type ${JSON.stringify((cond as { type: unknown }).type)}`);
  }
}

function resolveSql(store: SqlStore, sql: string | null | undefined, sqlId: number | null | undefined, version: ProtocolVersion): string {
  const hasSql = sql !== null && sql !== undefined;
  const hasId = sqlId !== null && sqlId !== undefined;
  if (hasSql && hasId) throw new ProtocolError("PROTO_BAD_REQUEST", "`sql` and `sql_id` must not both be given");
  if (hasSql) return sql;
  if (!hasId) throw new ProtocolError("PROTO_BAD_REQUEST", "one of `sql` and `sql_id` is required");
  requireVersion(version, 2, "`sql_id`");
  const stored = store.lookupSql(sqlId);
  if (stored === undefined) throw new ProtocolError("PROTO_SQL_NOT_FOUND", `SQL text ${sqlId} is not stored (sql_id)`);
  return stored;
}

function toStmtResult(result: StatementResult, statement: Statement): StmtResult {
  return {
    cols: result.columns,
    rows: statement.wantRows === false ? [] : result.rows,
    affectedRowCount: result.affectedRowCount,
    lastInsertRowid: result.lastInsertRowid,
  };
}

function ok(response: StreamResponse): StreamResult {
  return { type: "ok", response };
}

function failure(error: unknown, options: ExecutorOptions): StreamResult {
  // An inline unit to be re-run on a worker is the pipeline's business, never a result.
  if (error instanceof ProtocolError || isInlineRedirect(error)) throw error;
  return { type: "error", error: toHranaError(error, options.onInternalError) };
}

function requireVersion(version: ProtocolVersion, minimum: 2 | 3, what: string): void {
  if (version < minimum) {
    throw new ProtocolError("PROTO_NOT_SUPPORTED", `${what} is only supported in protocol version ${minimum} and higher`);
  }
}
