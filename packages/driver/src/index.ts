export type * from "./types.js";
export { DriverError, SqliteError, isDriverError, type DriverErrorCode } from "./errors.js";
export { resolveArguments } from "./binding.js";
export { leadingWords, statementKind, type StatementKind } from "./statement-kind.js";
export { checkValue, checkStatement, rowBytes } from "./values.js";
export { sqliteBaseCodeName, sqliteCodeName, sqliteCodeNumber } from "./sqlite-codes.js";
export type { EngineConnection, EngineCursor, EngineModule, EngineOpenOptions, CursorChunk } from "./engine/types.js";
export { InlineRedirect, isInlineRedirect, isTransactionControl } from "./inline-redirect.js";
