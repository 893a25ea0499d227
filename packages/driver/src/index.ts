export type * from "./types.js";
export { DriverError, SqliteError, isDriverError, type DriverErrorCode } from "./errors.js";
