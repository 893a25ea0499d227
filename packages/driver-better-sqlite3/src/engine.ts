/**
 * The better-sqlite3 engine: runs inside a worker thread, one connection per worker. Only the binding-specific
 * parts live here; binding rules, results, cursors and the guard are shared (`@hranad/driver/engine`).
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
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

function sameValue(a: Value | undefined, b: Value): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
  }
  return Object.is(a, b);
}

/**
 * better-sqlite3 binds anonymous parameters (and `?NNN` gaps) from an array in index order, and every named
 * parameter (`:a`, `@a`, `$a`, `?3`) from one object keyed by the name without its first character.
 */
function toArgs(bindings: Bindings): unknown[] {
  const { params, values } = bindings;
  if (values.length === 0) return [];
  const anonymous: Value[] = [];
  let named: Record<string, Value> | undefined;
  for (let i = 0; i < values.length; i += 1) {
    const name = params[i];
    const value = values[i] as Value;
    if (name === null || name === undefined) {
      anonymous.push(value);
      continue;
    }
    named ??= Object.create(null) as Record<string, Value>;
    const key = name.slice(1);
    if (key in named && !sameValue(named[key], value)) {
      throw new DriverError(
        "ARGS_INVALID",
        `better-sqlite3 cannot bind different values to parameters that differ only by their prefix (${name})`,
      );
    }
    named[key] = value;
  }
  return named ? [anonymous, named] : [anonymous];
}

class BetterSqlite3Statement implements NativeStatement {
  readonly #statement: Database.Statement<unknown[], unknown>;
  readonly reader: boolean;

  constructor(statement: Database.Statement<unknown[], unknown>) {
    this.#statement = statement;
    this.reader = statement.reader;
    if (this.reader) statement.raw(true);
  }

  columns(): Column[] {
    return this.#statement.columns().map((c) => ({ name: c.name, decltype: c.type }));
  }

  run(bindings: Bindings): NativeRunResult {
    const result = this.#statement.run(...toArgs(bindings));
    return { changes: result.changes, lastInsertRowid: BigInt(result.lastInsertRowid) };
  }

  all(bindings: Bindings): Value[][] {
    return this.#statement.all(...toArgs(bindings)) as Value[][];
  }

  iterate(bindings: Bindings): NativeRows {
    const iterator = this.#statement.iterate(...toArgs(bindings)) as IterableIterator<Value[]>;
    return {
      next: () => {
        const step = iterator.next();
        return step.done ? undefined : step.value;
      },
      close: () => {
        iterator.return?.();
      },
    };
  }
}

class BetterSqlite3Database implements NativeDatabase {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  loadExtension(path: string): void {
    this.#db.loadExtension(path);
  }

  prepare(sql: string, _explain: boolean): NativeStatement {
    return new BetterSqlite3Statement(this.#db.prepare(sql));
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  close(): void {
    this.#db.close();
  }
}

const adapter: NativeAdapter = {
  open(path: string, mode: OpenMode): NativeDatabase {
    const memory = path === ":memory:";
    if (!memory && mode !== "create" && !existsSync(path)) {
      throw new DriverError("OPEN_FAILED", "The database file does not exist");
    }
    const db = new Database(path, { readonly: mode === "readonly" && !memory, fileMustExist: mode !== "create" });
    db.defaultSafeIntegers(true);
    return new BetterSqlite3Database(db);
  },
};

/** Opens one better-sqlite3 connection with the engine guard loaded (called by the worker host). */
export function open(options: EngineOpenOptions): EngineConnection {
  return openGuardedConnection(adapter, extensionPath, options);
}
