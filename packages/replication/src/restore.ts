import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ReplicationConfig } from "./config.js";
import { litestreamBinary, litestreamConfig, ReplicationError, runLitestream, type ReplicatedDatabase } from "./litestream.js";
import { integrityCheck } from "./sqlite-files.js";

export interface RestoreOptions {
  readonly config: ReplicationConfig;
  /** The databases to restore, each at the path it gets in the data directory. */
  readonly databases: readonly ReplicatedDatabase[];
  /** Restore the state as of this time instead of the latest. */
  readonly timestamp?: Date;
  readonly binary?: string;
  /** S3 endpoint, region and credentials. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RestoreResult {
  readonly name: string;
  readonly path: string;
  /** `restored` (and `integrity_check` passed) or `no-replica` (nothing was ever replicated for it). */
  readonly outcome: "restored" | "no-replica";
}

/**
 * Restores databases from their replicas into their paths. Refuses (before restoring any) when a target file, or its
 * `-wal`, already exists. Each database is restored to a temporary name, checked with `integrity_check`, and only
 * then renamed into place, so a failed restore leaves no file behind. Throws `ReplicationError`.
 */
export async function restoreDatabases(options: RestoreOptions): Promise<RestoreResult[]> {
  const env = options.env ?? process.env;
  const binary = options.binary ?? litestreamBinary(env);
  for (const db of options.databases) {
    for (const file of [db.path, `${db.path}-wal`]) {
      if (existsSync(file)) {
        throw new ReplicationError(`database "${db.name}": ${file} already exists; restore never overwrites a database`);
      }
    }
  }
  const work = mkdtempSync(join(tmpdir(), "hranad-restore-"));
  try {
    const configFile = join(work, "litestream.yml");
    writeFileSync(configFile, litestreamConfig(options.config, options.databases, { env }), { mode: 0o600 });
    const results: RestoreResult[] = [];
    for (const db of options.databases) {
      mkdirSync(dirname(db.path), { recursive: true });
      const partial = `${db.path}.restoring`;
      rmSync(partial, { force: true });
      const args = ["restore", "-config", configFile, "-if-replica-exists", "-o", partial];
      if (options.timestamp !== undefined) args.push("-timestamp", options.timestamp.toISOString());
      args.push(db.path);
      try {
        await runLitestream(binary, args, env);
        if (!existsSync(partial)) {
          results.push({ name: db.name, path: db.path, outcome: "no-replica" });
          continue;
        }
        const problems = await integrityCheck(partial);
        if (problems.length !== 1 || problems[0] !== "ok") {
          throw new ReplicationError(`database "${db.name}": the restored file fails integrity_check: ${problems.slice(0, 3).join("; ")}`);
        }
        renameSync(partial, db.path);
        results.push({ name: db.name, path: db.path, outcome: "restored" });
      } catch (error) {
        rmSync(partial, { force: true });
        if (error instanceof ReplicationError) {
          throw new ReplicationError(error.message.startsWith("database ") ? error.message : `database "${db.name}": ${error.message}`);
        }
        throw error;
      }
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
