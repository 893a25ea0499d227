export { Registry } from "./registry.js";
export type {
  RegistryOptions,
  Database,
  DatabaseHandle,
  DatabaseState,
  DatabaseStats,
  RegistryStats,
  DetachOptions,
} from "./registry.js";
export type { DatabaseConfig, DatabaseOpenOptions } from "./config.js";
export { resolveDatabasePath } from "./config.js";
export { RegistryError, isRegistryError } from "./registry-error.js";
export type { RegistryErrorCode } from "./registry-error.js";
export { WalGuard, type WalGuardLogger } from "./wal-guard.js";
