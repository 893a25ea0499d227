/**
 * The libsql engine: runs inside a worker thread, one connection per worker. libsql 0.5 has sharp edges that this
 * file works around (see docs/drivers.md): it ignores `readonly` (a `mode=ro` URI is used), creates missing files
 * (checked first, and a `mode=rw` URI), binds a prefixed key as NULL (everything is bound positionally), reports
 * `lastInsertRowid` as a Number (the engine asks SQLite when it is not exact), truncates text at NUL (refused), and
 * cannot reset an unfinished iterator (interrupted instead).
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import Database from "libsql";
import { extensionPath } from "@hranad/sqlite-guard";
import {
  DriverError,
  openGuardedConnection,
  type Bindings,
  type EngineConnection,
  type EngineOpenOptions,
  type NativeAdapter,
  type NativeDatabase,
  type NativeRows,
  type NativeRunResult,
  type NativeStatement,
} from "@hranad/driver/engine";
import type { Column, OpenMode, Value } from "@hranad/driver";

type LibsqlDatabase = InstanceType<typeof Database>;

/**
 * libsql never resets a finished EXPLAIN statement (better-sqlite3 does): it stays "in progress" (COMMIT fails,
 * interrupts stick) until the statement is garbage-collected. This engine runs in its own worker, so it may force
 * a collection after an EXPLAIN; the host then waits one turn of the event loop for the finalizers.
 */
function loadCollector(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
const collectGarbage = loadCollector();
type LibsqlStatement = ReturnType<LibsqlDatabase["prepare"]>;

interface LibsqlColumn {
  readonly name: string;
  readonly type: string | null;
}

interface LibsqlRunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** The iterator libsql returns: no `return()`, so an unfinished one cannot be reset directly. */
interface LibsqlIterator {
  next(): { done?: boolean; value?: unknown };
}

/** libsql binds an array by index (1..n), named parameters included: the only form without surprises. */
function toArgs(bindings: Bindings): Value[] {
  return bindings.values as Value[];
}

class LibsqlNativeStatement implements NativeStatement {
  readonly #db: LibsqlDatabase;
  readonly #statement: LibsqlStatement;
  readonly reader: boolean;

  constructor(db: LibsqlDatabase, statement: LibsqlStatement) {
    this.#db = db;
    this.#statement = statement;
    this.reader = statement.reader;
    if (this.reader) statement.raw(true);
  }

  columns(): Column[] {
    return (this.#statement.columns() as LibsqlColumn[]).map((c) => ({ name: c.name, decltype: c.type ?? null }));
  }

  run(bindings: Bindings): NativeRunResult {
    const result = this.#statement.run(toArgs(bindings)) as LibsqlRunResult;
    const rowid = result.lastInsertRowid;
    // A Number above 2^53 is not exact: null makes the engine read last_insert_rowid() as a bigint.
    const exact = typeof rowid === "bigint" ? rowid : Number.isSafeInteger(rowid) ? BigInt(rowid) : null;
    return { changes: result.changes, lastInsertRowid: exact };
  }

  all(bindings: Bindings): Value[][] {
    return this.#statement.all(toArgs(bindings)) as Value[][];
  }

  iterate(bindings: Bindings): NativeRows {
    const iterator = this.#statement.iterate(toArgs(bindings)) as unknown as LibsqlIterator;
    let finished = false;
    return {
      next: () => {
        if (finished) return undefined;
        try {
          const step = iterator.next();
          if (step.done) {
            finished = true;
            return undefined;
          }
          return step.value as Value[];
        } catch (error) {
          finished = true;
          throw error;
        }
      },
      close: () => {
        if (finished) return;
        finished = true;
        // libsql keeps an unfinished statement (and its read snapshot) until GC: interrupt the connection and
        // step until the error, which resets the statement. Rows already fetched (up to 100) come first.
        (this.#db as unknown as { interrupt(): void }).interrupt();
        for (let i = 0; i <= 101; i += 1) {
          try {
            if (iterator.next().done) break;
          } catch {
            break;
          }
        }
      },
    };
  }
}

class LibsqlNativeDatabase implements NativeDatabase {
  readonly #db: LibsqlDatabase;
  #explainRan = false;

  constructor(db: LibsqlDatabase) {
    this.#db = db;
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  loadExtension(path: string): void {
    // No entry point argument: libsql 0.5 panics when given one.
    this.#db.loadExtension(path);
  }

  prepare(sql: string, explain: boolean): NativeStatement {
    if (explain) this.#explainRan = true;
    return new LibsqlNativeStatement(this.#db, this.#db.prepare(sql));
  }

  settle(): Promise<void> | undefined {
    if (!this.#explainRan || !collectGarbage) return undefined;
    this.#explainRan = false;
    collectGarbage();
    return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  close(): void {
    this.#db.close();
  }
}

const URI_MODES: Record<OpenMode, string> = { create: "rwc", readwrite: "rw", readonly: "ro" };

const adapter: NativeAdapter = {
  open(path: string, mode: OpenMode): NativeDatabase {
    const memory = path === ":memory:";
    if (!memory && mode !== "create" && !existsSync(path)) {
      throw new DriverError("OPEN_FAILED", "The database file does not exist");
    }
    const target = memory ? path : `${pathToFileURL(path).href}?mode=${URI_MODES[mode]}`;
    const db = new Database(target);
    db.defaultSafeIntegers(true);
    return new LibsqlNativeDatabase(db);
  },
  checkValue(value: Value, where: string): void {
    if (typeof value === "string" && value.includes("\u0000")) {
      throw new DriverError("ARGS_INVALID", `${where}: libsql cannot bind text that contains a NUL character`);
    }
  },
};

/** Opens one libsql connection with the engine guard loaded (called by the worker host). */
export function open(options: EngineOpenOptions): EngineConnection {
  return openGuardedConnection(adapter, extensionPath, options);
}
