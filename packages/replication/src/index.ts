export {
  parseReplication,
  replicatedNames,
  ReplicationConfigError,
  DEFAULT_SYNC_INTERVAL_MS,
  type ReplicationConfig,
  type ReplicaTarget,
} from "./config.js";
export {
  litestreamBinary,
  litestreamConfig,
  ReplicationError,
  type ReplicatedDatabase,
} from "./litestream.js";
export {
  Replicator,
  type ReplicatorOptions,
  type ReplicatorState,
  type ReplicationStatus,
  type ReplicationLogger,
} from "./replicator.js";
export { type DatabaseLag } from "./lag.js";
export { replicationMetrics } from "./metrics.js";
export { restoreDatabases, type RestoreOptions, type RestoreResult } from "./restore.js";
export { writeSnapshot, takeSnapshot, integrityCheck, type SnapshotFile } from "./sqlite-files.js";
export { restoreCommand, RESTORE_USAGE, type RestoreCommandIo, type RestoreServerConfig } from "./restore-command.js";
