import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { goDuration, type ReplicationConfig } from "./config.js";

/** A database as the replicator sees it: its name (the replica's key) and its file. */
export interface ReplicatedDatabase {
  readonly name: string;
  /** Absolute path of the database file. */
  readonly path: string;
}

/** A failure of the replication machinery, with a message fit for an operator (no stack trace needed). */
export class ReplicationError extends Error {
  override readonly name = "ReplicationError";
}

/**
 * The Litestream binary: `HRANAD_LITESTREAM` when set, otherwise the one installed with the `@flydotio/litestream`
 * package for this platform.
 */
export function litestreamBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.HRANAD_LITESTREAM;
  if (override !== undefined && override !== "") {
    if (!existsSync(override)) throw new ReplicationError(`HRANAD_LITESTREAM names ${override}, which does not exist`);
    return override;
  }
  const platformPackage = `@flydotio/litestream-${process.platform}-${process.arch}`;
  try {
    const fromWrapper = createRequire(createRequire(import.meta.url).resolve("@flydotio/litestream/package.json"));
    return fromWrapper.resolve(`${platformPackage}/litestream`);
  } catch {
    throw new ReplicationError(
      `the litestream binary for ${process.platform}-${process.arch} is not installed (package ${platformPackage}); ` +
        "set HRANAD_LITESTREAM to a litestream v0.3 binary",
    );
  }
}

/** Environment variables the S3 replica reads its endpoint and region from (credentials: the AWS_* variables). */
export function s3Settings(env: NodeJS.ProcessEnv): { endpoint?: string; region?: string } {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  return { ...(endpoint !== undefined ? { endpoint } : {}), ...(region !== undefined ? { region } : {}) };
}

/** Where one database's replica lives, as Litestream's replica settings. */
function replicaFor(config: ReplicationConfig, name: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const common = { name: config.target.kind, "sync-interval": goDuration(config.syncIntervalMs) };
  if (config.target.kind === "file") {
    return { ...common, type: "file", path: `${config.target.path}/${name}` };
  }
  const { endpoint, region } = s3Settings(env);
  return {
    ...common,
    type: "s3",
    bucket: config.target.bucket,
    path: config.target.prefix === "" ? name : `${config.target.prefix}/${name}`,
    ...(endpoint !== undefined ? { endpoint, "force-path-style": true } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}

/**
 * Litestream's configuration file for these databases (JSON, which its YAML reader accepts). Credentials are never
 * written to it: Litestream reads them from the environment it is started with.
 */
export function litestreamConfig(
  config: ReplicationConfig,
  databases: readonly ReplicatedDatabase[],
  options: { readonly metricsAddress?: string; readonly env?: NodeJS.ProcessEnv } = {},
): string {
  const env = options.env ?? process.env;
  const document = {
    ...(options.metricsAddress !== undefined ? { addr: options.metricsAddress } : {}),
    dbs: databases.map((db) => ({
      path: db.path,
      // How often Litestream copies new WAL frames aside; the replica then ships them every sync interval.
      "monitor-interval": goDuration(Math.min(1000, config.syncIntervalMs)),
      replicas: [replicaFor(config, db.name, env)],
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Runs a litestream subcommand to completion; rejects with its last error line. */
export function runLitestream(
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ stdout, stderr });
      const lines = `${stderr}\n${stdout}`.split("\n").map((l) => l.trim()).filter((l) => l !== "");
      reject(new ReplicationError(`litestream ${args[0] ?? ""} failed: ${lines.at(-1) ?? error.message}`));
    });
  });
}
