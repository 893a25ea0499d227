import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { checkKeys, ConfigError, count, duration, isMapping, port, size } from "@hranad/settings";

export { ConfigError } from "@hranad/settings";
import { parseReplication, replicatedNames, type ReplicationConfig } from "@hranad/replication";

/** How a database is opened. */
export type DatabaseMode = "create" | "readwrite" | "readonly";

export interface DatabaseSettings {
  /** `[A-Za-z0-9_-]{1,64}`; addressed as `/<name>/v2/pipeline` and `ws://host/<name>`. */
  readonly name: string;
  /** File path relative to the data directory. Default `<name>.db`. */
  readonly path?: string;
  /** `better-sqlite3` (default) or `libsql`. */
  readonly driver?: string;
  /** Default `create`. */
  readonly mode?: DatabaseMode;
}

type LimitKind = "duration" | "count" | "size";
const MiB = 1024 * 1024;

/** Every limit: how it is written (durations in ms or "10s"; sizes in bytes or "10MiB"; counts ≥ 1, or 0 where 0 is the default) and its default. */
const LIMIT_SPECS = {
  /** An interactive stream with no request for this long is closed, rolling back. Default 10 s (as sqld). */
  idleTimeoutMs: { kind: "duration", default: 10_000 },
  /** A stream older than this is closed at its next idle moment. Default 1 h. */
  maxLifetimeMs: { kind: "duration", default: 3_600_000 },
  /** Concurrent streams (HTTP and WebSocket) per database. Default 128. */
  maxSessionsPerDatabase: { kind: "count", default: 128 },
  /** Streams one client (its address in open mode) may have open on one database. 0: a quarter of maxSessionsPerDatabase. */
  maxSessionsPerClient: { kind: "count", default: 0 },
  /** Per-statement deadline, enforced inside SQLite. Default 30 s. */
  statementTimeoutMs: { kind: "duration", default: 30_000 },
  /** Connections per database pool. Default 16. */
  maxConnections: { kind: "count", default: 16 },
  /** Largest accepted request body. Default 10 MiB. */
  maxBodyBytes: { kind: "size", default: 10 * MiB },
  /** Largest result of one statement, and largest cursor row: past it RESPONSE_TOO_LARGE. Default 10 MiB. */
  maxResultBytes: { kind: "size", default: 10 * MiB },
  /** Largest response (a pipeline's results, a WebSocket response, a cursor fetch). Default 32 MiB. */
  maxResponseBytes: { kind: "size", default: 32 * MiB },
  /** Results, replies and stored SQL held by the whole server; past it SERVER_OVERLOADED. Default 512 MiB. */
  maxBufferedBytes: { kind: "size", default: 512 * MiB },
  /** SQL text stored (`store_sql`) on one WebSocket; past it SQL_STORE_TOO_LARGE. Default 4 MiB. */
  maxSocketSqlBytes: { kind: "size", default: 4 * MiB },
  /** Unsent replies plus queued requests of one WebSocket; past it the socket is not read. Default 16 MiB. */
  maxSocketBufferedBytes: { kind: "size", default: 16 * MiB },
  /** A client that reads nothing of a response this long is cut off (STREAM_STALLED, close 1008). Default 30 s. */
  sendTimeoutMs: { kind: "duration", default: 30_000 },
  /** A WAL file past this is checkpointed with TRUNCATE once no reader pins it. Default 64 MiB. */
  walTruncateBytes: { kind: "size", default: 64 * MiB },
  /** Streams open at once on one WebSocket. Default 64. */
  maxStreamsPerSocket: { kind: "count", default: 64 },
  /** SQLite busy timeout: how long a writer queues behind another before SQLITE_BUSY. Default 5 s. */
  busyTimeoutMs: { kind: "duration", default: 5_000 },
  /** Deadline of a statement run on the main thread (one-shot requests; past it, a worker runs it). Default 2 ms; 0: off. */
  inlineBudgetMs: { kind: "duration", default: 2 },
  /** An idle stream whose transaction is open longer than this is rolled back. Default 0 (off). */
  transactionTimeoutMs: { kind: "duration", default: 0 },
} as const satisfies Record<string, { readonly kind: LimitKind; readonly default: number }>;

/** Limits, in milliseconds, bytes or counts (each documented in `LIMIT_SPECS` and the README). */
export type Limits = { readonly [K in keyof typeof LIMIT_SPECS]: number };

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databases: readonly DatabaseSettings[];
  readonly limits: Limits;
  /** Absolute http(s) URL sent as `base_url`, or null. */
  readonly baseUrl: string | null;
  /** Log level for the request log: `silent`, `error`, `warn`, `info`, `debug`. */
  readonly logLevel: "silent" | "error" | "warn" | "info" | "debug";
  /** Continuous replication with Litestream (`replication:`), or null. */
  readonly replication: ReplicationConfig | null;
}

export const DEFAULT_LIMITS: Limits = Object.freeze(
  Object.fromEntries(Object.entries(LIMIT_SPECS).map(([key, spec]) => [key, spec.default])) as Limits,
);

export const DEFAULT_CONFIG: ServerConfig = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  dataDir: "./data",
  databases: [{ name: "default", mode: "create" as const }],
  limits: DEFAULT_LIMITS,
  baseUrl: null,
  logLevel: "info",
  replication: null,
});


const DATABASE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** First path segments the server's own routes use: a database of that name could not be addressed by path. */
const RESERVED_NAMES = new Set(["v1", "v2", "v3", "v3-protobuf", "health", "version", "admin", "metrics"]);
const DRIVERS = new Set(["better-sqlite3", "libsql"]);
const MODES = new Set<DatabaseMode>(["create", "readwrite", "readonly"]);
const LOG_LEVELS = new Set(["silent", "error", "warn", "info", "debug"]);
const TOP_LEVEL_KEYS = new Set(["host", "port", "dataDir", "databases", "limits", "baseUrl", "logLevel", "replication"]);

function parseLimits(value: unknown): Limits {
  if (value === undefined) return DEFAULT_LIMITS;
  if (!isMapping(value)) throw new ConfigError("limits: must be a mapping");
  checkKeys("limits", value, Object.keys(DEFAULT_LIMITS));
  const limits: { -readonly [K in keyof Limits]: Limits[K] } = { ...DEFAULT_LIMITS };
  for (const [key, raw] of Object.entries(value)) {
    const where = `limits.${key}`;
    const { kind, default: fallback }: { kind: LimitKind; default: number } = LIMIT_SPECS[key as keyof Limits];
    limits[key as keyof Limits] = kind === "duration" ? duration(where, raw) : kind === "size" ? size(where, raw) : count(where, raw, fallback === 0 ? 0 : 1);
  }
  if (limits.idleTimeoutMs < 1000) throw new ConfigError("limits.idleTimeoutMs: must be at least 1s");
  if (limits.sendTimeoutMs < 1000) throw new ConfigError("limits.sendTimeoutMs: must be at least 1s");
  if (limits.maxResponseBytes < limits.maxResultBytes) {
    throw new ConfigError("limits.maxResponseBytes: must be at least limits.maxResultBytes (one statement's result must fit a response)");
  }
  if (limits.maxBufferedBytes < limits.maxResponseBytes) {
    throw new ConfigError("limits.maxBufferedBytes: must be at least limits.maxResponseBytes");
  }
  return limits;
}

function parseDatabases(value: unknown): DatabaseSettings[] {
  if (value === undefined) return [...DEFAULT_CONFIG.databases];
  // Accept a list of entries or a mapping name → settings.
  if (!Array.isArray(value) && !isMapping(value)) throw new ConfigError("databases: must be a list or a mapping of database names");
  const entries: unknown[] = Array.isArray(value)
    ? value
    : Object.entries(value).map(([name, settings]) => ({ ...(isMapping(settings) ? settings : {}), name }));
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const where = `databases[${i}]`;
    if (!isMapping(entry)) throw new ConfigError(`${where}: must be a mapping`);
    checkKeys(where, entry, ["name", "path", "driver", "mode"]);
    const { name, path, driver, mode } = entry;
    if (typeof name !== "string" || !DATABASE_NAME.test(name)) {
      throw new ConfigError(`${where}.name: must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(name)}`);
    }
    if (RESERVED_NAMES.has(name)) throw new ConfigError(`${where}.name: "${name}" is reserved for the server's own routes`);
    if (seen.has(name)) throw new ConfigError(`${where}.name: database "${name}" is declared twice`);
    seen.add(name);
    if (path !== undefined && (typeof path !== "string" || path.length === 0)) {
      throw new ConfigError(`${where}.path: must be a non-empty string`);
    }
    if (driver !== undefined && (typeof driver !== "string" || !DRIVERS.has(driver))) {
      throw new ConfigError(`${where}.driver: must be one of ${[...DRIVERS].join(", ")}, got ${JSON.stringify(driver)}`);
    }
    if (mode !== undefined && (typeof mode !== "string" || !MODES.has(mode as DatabaseMode))) {
      throw new ConfigError(`${where}.mode: must be one of ${[...MODES].join(", ")}, got ${JSON.stringify(mode)}`);
    }
    return {
      name,
      ...(path !== undefined ? { path: path as string } : {}),
      ...(driver !== undefined ? { driver: driver as string } : {}),
      ...(mode !== undefined ? { mode: mode as DatabaseMode } : {}),
    };
  });
}

/** Validates a parsed configuration document (YAML or JSON) and fills in defaults. */
export function parseConfig(document: unknown, baseDir = process.cwd()): ServerConfig {
  if (document === null || document === undefined) document = {};
  if (!isMapping(document)) throw new ConfigError("the configuration must be a mapping at the top level");
  checkKeys("config", document, TOP_LEVEL_KEYS);
  const host = document.host ?? DEFAULT_CONFIG.host;
  if (typeof host !== "string" || host.length === 0) throw new ConfigError("host: must be a non-empty string");
  const baseUrl = document.baseUrl ?? null;
  if (baseUrl !== null && (typeof baseUrl !== "string" || !/^https?:\/\/[^/]+(\/.*)?$/.test(baseUrl))) {
    throw new ConfigError("baseUrl: must be an absolute http(s) URL");
  }
  const logLevel = document.logLevel ?? DEFAULT_CONFIG.logLevel;
  if (typeof logLevel !== "string" || !LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`logLevel: must be one of ${[...LOG_LEVELS].join(", ")}`);
  }
  const dataDir = document.dataDir ?? DEFAULT_CONFIG.dataDir;
  if (typeof dataDir !== "string" || dataDir.length === 0) throw new ConfigError("dataDir: must be a non-empty string");
  const databases = parseDatabases(document.databases);
  // Its errors are ConfigErrors too (ReplicationConfigError), naming the key under `replication.`.
  const replication = parseReplication(document.replication);
  if (replication !== null) replicatedNames(replication, databases.map((d) => d.name));
  return {
    host,
    port: document.port === undefined ? DEFAULT_CONFIG.port : port("port", document.port),
    dataDir: resolve(baseDir, dataDir),
    databases,
    limits: parseLimits(document.limits),
    baseUrl: baseUrl as string | null,
    logLevel: logLevel as ServerConfig["logLevel"],
    replication,
  };
}

/** Reads and validates a YAML configuration file. */
export function loadConfigFile(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${file}: invalid YAML: ${(error as Error).message}`);
  }
  try {
    // Relative paths in a file are relative to the file.
    return parseConfig(document, resolve(file, ".."));
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
}

export interface CliOptions {
  readonly config: ServerConfig;
  readonly help: boolean;
  readonly version: boolean;
}

/**
 * Resolves the configuration from flags, environment variables and an optional YAML file. Precedence:
 * flags > environment > file > defaults.
 */
export function resolveCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "data-dir": { type: "string" },
        config: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }));
  } catch (error) {
    const message = (error as Error).message;
    const option = /'(-[^'\s]*)/.exec(message)?.[1] ?? "";
    if ((error as { code?: string }).code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new ConfigError(`option ${option} needs a value`);
    throw new ConfigError(`unknown option ${JSON.stringify(option || message)} (try --help)`);
  }
  for (const [key, value] of Object.entries(values)) {
    if (value === "") throw new ConfigError(`option --${key} needs a value`);
  }
  const configFile = values.config ?? env.HRANAD_CONFIG;
  const base = configFile !== undefined ? loadConfigFile(configFile) : parseConfig({});
  const portValue = values.port ?? env.PORT ?? env.HRANAD_PORT;
  const dataDir = values["data-dir"] ?? env.HRANAD_DATA_DIR;
  const logLevel = values["log-level"] ?? env.HRANAD_LOG_LEVEL;
  if (logLevel !== undefined && !LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`--log-level: must be one of ${[...LOG_LEVELS].join(", ")}`);
  }
  return {
    help: values.help === true,
    version: values.version === true,
    config: {
      ...base,
      host: values.host ?? env.HRANAD_HOST ?? base.host,
      port: portValue !== undefined ? port("--port", portValue) : base.port,
      dataDir: dataDir !== undefined ? resolve(dataDir) : base.dataDir,
      logLevel: (logLevel as ServerConfig["logLevel"] | undefined) ?? base.logLevel,
    },
  };
}

export const USAGE = `Usage: hranad [options]
       hranad restore --config FILE [--data-dir DIR] [--database NAME] [--timestamp ISO]
       hranad shell [URL] [options]   a SQL shell for this or any Hrana server (hranad shell --help)

Serves SQLite databases over libSQL's Hrana protocol (HTTP and WebSocket).
With no configuration it serves ./data/default.db as the database "default" on http://127.0.0.1:8080.

Options:
  --host HOST         address to listen on (env HRANAD_HOST; default 127.0.0.1)
  --port PORT         port to listen on, 0 = any free port (env PORT; default 8080)
  --data-dir DIR      directory of the database files (env HRANAD_DATA_DIR; default ./data)
  --config FILE       YAML configuration file (env HRANAD_CONFIG)
  --log-level LEVEL   silent, error, warn, info or debug (env HRANAD_LOG_LEVEL; default info)
  --version           print the version and exit
  -h, --help          print this help and exit
`;
