import { resolve } from "node:path";
import type { ReplicationConfig } from "./config.js";
import { ReplicationError } from "./litestream.js";
import { restoreDatabases, type RestoreResult } from "./restore.js";
import { replicatedNames } from "./config.js";
import { ConfigError } from "@hranad/settings";

/** What the restore command needs of the server's configuration file. */
export interface RestoreServerConfig {
  readonly dataDir: string;
  readonly databases: readonly { readonly name: string; readonly path?: string }[];
  readonly replication: ReplicationConfig | null;
}

export interface RestoreCommandIo {
  /** Reads and validates the server's configuration file; throws an error whose message is for the operator. */
  loadConfig(file: string): RestoreServerConfig;
  /**
   * Whether an error thrown by `loadConfig` is a configuration error (its message is shown, no stack); a
   * `ConfigError` of `@hranad/settings` always is.
   */
  isConfigError?(error: unknown): boolean;
  out(line: string): void;
  err(line: string): void;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export const RESTORE_USAGE = `Usage: hranad restore --config FILE [--data-dir DIR] [--database NAME] [--timestamp ISO]

Restores databases from their replicas (the configuration's replication: section) into the data directory, checks
each with integrity_check, and never overwrites an existing file. A server started on that directory serves them.

Options:
  --config FILE       the server's YAML configuration file (required)
  --data-dir DIR      where to restore (default: the configuration's dataDir)
  --database NAME     restore only this database (default: every replicated database)
  --timestamp ISO     restore the state as of this time (e.g. 2026-12-02T15:00:00Z) instead of the latest
  -h, --help          print this help and exit
`;

interface RestoreArgs {
  readonly config: string;
  readonly dataDir?: string;
  readonly database?: string;
  readonly timestamp?: Date;
  readonly help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): RestoreArgs {
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (!["--config", "--data-dir", "--database", "--timestamp"].includes(name)) {
      throw new UsageError(`unknown option ${JSON.stringify(arg)} (try hranad restore --help)`);
    }
    const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new UsageError(`option ${name} needs a value`);
    values.set(name, value);
  }
  const config = values.get("--config");
  if (help) return { config: config ?? "", help };
  if (config === undefined) throw new UsageError("--config FILE is required (try hranad restore --help)");
  const timestampText = values.get("--timestamp");
  let timestamp: Date | undefined;
  if (timestampText !== undefined) {
    timestamp = new Date(timestampText);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(timestampText) || Number.isNaN(timestamp.getTime())) {
      throw new UsageError(`--timestamp: must be an ISO 8601 time such as 2026-12-02T15:00:00Z, got ${JSON.stringify(timestampText)}`);
    }
  }
  const dataDir = values.get("--data-dir");
  const database = values.get("--database");
  return {
    config,
    help,
    ...(dataDir !== undefined ? { dataDir: resolve(dataDir) } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
}

/**
 * `hranad restore`: restores one or every replicated database into a data directory. Returns the exit code: 0 when
 * done, 1 when the restore failed, 2 on a usage or configuration error. Messages only, no stack traces.
 */
export async function restoreCommand(argv: readonly string[], io: RestoreCommandIo): Promise<number> {
  let args: RestoreArgs;
  let server: RestoreServerConfig;
  try {
    args = parseArgs(argv);
    if (args.help) {
      io.out(RESTORE_USAGE.trimEnd());
      return 0;
    }
    server = io.loadConfig(args.config);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || io.isConfigError?.(error) === true) {
      io.err(`hranad restore: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
  const replication = server.replication;
  if (replication === null) {
    io.err(`hranad restore: ${args.config} has no replication: section, so there is nothing to restore from`);
    return 2;
  }
  const served = server.databases.map((d) => d.name);
  const names = replicatedNames(replication, served);
  if (args.database !== undefined && !names.includes(args.database)) {
    io.err(`hranad restore: database "${args.database}" is not replicated by ${args.config} (replicated: ${names.join(", ")})`);
    return 2;
  }
  const dataDir = args.dataDir ?? server.dataDir;
  const databases = server.databases
    .filter((d) => (args.database === undefined ? names.includes(d.name) : d.name === args.database))
    .map((d) => ({ name: d.name, path: resolve(dataDir, d.path ?? `${d.name}.db`) }));
  const started = Date.now();
  let results: RestoreResult[];
  try {
    results = await restoreDatabases({
      config: replication,
      databases,
      ...(args.timestamp !== undefined ? { timestamp: args.timestamp } : {}),
      ...(io.env !== undefined ? { env: io.env } : {}),
    });
  } catch (error) {
    if (error instanceof ReplicationError) {
      io.err(`hranad restore: ${error.message}`);
      return 1;
    }
    throw error;
  }
  for (const result of results) {
    io.out(
      result.outcome === "restored"
        ? `restored "${result.name}" to ${result.path} (integrity_check ok)`
        : `no replica of "${result.name}" at ${replication.url}: nothing restored (it was never written while replicated)`,
    );
  }
  io.out(`restore finished in ${((Date.now() - started) / 1000).toFixed(1)} s; start hranad with --data-dir ${dataDir} to serve it`);
  return 0;
}
