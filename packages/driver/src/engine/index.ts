/**
 * `@hranad/driver/engine`: what runs inside a worker. A driver package implements `NativeAdapter` for its SQLite
 * binding and exports `open(options)` built with `openGuardedConnection`.
 */
export type { Bindings, NativeAdapter, NativeDatabase, NativeRows, NativeRunResult, NativeStatement } from "./native.js";
export type { CursorChunk, EngineConnection, EngineCursor, EngineModule, EngineOpenOptions } from "./types.js";
export { openGuardedConnection } from "./guarded-connection.js";
export { normalizeError, scrubPath } from "./errors.js";
export { GUARD_SQL, parseGuardDescription, type GuardDescription } from "./guard.js";
export { resolveArguments } from "../binding.js";
export { statementKind, type StatementKind } from "../statement-kind.js";
export { checkValue } from "../values.js";
export { LruCache } from "../lru-cache.js";
export { DriverError, SqliteError } from "../errors.js";
